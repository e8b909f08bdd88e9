"""What the publisher has learnt that the database does not know yet, written in one transaction per loop turn.

PUBACKed rows, a moved watermark, a changed uplink row: batching them keeps
the publisher to one short write per turn, however many PUBACKs and
acknowledgements the turn read.
"""

from __future__ import annotations

import logging
from typing import Callable

from ..errors import DatabaseBusy, StoreError
from ..queue import outbox
from ..queue.store import Store

logger = logging.getLogger(__name__)

LINK_FIELDS = ("connected", "hub_state", "error")
"""The uplink fields that change the line `systemctl status` shows."""


class Progress:
    """Marks waiting to be written, and the uplink row as last written."""

    def __init__(self, acked_at: str | None = None):
        self.taken: list[int] = []
        """Rows the broker took (a PUBACK with a success code)."""
        self.watermark_moved = False
        """The confirmed point moved (the uplink row's watermark)."""
        self.verdicts: dict[int, str] = {}
        """Rows up to the new confirmed point that the hub did not merge as written."""
        self.acked_at = acked_at
        """Kiosk wall time of the last acknowledgement that moved the watermark."""
        self.written: dict | None = None

    def save(self, store: Store, row: dict, wall_time: Callable[[], str]) -> bool:
        """Write what is pending and ``row`` (when it changed), stamped ``wall_time()``; return True when the link's state changed.

        A database that refuses the write (busy, full) is logged and the marks stay pending for the next turn.
        """
        if not (self.taken or self.watermark_moved or row != self.written):
            return False
        at = wall_time()
        try:
            with store.write() as db:
                if self.taken:
                    outbox.mark_published(db, self.taken, at)
                if self.watermark_moved:
                    outbox.record_watermark(db, row["watermark"], at, self.verdicts)
                if row != self.written:
                    outbox.write_uplink(db, row, at)
        except DatabaseBusy:
            logger.debug("the database is busy: the publisher's marks wait for its next turn")
            return False
        except StoreError as exc:
            logger.error("cannot record the publisher's progress (will try again): %s", exc)
            return False
        changed = self.written is None or any(row[key] != self.written[key] for key in LINK_FIELDS)
        self.taken, self.watermark_moved, self.verdicts, self.written = [], False, {}, row
        return changed


def summary(row: dict) -> str:
    """The uplink row in one line, for `systemctl status`."""
    link = "connected" if row["connected"] else "not connected"
    return f"{link} to {row['broker'] or '(no broker)'}; hub {row['hub_state'] or 'unknown'}; watermark {row['watermark']}"

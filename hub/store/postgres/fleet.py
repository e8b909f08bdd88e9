"""The kiosks' last_seen on PostgreSQL: one statement for the batch (hub/store/fleet.py's note_seen, a statement a
kiosk). Their statuses go through hub/store/fleet.py keep_statuses itself (dialect.py).

The commit has locked every kiosk row these update (commit.py lock_kiosks).
"""

from __future__ import annotations

import psycopg

from .. import Batch
from ..fleet import last_heard


def note_seen(conn: psycopg.Connection, batch: Batch, received_at: str) -> None:
    """Set each kiosk's last_seen to the latest hub time any of its messages arrived (hub/store/fleet.py)."""
    latest = last_heard(batch, received_at)
    if latest:
        conn.execute("UPDATE kiosks k SET last_seen = greatest(coalesce(k.last_seen, ''), n.at) "
                     "FROM unnest(%s::text[], %s::text[]) AS n(kiosk, at) WHERE k.kiosk = n.kiosk",
                     [list(column) for column in zip(*sorted(latest.items()))])

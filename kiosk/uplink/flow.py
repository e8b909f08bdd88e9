"""Which outbox rows to send next, and when to send them again: the publisher's delivery rules as plain state, no I/O.

- Rows go out in sequence order from a cursor, at most ``window`` awaiting
  their PUBACK and at most ``ahead`` beyond the hub's watermark.
- A row the broker did not take (reason code 16 or >= 0x80) moves the cursor
  back to it and holds every send for a growing delay.
- After a refusal, or a connection lost with rows in flight, one row at a time
  is sent until the broker takes one: Mosquitto closes the connection after
  an ACL refusal, and rows sent behind the refused one would make the socket
  reset before its reason code is read.
- After a (re)connect the cursor starts again at watermark + 1.
- Gaps the hub reports are sent again at once, each at most once per
  GAP_GRACE_SECONDS.
- While the hub says it is online and its watermark has not moved for
  ``resend_seconds`` although rows beyond it were sent, the cursor goes back
  to watermark + 1. Each such rewind that brings no acknowledgement doubles
  the wait before the next, up to RESEND_MAX_SECONDS: a hub status that stays
  "online" while nothing can reach the acknowledging hub (a district bridged
  to a province that is down, docs/province.md) would otherwise have every
  kiosk queue its whole backlog again at the broker every ``resend_seconds``.
  A watermark that moves, a hub coming online or a new connection starts again
  from ``resend_seconds``.
"""

from __future__ import annotations

import logging

logger = logging.getLogger(__name__)

REJECT_MIN_SECONDS = 0.5
REJECT_MAX_SECONDS = 15.0
RESEND_MAX_SECONDS = 900.0
"""The longest wait between two rewinds to an online hub that acknowledges nothing (see the module's docstring)."""
GAP_GRACE_SECONDS = 2.0
"""A gap sequence number is re-sent again only after this long: acks keep listing a gap until the re-sent row lands."""


class Flow:
    """The sending state of one kiosk's outbox; ``now`` is always a monotonic time in seconds."""

    def __init__(self, window: int, ahead: int, resend_seconds: float, now: float, watermark: int = 0):
        self.window = window
        self.ahead = ahead
        self.resend_seconds = resend_seconds
        self.watermark = watermark
        self.cursor = watermark + 1
        """The next sequence number to send in order."""
        self.inflight: dict[int, int] = {}
        """paho message id -> sequence number, for the publishes awaiting their PUBACK."""
        self.resends: set[int] = set()
        self.gap_sent: dict[int, float] = {}
        self.hold_until = 0.0
        self.reject_delay = REJECT_MIN_SECONDS
        self.probing = False
        """One row at a time until the broker takes one."""
        self.quiet_since = now
        self.hub_online = False
        self.silent_rewinds = 0
        """Rewinds since the watermark last moved (or the hub came online): each doubles the wait for the next."""

    @property
    def outstanding(self) -> bool:
        """True when rows beyond the watermark have been sent."""
        return self.cursor > self.watermark + 1

    def restart(self, now: float) -> None:
        """A new connection: forget what was in flight and start again from the watermark."""
        self.probing = self.probing or bool(self.inflight)
        self.cursor = self.watermark + 1
        self.inflight.clear()
        self.resends.clear()
        self.hold_until = 0.0
        self.quiet_since = now
        self.silent_rewinds = 0

    def room(self, now: float) -> int:
        """How many rows may be sent now (0 while holding after a refusal)."""
        if now < self.hold_until:
            return 0
        return max(0, (1 if self.probing else self.window) - len(self.inflight))

    def take_resends(self, count: int) -> list[int]:
        """Up to ``count`` gap sequence numbers to send again, lowest first."""
        chosen = sorted(self.resends)[:count]
        self.resends.difference_update(chosen)
        return chosen

    def in_order(self, count: int) -> tuple[int, int]:
        """(first seq, how many) the next in-order send may take, bounded by ``count`` and by ``ahead``."""
        return self.cursor, max(0, min(count, self.watermark + self.ahead + 1 - self.cursor))

    def sent(self, mid: int, seq: int, now: float) -> None:
        if not self.outstanding:
            self.quiet_since = now  # the silence clock starts with the first row the hub has not got
        self.inflight[mid] = seq
        self.cursor = max(self.cursor, seq + 1)

    def answered(self, mid: int) -> int | None:
        """The sequence number a PUBACK answers, or None for a message that was not an event (a status)."""
        return self.inflight.pop(mid, None)

    def taken(self) -> None:
        """The broker took a row: the full window again, and the next refusal starts with the shortest hold."""
        self.reject_delay = REJECT_MIN_SECONDS
        self.probing = False

    def refused(self, seq: int, now: float) -> float | None:
        """The broker did not take ``seq``: send it again, in order, after a hold; return the hold when a new one starts."""
        self.cursor = min(self.cursor, max(seq, self.watermark + 1))
        self.probing = True
        if now < self.hold_until:
            return None
        delay = self.reject_delay
        self.hold_until = now + delay
        self.reject_delay = min(delay * 2, REJECT_MAX_SECONDS)
        return delay

    def acknowledged(self, watermark: int, gaps: tuple[tuple[int, int], ...], now: float) -> bool:
        """Take the hub's acknowledgement; return True when its watermark moved."""
        moved = watermark != self.watermark
        if watermark > self.watermark:
            self.quiet_since = now
            self.silent_rewinds = 0
        elif watermark < self.watermark:
            logger.warning("the hub's watermark went back from %d to %d: sending again from %d", self.watermark, watermark, watermark + 1)
            self.cursor = watermark + 1
        self.watermark = watermark
        self.cursor = max(self.cursor, watermark + 1)
        self.resends = {seq for seq in self.resends if seq > watermark}
        self.gap_sent = {seq: at for seq, at in self.gap_sent.items() if seq > watermark}
        self.queue_gaps(gaps, now)
        return moved

    def queue_gaps(self, gaps: tuple[tuple[int, int], ...], now: float) -> None:
        """Queue the gap rows already sent once (below the cursor) that were not re-sent within the grace."""
        budget = self.ahead
        for first, last in gaps:
            for seq in range(max(first, self.watermark + 1), min(last, self.cursor - 1) + 1):
                if now - self.gap_sent.get(seq, float("-inf")) >= GAP_GRACE_SECONDS:
                    self.resends.add(seq)
                    self.gap_sent[seq] = now
                budget -= 1
                if budget <= 0:
                    return

    def hub_state(self, state: str | None, now: float) -> None:
        """The hub's retained status; the silence clock starts when it comes online."""
        online = state == "online"
        if online and not self.hub_online:
            self.quiet_since = now
            self.silent_rewinds = 0
        self.hub_online = online

    @property
    def silence_allowed(self) -> float:
        """Seconds of silence from the online hub before the next rewind: resend_seconds, doubled per silent rewind."""
        return min(self.resend_seconds * 2 ** self.silent_rewinds, max(self.resend_seconds, RESEND_MAX_SECONDS))

    def rewind_if_silent(self, now: float) -> bool:
        """Go back to watermark + 1 when the online hub has acknowledged nothing for ``silence_allowed``; True when it
        did."""
        if not (self.hub_online and self.outstanding) or now - self.quiet_since < self.silence_allowed:
            return False
        logger.info(
            "the hub is online but acknowledged nothing past %d for %.0f s: sending again from %d",
            self.watermark, now - self.quiet_since, self.watermark + 1,
        )
        self.cursor = self.watermark + 1
        self.quiet_since = now
        self.silent_rewinds = min(self.silent_rewinds + 1, 32)
        return True

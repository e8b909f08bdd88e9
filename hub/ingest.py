"""Turning received MQTT messages into store batches: classify, commit, and say what to acknowledge.

Nothing here speaks MQTT: the merge worker (hub/worker.py) hands every message of
a batch `hub run` received to `Ingest.receive`, then calls `Ingest.flush`; only
after the store's commit returned does `hub run` get the acknowledgements to
publish and acknowledge the batch's MQTT messages. When a batch is complete is
the MQTT side's to decide (hub/subscriber.py gathers for `--batch-ms` or `--batch-max`).

Two kinds of failure, handled apart. The database failing (disk full, locked:
StoreError, OSError) keeps the whole batch, unacknowledged, for a retry with
backoff. Anything else that goes wrong with one message (classifying it, or a
commit that fails because of it) must not hold back the messages around it: a
failing commit is split in halves until the message is alone, it goes to the
quarantine as ``unmergeable``, and the rest is committed.
"""

from __future__ import annotations

import logging
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable

import wire

from .errors import StoreError
from .keys import Keys
from .store import Batch, Committed, KioskStatus, Quarantined, Store

logger = logging.getLogger(__name__)

ENROLLED_REFRESH_SECONDS = 2.0
"""A message from an unknown kiosk re-reads the enrolled kiosks at most this often (`hub enroll` on a running hub)."""

RETRY_FIRST_SECONDS = 0.25
RETRY_MAX_SECONDS = 15.0


def utc_now() -> str:
    """The hub's wall-clock time as the store records it: ISO 8601 UTC with milliseconds."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class Delivery:
    """One received MQTT message to acknowledge to the broker once its batch is committed."""

    generation: int
    """Which connection it came on: a packet id means nothing on a later connection."""
    mid: int
    qos: int


@dataclass
class Flushed:
    """What a successful flush leaves to the MQTT side: acknowledgements to publish, messages to acknowledge."""

    acks: list[wire.Ack]
    deliveries: list[Delivery]
    merged: int
    duplicates: int
    quarantined: int


@dataclass
class Pending:
    batch: Batch = field(default_factory=Batch)
    """What is still to commit (after a failure half-way through a split batch: what is left of it)."""
    received: int = 0
    """Messages in the batch, an ignored one (a cleared status) included: the MQTT side acknowledges it with the rest."""
    refused: Counter = field(default_factory=Counter)
    """(reason, kiosk) -> count, logged once per flush instead of once per message."""
    acks: dict[str, wire.Ack] = field(default_factory=dict)
    """What the parts of a split batch committed so far: the latest ack per kiosk, and the counts."""
    counts: Counter = field(default_factory=Counter)

    def add(self, committed: Committed) -> None:
        self.acks.update(committed.acks)
        self.counts.update(merged=committed.merged, duplicates=committed.duplicates, quarantined=committed.quarantined)


ENVIRONMENTAL = (StoreError, OSError, MemoryError)
"""Commit failures that are the database's or the machine's (full disk, locked, read-only): the same batch can commit
later, so it is kept whole and retried. Any other exception out of a commit is taken as caused by a message of the
batch: the batch is split until the message is alone, which is quarantined as ``unmergeable``."""

QUARANTINED_TOPIC_MAX = 256


class Ingest:
    """Classifies the messages of one batch and commits it; keeps a batch whose commit failed for a retry.

    No message can stop it: one that cannot be classified or merged is quarantined (``unmergeable``) and the rest of
    its batch is merged without it. Only a failure of the database itself keeps a batch back.
    """

    def __init__(self, store: Store, *, clock: Callable[[], float] = time.monotonic, wall: Callable[[], str] = utc_now,
                 refresh_seconds: float = ENROLLED_REFRESH_SECONDS):
        self.store = store
        self.clock = clock
        self.wall = wall
        self.refresh_seconds = refresh_seconds
        self.pending = Pending()
        self.enrolled: dict[str, str] = {}
        self.districts: dict[str, str] = {}
        """kiosk -> the district it was imported for (a province's kiosks; hub/store/kiosks.py)."""
        self.refreshed_at: float | None = None
        self.retry_at: float | None = None
        self.retry_delay = RETRY_FIRST_SECONDS
        self.keys = Keys(store, clock)
        self.last_error: str | None = None
        """Why the last commit failed (type and message of a store error: never a message body); None after a success."""
        self.refresh_enrolled()

    # -- receiving --------------------------------------------------------------------------------------------------

    def receive_all(self, messages: list[tuple[str, bytes]]) -> None:
        """Classify a batch of messages (`receive` each), their signatures checked first on several threads."""
        self.keys.verify_ahead(messages)
        try:
            for topic, body in messages:
                self.receive(topic, body)
        finally:
            self.keys.prepared.clear()

    def receive(self, topic: str, body: bytes) -> None:
        """Classify one message into the pending batch: an event, a kiosk status, a quarantined message, or nothing.

        Never raises: a message that makes classifying fail is quarantined as ``unmergeable``.
        """
        self.pending.received += 1
        try:
            self.classify(topic, body)
        except Exception as exc:  # noqa: BLE001 -- one message must never stop the hub
            logger.error("classifying a message on %s raised %s at %s; quarantined as unmergeable",
                         printable(topic, 80), type(exc).__name__, where(exc))
            self.quarantine(topic, None, "unmergeable", f"classifying it raised {type(exc).__name__} at {where(exc)}",
                            body if isinstance(body, bytes) else b"")

    def classify(self, topic: str, body: bytes) -> None:
        where_to = wire.parse_district_topic(topic)
        if where_to is None or where_to[2] == wire.ACK:
            self.quarantine(topic, None, "bad_topic", "not a kiosk event or status topic", body)
            return
        district, kiosk, kind = where_to
        if not self.is_enrolled(kiosk):
            self.quarantine(topic, kiosk, "not_enrolled", f"kiosk {kiosk!r} is not enrolled", body)
        elif district is not None and not self.is_in(kiosk, district):
            self.quarantine(topic, kiosk, "wrong_district", f"kiosk {kiosk!r} is not imported for district {district!r} "
                            f"here (its district: {self.districts.get(kiosk)!r})", body)
        elif kind == wire.EVENT:
            self.add_event(topic, kiosk, body)
        else:
            self.add_status(topic, kiosk, body)

    def add_event(self, topic: str, kiosk: str, body: bytes) -> None:
        """Verify the event's signature, then its content: a forgery settles nothing, the kiosk's own mistake settles
        its sequence number as refused."""
        try:
            message, text = wire.read(body)
        except wire.Rejected as exc:
            self.quarantine(topic, kiosk, exc.reason, exc.detail, body)
            return
        signed, digest = self.keys.prepare(body)
        if signed is None:
            self.quarantine(topic, kiosk, "unsigned", "no signature member at the end of the event", body)
            return
        refused = self.keys.check(kiosk, signed, digest)
        if refused is not None:
            self.quarantine(topic, kiosk, *refused, body)
            return
        try:
            self.pending.batch.events.append(wire.check_event(kiosk, message, text, digest))
        except wire.Rejected as exc:
            self.quarantine(topic, kiosk, exc.reason, exc.detail, body, seq=wire.claimed_seq(message), digest=digest)

    def add_status(self, topic: str, kiosk: str, body: bytes) -> None:
        if not body:
            return  # a retained status being cleared: nothing to record, the message is still acknowledged
        try:
            message = wire.parse_kiosk_status(kiosk, body)
        except wire.Rejected as exc:
            self.quarantine(topic, kiosk, exc.reason, exc.detail, body)
            return
        self.pending.batch.statuses.append(KioskStatus(kiosk, message, self.wall(), body))

    def quarantine(self, topic: str, kiosk: str | None, reason: str, detail: str, body: bytes, *,
                   seq: int | None = None, digest: bytes | None = None) -> None:
        self.pending.batch.quarantined.append(quarantined(topic, kiosk, reason, detail, body, self.wall(), seq, digest))
        self.pending.refused[(reason, kiosk or "-")] += 1

    def is_enrolled(self, kiosk: str) -> bool:
        """True for an enrolled kiosk; an unknown one re-reads the list, at most every refresh_seconds."""
        if kiosk in self.enrolled:
            return True
        if self.refreshed_at is None or self.clock() - self.refreshed_at >= self.refresh_seconds:
            self.refresh_enrolled()
        return kiosk in self.enrolled

    def is_in(self, kiosk: str, district: str) -> bool:
        """True when the kiosk was imported for this district (`hub kiosks import`); another answer re-reads the
        districts, at most every refresh_seconds (an import on a running hub)."""
        if self.districts.get(kiosk) == district:
            return True
        if self.clock() - self.refreshed_at >= self.refresh_seconds:
            self.refresh_enrolled()
        return self.districts.get(kiosk) == district

    def refresh_enrolled(self) -> None:
        self.refreshed_at = self.clock()
        try:
            self.enrolled = dict(self.store.enrolled())
            self.districts = dict(self.store.districts())
        except (StoreError, OSError) as exc:
            logger.error("cannot read the enrolled kiosks (%s); keeping the %d known", exc, len(self.enrolled))

    # -- committing -------------------------------------------------------------------------------------------------

    def seconds_until_retry(self) -> float:
        """Seconds until a failed commit should be tried again (0 when none failed)."""
        return 0.0 if self.retry_at is None else max(0.0, self.retry_at - self.clock())

    def flush(self) -> Flushed | None:
        """Commit the pending batch; return its acks and counts, or None when the database failed (kept for a retry).

        A commit that a message of the batch makes fail is split until that message is alone; it is quarantined as
        ``unmergeable`` and the rest committed. The returned ``deliveries`` are empty: the MQTT side holds them.
        """
        pending = self.pending
        try:
            self.commit_split(pending)
        except ENVIRONMENTAL as exc:
            self.schedule_retry(exc)
            return None
        self.pending, self.retry_at, self.retry_delay, self.last_error = Pending(), None, RETRY_FIRST_SECONDS, None
        self.log_refused(pending.refused)
        counts = pending.counts
        if counts:
            logger.debug("committed %d messages: %d merged, %d duplicates, %d quarantined", pending.received,
                         counts["merged"], counts["duplicates"], counts["quarantined"])
        return Flushed(list(pending.acks.values()), [], counts["merged"], counts["duplicates"], counts["quarantined"])

    def commit_split(self, pending: Pending) -> None:
        """Commit pending.batch, in parts when a message makes a commit fail; raise an ENVIRONMENTAL error (what is
        left uncommitted stays in pending.batch) when the database fails."""
        parts = [pending.batch]
        while parts:
            part = parts.pop(0)
            if not len(part):
                continue
            try:
                pending.add(self.store.commit(part, self.wall()))
            except ENVIRONMENTAL:
                pending.batch = joined([part, *parts])
                raise
            except Exception as exc:  # noqa: BLE001 -- caused by a message of this part: find it by halving
                try:
                    parts[0:0] = halves(part) if len(part) > 1 else [self.unmergeable(part, exc)]
                except ENVIRONMENTAL:
                    pending.batch = joined([part, *parts])
                    raise
        pending.batch = Batch()

    def unmergeable(self, part: Batch, exc: Exception) -> Batch:
        """The one message of part, quarantined as unmergeable; raise StoreError when it is a quarantine row already."""
        if part.quarantined:
            raise StoreError(f"the quarantine refuses a message ({type(exc).__name__} at {where(exc)})") from exc
        # A hub bug, not the kiosk's: the event is not settled, so it comes again and merges once the hub is fixed.
        if part.events:
            event = part.events[0]
            what, kiosk, topic, body = f"event {event.id}", event.kiosk, wire.topic(event.kiosk, wire.EVENT), event.body.encode()
        else:
            status = part.statuses[0]
            what, kiosk, topic, body = f"the status of kiosk {status.kiosk}", status.kiosk, wire.topic(status.kiosk, wire.STATUS), status.body
        logger.error("merging %s raised %s at %s; quarantined as unmergeable, the rest of its batch is merged without it",
                     what, type(exc).__name__, where(exc))
        self.pending.refused[("unmergeable", kiosk)] += 1
        detail = f"merging it raised {type(exc).__name__} at {where(exc)}"
        return Batch(quarantined=[quarantined(topic, kiosk, "unmergeable", detail, body, self.wall())])

    def schedule_retry(self, exc: BaseException) -> None:
        """Log why the commit failed (type and message only: a store error never carries an event body)."""
        delay = self.retry_delay
        self.retry_at = self.clock() + delay
        self.retry_delay = min(RETRY_MAX_SECONDS, delay * 2)
        self.last_error = f"{type(exc).__name__}: {exc}"[:300]
        logger.error(
            "commit of %d messages failed (%s: %s); nothing acknowledged, retrying in %.2g s",
            self.pending.received, type(exc).__name__, exc, delay,
            exc_info=not isinstance(exc, (StoreError, OSError)),
        )

    @staticmethod
    def log_refused(refused: Counter) -> None:
        for (reason, kiosk), count in sorted(refused.items()):
            logger.warning("quarantined %d message%s from kiosk %s: %s", count, "" if count == 1 else "s", kiosk, reason)


def quarantined(topic: str, kiosk: str | None, reason: str, detail: str, body: bytes, received_at: str,
                seq: int | None = None, digest: bytes | None = None) -> Quarantined:
    """A quarantine row that the database can always store: topic and detail as printable UTF-8, the body cut.
    ``seq`` and ``digest`` of an event that verified as its kiosk's own settle it as refused (hub.store.Quarantined)."""
    return Quarantined(topic=printable(topic, QUARANTINED_TOPIC_MAX), kiosk=kiosk, reason=reason,
                       detail=printable(detail, 300), body=bytes(body[: wire.MAX_MESSAGE_BYTES]), received_at=received_at,
                       seq=seq, digest=digest)


def printable(text: object, width: int) -> str:
    """text cut to width, with anything that is not valid Unicode (a lone surrogate) escaped."""
    if not isinstance(text, str):
        text = repr(text)
    return text[:width].encode("utf-8", "backslashreplace").decode("utf-8")


def where(exc: BaseException) -> str:
    """``file:line (function)`` of the innermost frame of exc's traceback: where it arose, never what it says."""
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return "?"
    frame = frames[-1]
    return f"{'/'.join(frame.filename.split('/')[-2:])}:{frame.lineno} ({frame.name})"


def items(batch: Batch) -> list[tuple[str, object]]:
    return [*(("events", e) for e in batch.events), *(("quarantined", q) for q in batch.quarantined),
            *(("statuses", s) for s in batch.statuses)]


def rebuilt(pairs: list[tuple[str, object]]) -> Batch:
    batch = Batch()
    for kind, item in pairs:
        getattr(batch, kind).append(item)
    return batch


def halves(batch: Batch) -> list[Batch]:
    """batch in two parts, in order (events, then quarantined messages, then statuses)."""
    pairs = items(batch)
    middle = len(pairs) // 2
    return [rebuilt(pairs[:middle]), rebuilt(pairs[middle:])]


def joined(batches: list[Batch]) -> Batch:
    return rebuilt([pair for batch in batches for pair in items(batch)])

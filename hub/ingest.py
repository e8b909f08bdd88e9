"""Turning received MQTT messages into store batches: classify, commit, and say what to acknowledge.

Nothing here speaks MQTT: the merge worker (hub/merger.py) hands every message of
a batch `hub run` received to `Ingest.receive`, then calls `Ingest.flush`; only
after the store's commit returned does `hub run` get the acknowledgements to
publish and acknowledge the batch's MQTT messages. A commit that fails keeps the
whole batch for a retry with backoff. When a batch is complete is the MQTT
side's to decide (hub/service.py gathers for `--batch-ms` or `--batch-max`).
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable

import wire
from wire import signature

from .store import Batch, KioskKey, KioskStatus, Quarantined, Store, StoreError

logger = logging.getLogger(__name__)

ENROLLED_REFRESH_SECONDS = 2.0
"""A message from an unknown kiosk re-reads the enrolled kiosks at most this often (`hub enroll` on a running hub)."""

KEYS_REFRESH_SECONDS = 2.0
"""How often the kiosks' keys are read again: a key revoked at `hub revoke` is refused within this, without a restart."""
VERIFIED_CACHE = 65536
"""Signatures verified lately (a re-sent event is byte-identical, so its signature need not be checked twice)."""

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
    received: int = 0
    """Messages in the batch, an ignored one (a cleared status) included: the MQTT side acknowledges it with the rest."""
    refused: Counter = field(default_factory=Counter)
    """(reason, kiosk) -> count, logged once per flush instead of once per message."""


class Ingest:
    """Classifies the messages of one batch and commits it; keeps a batch whose commit failed for a retry."""

    def __init__(self, store: Store, *, clock: Callable[[], float] = time.monotonic, wall: Callable[[], str] = utc_now,
                 refresh_seconds: float = ENROLLED_REFRESH_SECONDS):
        self.store = store
        self.clock = clock
        self.wall = wall
        self.refresh_seconds = refresh_seconds
        self.pending = Pending()
        self.enrolled: dict[str, str] = {}
        self.refreshed_at: float | None = None
        self.retry_at: float | None = None
        self.retry_delay = RETRY_FIRST_SECONDS
        self.keys = Keys(store, clock)
        self.refresh_enrolled()

    # -- receiving --------------------------------------------------------------------------------------------------

    def receive(self, topic: str, body: bytes) -> None:
        """Classify one message into the pending batch: an event, a kiosk status, a quarantined message, or nothing."""
        self.pending.received += 1
        where = wire.parse_topic(topic)
        if where is None or where[1] == wire.ACK:
            self.quarantine(topic, None, "bad_topic", "not a kiosk event or status topic", body)
        elif not self.is_enrolled(where[0]):
            self.quarantine(topic, where[0], "not_enrolled", f"kiosk {where[0]!r} is not enrolled", body)
        elif where[1] == wire.EVENT:
            self.add_event(topic, where[0], body)
        else:
            self.add_status(topic, where[0], body)

    def add_event(self, topic: str, kiosk: str, body: bytes) -> None:
        """Verify the event's signature, then its content: a forgery settles nothing, the kiosk's own mistake settles
        its sequence number as refused."""
        try:
            message = wire.decode(body)
        except wire.Rejected as exc:
            self.quarantine(topic, kiosk, exc.reason, exc.detail, body)
            return
        signed = signature.split(body)
        if signed is None:
            self.quarantine(topic, kiosk, "unsigned", "no signature member at the end of the event", body)
            return
        digest = signature.digest(signed.text)
        refused = self.keys.check(kiosk, signed, digest)
        if refused is not None:
            self.quarantine(topic, kiosk, *refused, body)
            return
        try:
            self.pending.batch.events.append(wire.check_event(kiosk, message, body, digest))
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
        self.pending.batch.statuses.append(KioskStatus(kiosk, message, self.wall()))

    def quarantine(self, topic: str, kiosk: str | None, reason: str, detail: str, body: bytes, *,
                   seq: int | None = None, digest: bytes | None = None) -> None:
        self.pending.batch.quarantined.append(
            Quarantined(topic=topic, kiosk=kiosk, reason=reason, detail=detail, body=body[: wire.MAX_MESSAGE_BYTES],
                        received_at=self.wall(), seq=seq, digest=digest)
        )
        self.pending.refused[(reason, kiosk or "-")] += 1

    def is_enrolled(self, kiosk: str) -> bool:
        """True for an enrolled kiosk; an unknown one re-reads the list, at most every refresh_seconds."""
        if kiosk in self.enrolled:
            return True
        if self.refreshed_at is None or self.clock() - self.refreshed_at >= self.refresh_seconds:
            self.refresh_enrolled()
        return kiosk in self.enrolled

    def refresh_enrolled(self) -> None:
        self.refreshed_at = self.clock()
        try:
            self.enrolled = dict(self.store.enrolled())
        except (StoreError, OSError) as exc:
            logger.error("cannot read the enrolled kiosks (%s); keeping the %d known", exc, len(self.enrolled))

    # -- committing -------------------------------------------------------------------------------------------------

    def seconds_until_retry(self) -> float:
        """Seconds until a failed commit should be tried again (0 when none failed)."""
        return 0.0 if self.retry_at is None else max(0.0, self.retry_at - self.clock())

    def flush(self) -> Flushed | None:
        """Commit the pending batch; return its acks and counts, or None when the commit failed (kept for a retry).

        The returned ``deliveries`` are empty: the MQTT side holds the batch's deliveries.
        """
        pending = self.pending
        try:
            committed = self.store.commit(pending.batch, self.wall()) if len(pending.batch) else None
        except Exception as exc:  # noqa: BLE001 -- any failure keeps the batch unacknowledged; the broker still holds it
            self.schedule_retry(exc)
            return None
        self.pending, self.retry_at, self.retry_delay = Pending(), None, RETRY_FIRST_SECONDS
        self.log_refused(pending.refused)
        if committed is None:
            return Flushed([], [], 0, 0, 0)
        logger.debug("committed %d messages: %d merged, %d duplicates, %d quarantined, %d statuses",
                     pending.received, committed.merged, committed.duplicates, committed.quarantined,
                     len(pending.batch.statuses))
        return Flushed(list(committed.acks.values()), [], committed.merged, committed.duplicates, committed.quarantined)

    def schedule_retry(self, exc: Exception) -> None:
        """Log why the commit failed (type and message only: a store error never carries an event body)."""
        delay = self.retry_delay
        self.retry_at = self.clock() + delay
        self.retry_delay = min(RETRY_MAX_SECONDS, delay * 2)
        logger.error(
            "commit of %d messages failed (%s: %s); nothing acknowledged, retrying in %.2g s",
            self.pending.received, type(exc).__name__, exc, delay,
            exc_info=not isinstance(exc, (StoreError, OSError)),
        )

    @staticmethod
    def log_refused(refused: Counter) -> None:
        for (reason, kiosk), count in sorted(refused.items()):
            logger.warning("quarantined %d message%s from kiosk %s: %s", count, "" if count == 1 else "s", kiosk, reason)


class Keys:
    """The kiosks' public keys as the merge worker checks signatures against them: re-read every
    KEYS_REFRESH_SECONDS (and at once, at most that often, for a key not seen yet)."""

    def __init__(self, store: Store, clock: Callable[[], float]):
        self.store = store
        self.clock = clock
        self.known: dict[str, KioskKey] = {}
        self.public: dict[str, signature.ec.EllipticCurvePublicKey] = {}
        self.verified: dict[tuple[str, bytes], None] = {}
        """(key id, signed text's digest + signature) -> None, oldest first: signatures verified already."""
        self.read_at: float | None = None
        self.refresh()

    def check(self, kiosk: str, signed: signature.Signed, digest: bytes) -> tuple[str, str] | None:
        """None when ``signed`` (whose text has this digest) is the kiosk's valid signature; else (reason, detail)."""
        if self.clock() - self.read_at >= KEYS_REFRESH_SECONDS:
            self.refresh()
        key = self.known.get(signed.key_id)
        if key is None or key.kiosk != kiosk:
            return "unknown_key", f"key {signed.key_id} is not a key of kiosk {kiosk!r} here"
        if key.revoked_at is not None:
            return "revoked_key", f"key {signed.key_id} of kiosk {kiosk!r} was revoked at {key.revoked_at}"
        seen = (signed.key_id, digest + signed.signature)
        if seen in self.verified:
            return None
        if not signature.verify(self.public_key(key), signed):
            return "bad_signature", f"the signature by key {signed.key_id} does not verify"
        self.verified[seen] = None
        if len(self.verified) > VERIFIED_CACHE:
            del self.verified[next(iter(self.verified))]
        return None

    def public_key(self, key: KioskKey):
        loaded = self.public.get(key.key_id)
        if loaded is None:
            loaded = self.public[key.key_id] = signature.load_public_der(key.public_key)
        return loaded

    def refresh(self) -> None:
        self.read_at = self.clock()
        try:
            self.known = self.store.keys()
        except (StoreError, OSError) as exc:
            logger.error("cannot read the kiosks' keys (%s); keeping the %d known", exc, len(self.known))

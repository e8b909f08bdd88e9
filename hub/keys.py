"""The kiosks' public keys as the merge worker checks event signatures against them (wire/signature.py).

hub/ingest.py asks ``Keys.check`` for each event's verdict; ``verify_ahead``
checks a batch's signatures on several threads first, so that most verdicts
are found already made.
"""

from __future__ import annotations

import logging
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

import wire
from wire import signature

from .errors import StoreError
from .store import KioskKey, Store

logger = logging.getLogger(__name__)

KEYS_REFRESH_SECONDS = 2.0
"""How often the kiosks' keys are read again: a key revoked at `hub revoke` is refused within this, without a restart."""
VERIFIED_CACHE = 65536
"""Signatures verified lately (a re-sent event is byte-identical, so its signature need not be checked twice)."""
VERIFY_THREADS = max(2, os.cpu_count() or 1)
"""Threads that check a batch's signatures at once: OpenSSL's ECDSA verify runs without the GIL (P-256: ~9k/s on one
core of the benchmark machine, ~15k/s on two)."""
VERIFY_AHEAD_MIN = 16
"""A batch with fewer signatures to check is checked on the merge worker's thread, as it classifies."""


class Keys:
    """The kiosks' public keys as the merge worker checks signatures against them: re-read every
    KEYS_REFRESH_SECONDS, so a key enrolled or revoked meanwhile counts within that (an event refused as
    ``unknown_key`` settles nothing: its kiosk sends it again)."""

    def __init__(self, store: Store, clock: Callable[[], float]):
        self.store = store
        self.clock = clock
        self.known: dict[str, KioskKey] = {}
        self.public: dict[str, signature.ec.EllipticCurvePublicKey] = {}
        self.verified: dict[tuple[str, bytes], None] = {}
        """(key id, signed text's digest + signature) -> None, oldest first: signatures verified already."""
        self.read_at: float | None = None
        self.threads: ThreadPoolExecutor | None = None
        self.prepared: dict[bytes, tuple[signature.Signed | None, bytes | None]] = {}
        """body -> `prepare`'s answer, for the batch being received."""
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
        self.remember(seen)
        return None

    def prepare(self, body: bytes) -> tuple[signature.Signed | None, bytes | None]:
        """The message's signature taken apart and the digest of the text it signs (None, None: no signature)."""
        found = self.prepared.get(body)
        if found is None:
            signed = signature.split(body)
            found = (signed, signature.digest(signed.text) if signed is not None else None)
        return found

    def verify_ahead(self, messages: list[tuple[str, bytes]]) -> None:
        """Take a batch's signatures apart, and check them on VERIFY_THREADS threads and remember the valid ones, so
        that `check` finds them verified. Best effort: anything it skips or finds wrong `check` looks at again."""
        jobs = []
        for topic, body in messages:
            where = wire.parse_district_topic(topic) if isinstance(topic, str) else None
            if not (where and where[2] == wire.EVENT and isinstance(body, bytes)):
                continue
            signed, digest = self.prepared[body] = self.prepare(body)
            key = self.known.get(signed.key_id) if signed is not None else None
            if key is not None and key.kiosk == where[1] and key.revoked_at is None:
                seen = (signed.key_id, digest + signed.signature)
                if seen not in self.verified:
                    jobs.append((seen, self.public_key(key), signed))
        if len(jobs) < VERIFY_AHEAD_MIN:
            return
        chunks = [jobs[i::VERIFY_THREADS] for i in range(VERIFY_THREADS)]  # one task a thread: a task costs ~20 µs
        for chunk in self.pool().map(verify_chunk, chunks):
            for seen in chunk:
                self.remember(seen)

    def pool(self) -> ThreadPoolExecutor:
        if self.threads is None:
            self.threads = ThreadPoolExecutor(VERIFY_THREADS, thread_name_prefix="hub-verify")
        return self.threads

    def remember(self, seen: tuple[str, bytes]) -> None:
        self.verified[seen] = None
        if len(self.verified) > VERIFIED_CACHE:
            del self.verified[next(iter(self.verified))]

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


def verify_chunk(jobs: list[tuple]) -> list[tuple[str, bytes]]:
    """The ``seen`` keys of the jobs (seen, public key, signed) whose signature verifies."""
    return [seen for seen, key, signed in jobs if signature.verify(key, signed)]

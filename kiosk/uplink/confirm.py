"""Confirming what the hub merged: its acknowledgement's chain must be this kiosk's own outbox, folded the same way.

The hub's acknowledgement (wire.Ack) says every event up to its watermark is
settled, merged or refused for good, and gives a chain over the texts it
holds for them. Up to the point where this kiosk folds its own outbox texts to
the same chain (``confirmed``), each row is what the hub holds: merged rows are
done, refused rows carry the hub's reason. Past that point nothing is marked,
whatever the watermark says: a hub holding a text this kiosk did not write (a
forged event, another database using this kiosk's id) is found here, named,
and never taken for done. Pure: no I/O, the caller reads the outbox texts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

import wire
from wire import signature

REFUSED = "refused"
DISPUTED = "disputed"
"""The hub keeps another text than this kiosk's for this event: never done, shown as a security problem."""
IMPERSONATED = "impersonated"
"""The hub keeps this kiosk's text, but a different, validly signed text came for the same event."""


@dataclass
class Confirmed:
    """What one acknowledgement confirms beyond the kiosk's confirmed point."""

    confirmed: int
    chain: bytes
    verdicts: dict[int, str] = field(default_factory=dict)
    """seq -> "refused:<reason>", DISPUTED or IMPERSONATED, for the rows that are not plainly done."""
    problem: str | None = None
    """Why the acknowledgement could not be confirmed (None: it was, or there was nothing new)."""


class Confirmer:
    """This kiosk's confirmed point and chain, and what the hub has said of refused and disputed events."""

    def __init__(self, kiosk: str, confirmed: int = 0, chain: bytes | None = None, refused_before: int = 0):
        self.kiosk = kiosk
        self.confirmed = confirmed
        self.chain = chain if chain is not None else wire.chain_start(kiosk)
        self.refused_before = refused_before
        """Refused rows up to the confirmed point."""
        self.refused: dict[int, str] = {}
        self.disputed: dict[int, bytes] = {}

    def learn(self, ack: wire.Ack) -> None:
        """Keep what the acknowledgement lists (an older one may list what a newer one has pushed out)."""
        self.refused.update((seq, reason) for seq, reason in ack.refused if seq > self.confirmed)
        self.disputed.update((seq, bytes.fromhex(kept)) for seq, kept in ack.disputed if seq > self.confirmed)

    def confirm(self, ack: wire.Ack, texts: Iterable[tuple[int, str]]) -> Confirmed:
        """Fold the outbox texts of seqs confirmed+1..ack.watermark (in order; earlier ones are skipped) and compare
        with the hub's chain.

        On a match the confirmed point moves to the watermark; otherwise it stays and ``problem`` says why.
        """
        self.learn(ack)
        if ack.watermark <= self.confirmed:
            return Confirmed(self.confirmed, self.chain)
        if not ack.chain:
            return Confirmed(self.confirmed, self.chain, problem="the hub's acknowledgement does not say what it merged")
        chain, verdicts, expected = self.chain, {}, self.confirmed + 1
        for seq, text in texts:
            if seq < expected:
                continue
            if seq != expected or seq > ack.watermark:
                break
            digest = signature.digest(text.encode("utf-8"))
            kept = self.disputed.get(seq)
            if kept is not None:
                verdicts[seq] = IMPERSONATED if kept == digest else DISPUTED
                digest = kept
            if seq in self.refused:
                verdicts[seq] = verdicts.get(seq) or f"{REFUSED}:{self.refused[seq]}"
            chain = wire.chain_next(chain, digest, seq in self.refused)
            expected += 1
        if expected <= ack.watermark:
            return Confirmed(self.confirmed, self.chain, problem=f"the hub has settled events up to {ack.watermark} "
                             f"but this kiosk's outbox lacks event {expected}: is this kiosk id used by another kiosk or database?")
        if chain.hex() != ack.chain:
            return Confirmed(self.confirmed, self.chain, problem=self.mismatch(ack))
        self.refused_before += sum(1 for seq in self.refused if seq <= ack.watermark)
        self.confirmed, self.chain = ack.watermark, chain
        self.refused = {seq: reason for seq, reason in self.refused.items() if seq > ack.watermark}
        self.disputed = {seq: kept for seq, kept in self.disputed.items() if seq > ack.watermark}
        return Confirmed(ack.watermark, chain, verdicts)

    def mismatch(self, ack: wire.Ack) -> str:
        first = self.confirmed + 1
        known = self.refused_before + sum(1 for seq in self.refused if seq <= ack.watermark)
        missing = f"; the hub refused {ack.refused_count} events and this kiosk knows of {known}" \
            if ack.refused_count > known else ""
        return (f"the hub holds events {first} to {ack.watermark} of this kiosk with content this kiosk did not write, "
                f"or not as written{missing}: ask the district office to compare")

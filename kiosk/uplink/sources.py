"""Which acknowledgements a kiosk waits for, and which one it acts on: pure, no I/O.

A kiosk of a lone district hears one acknowledgement, its district hub's. A
kiosk whose district is bridged to a province (``hub.province_acks``) hears
two: the district hub's on its own ack topic, and the province's, which the
bridge brings in on wire.province_ack_topic. An event is done only when both
hubs hold it, so the kiosk acts on the latest acknowledgement of the source
with the lower watermark, whole (its gaps, chain, refused and disputed
events): what one hub lacks is sent again, whichever it is. Until every
source has spoken, nothing is acted on: a district hub's acknowledgement
alone marks nothing done.
"""

from __future__ import annotations

from typing import Mapping

import wire

DISTRICT = "district"
PROVINCE = "province"
NAMES = {DISTRICT: "the hub", PROVINCE: "the province"}
"""How the board names each source."""


def ack_topics(kiosk: str, province_acks: bool) -> dict[str, str]:
    """Topic -> source of the acknowledgements this kiosk waits for: the district hub's, and the province's with
    ``province_acks``."""
    topics = {wire.topic(kiosk, wire.ACK): DISTRICT}
    if province_acks:
        topics[wire.province_ack_topic(kiosk)] = PROVINCE
    return topics


def lower(latest: Mapping[str, wire.Ack], sources: tuple[str, ...]) -> wire.Ack | None:
    """The acknowledgement to act on: of each source's latest, the one with the lower watermark (the first source's
    on a tie); None while a source has not been heard."""
    heard = [latest[source] for source in sources if source in latest]
    if len(heard) < len(sources):
        return None
    return min(heard, key=lambda ack: ack.watermark)


class Heard:
    """The latest acknowledgement of each source, and the one last acted on."""

    def __init__(self, sources: tuple[str, ...]):
        self.sources = sources
        self.latest: dict[str, wire.Ack] = {}
        self.acted: wire.Ack | None = None

    def hear(self, source: str, ack: wire.Ack) -> wire.Ack | None:
        """Keep ``ack`` as the source's latest; return the acknowledgement to act on now, or None when there is none
        yet or it is the one already acted on (a newer word from the source ahead changes nothing)."""
        self.latest[source] = ack
        chosen = lower(self.latest, self.sources)
        if chosen is None or chosen is self.acted:
            return None
        self.acted = chosen
        return chosen

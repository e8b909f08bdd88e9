"""Scanned QR payloads: recognise which kind a payload is and parse it, or say why not."""

import datetime
from collections.abc import Callable

from kiosk.payloads.cccd import CccdCard, looks_like_cccd, manual_card, parse_cccd
from kiosk.payloads.reasons import REASONS, WARNINGS, PayloadWarning, reject
from kiosk.payloads.text import MAX_PAYLOAD_BYTES, decode_text

__all__ = [
    "MAX_PAYLOAD_BYTES",
    "REASONS",
    "WARNINGS",
    "CccdCard",
    "PayloadWarning",
    "manual_card",
    "parse_payload",
]

# (shape test, parser) pairs, tried in order; a new kind of payload (the hub's
# signed invitation, say) adds a pair here. Shape tests must be cheap and must
# not overlap, so each payload goes to exactly one parser.
_PARSERS: tuple[tuple[Callable[[str], bool], Callable[..., CccdCard]], ...] = (
    (looks_like_cccd, parse_cccd),
)


def parse_payload(data: str | bytes, *, today: datetime.date | None = None) -> CccdCard:
    """Return the card encoded in a scanned payload.

    data is the decoder's output: text, or bytes that must be strict UTF-8.
    today, when given, rejects a date of birth after it. Raises PayloadRejected,
    and nothing else, for any input that is not a valid payload.
    """
    text = decode_text(data)
    for looks_like, parse in _PARSERS:
        if looks_like(text):
            return parse(text, today=today)
    raise reject("not_cccd")

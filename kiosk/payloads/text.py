"""Turn raw scanner output (text or bytes) into one clean NFC string, or reject it."""

import unicodedata

from kiosk.payloads.reasons import reject

MAX_PAYLOAD_BYTES = 2048
"""Longest payload accepted, in UTF-8 bytes. A real CCCD payload is a few hundred
bytes even with a long address in decomposed (NFD) Vietnamese; anything this long
is some other QR code, and the bound keeps the parser's work small."""

_BOM = "\ufeff"
_LINE_ENDS = "\r\n"


def decode_text(data: object) -> str:
    """Return the payload as NFC text, without a leading BOM or trailing CR/LF.

    Raises PayloadRejected "too_long", "not_utf8" (bytes that are not strict
    UTF-8, or text with lone surrogates that could never be stored), or
    "not_cccd" for a value that is neither text nor bytes.
    """
    try:
        text = _bounded_bytes(data).decode("utf-8")
    except UnicodeDecodeError:
        # "from None": the codec's message quotes bytes of the payload.
        raise reject("not_utf8") from None
    text = text.removeprefix(_BOM).rstrip(_LINE_ENDS)
    return unicodedata.normalize("NFC", text)


def _bounded_bytes(data: object) -> bytes:
    if isinstance(data, str):
        if len(data) > MAX_PAYLOAD_BYTES:  # checked before encoding a huge string
            raise reject("too_long")
        try:
            raw = data.encode("utf-8")
        except UnicodeEncodeError:
            raise reject("not_utf8") from None
    elif isinstance(data, (bytes, bytearray)):
        raw = bytes(data)
    else:
        raise reject("not_cccd")
    if len(raw) > MAX_PAYLOAD_BYTES:
        raise reject("too_long")
    return raw

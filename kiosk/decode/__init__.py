"""Read QR codes from grey camera frames: pick a decoder by name, get Codes back."""
from __future__ import annotations

from kiosk.decode.base import Code, Decoder
from kiosk.decode.images import load_gray
from kiosk.decode.robust import DEFAULT_BUDGET_MS

__all__ = ["Code", "Decoder", "DECODER_NAMES", "DEFAULT_DECODER", "DEFAULT_BUDGET_MS", "make_decoder", "load_gray"]

DECODER_NAMES: tuple[str, ...] = ("robust", "zxing", "zbar")
DEFAULT_DECODER: str = DECODER_NAMES[0]


def make_decoder(name: str = DEFAULT_DECODER, *, budget_ms: float = DEFAULT_BUDGET_MS) -> Decoder:
    """Return a new decoder (one per thread); ``budget_ms`` caps the robust decoder's time per frame.

    Raises ValueError for an unknown name or a non-positive budget, DecoderUnavailable
    (an ImportError, with an apt/pip hint) when the backend's library is missing.
    """
    if name not in DECODER_NAMES:
        raise ValueError(f"unknown decoder {name!r}; choose one of {', '.join(DECODER_NAMES)}")
    if not budget_ms > 0:
        raise ValueError(f"budget_ms must be positive, got {budget_ms!r}")
    if name == "zxing":
        from kiosk.decode.zxing import ZxingDecoder

        return ZxingDecoder()
    if name == "zbar":
        from kiosk.decode.zbar import ZbarDecoder

        return ZbarDecoder()
    from kiosk.decode.robust import RobustDecoder

    return RobustDecoder(budget_ms=budget_ms)

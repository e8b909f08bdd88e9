"""The zxing-cpp backend, restricted to QR codes and byte-exact."""
from __future__ import annotations

from kiosk.decode.base import Code, check_gray, text_of
from kiosk.errors import DecoderUnavailable

INSTALL_HINT = "pip install zxing-cpp (or apt install python3-zxing-cpp)"


def import_zxingcpp():
    """Return the zxingcpp module; raise DecoderUnavailable with an install hint if missing."""
    try:
        import zxingcpp
    except ImportError as exc:
        raise DecoderUnavailable(f"zxing-cpp is not installed ({exc}); {INSTALL_HINT}") from exc
    return zxingcpp


def qr_format(zxingcpp):
    """Return the format for plain QR codes (Model 2 on zxing-cpp 3, where QRCode is a family)."""
    fmt = zxingcpp.BarcodeFormat
    return getattr(fmt, "QRCodeModel2", fmt.QRCode)


class ZxingDecoder:
    """Reads QR codes with zxing-cpp; ``text`` comes from the raw bytes, not zxing's guess."""

    name = "zxing"

    def __init__(self, **options):
        """``options`` go to ``zxingcpp.read_barcodes`` (e.g. try_invert=False, binarizer=...)."""
        self.module = zx = import_zxingcpp()
        # Plain, not zxing's default HRI, so a non-UTF-8 text keeps its control characters.
        self._options = {"formats": qr_format(zx), "text_mode": zx.TextMode.Plain, **options}

    def decode(self, gray) -> list[Code]:
        """Return the valid QR codes in ``gray``; raise ValueError for a wrong shape/dtype."""
        check_gray(gray)
        return codes_of(self.read(gray))

    def read(self, gray, **options) -> list:
        """Return zxing-cpp's raw results (with ``options`` overriding the defaults)."""
        return self.module.read_barcodes(gray, **{**self._options, **options})


def codes_of(barcodes) -> list[Code]:
    """Turn zxing-cpp results into Codes, dropping the ones that failed to decode."""
    return [code_of(b) for b in barcodes if b.valid]


def code_of(barcode) -> Code:
    """Turn one valid zxing-cpp result into a Code."""
    raw = bytes(barcode.bytes)
    return Code(text=text_of(raw, barcode.text), raw=raw, backend="zxing")

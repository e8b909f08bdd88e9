"""The zbar backend via pyzbar's ctypes bindings, QR only, in binary mode so text is byte-exact.

pyzbar.decode() lets zbar guess the text encoding, which turns many Vietnamese
UTF-8 payloads into Shift-JIS mojibake; zbar's binary mode returns the raw
bytes instead, and we decode them as UTF-8 ourselves (falling back to zbar's
own guesses, Shift-JIS then ISO 8859-1, for bytes that are not UTF-8).
"""
from __future__ import annotations

import ctypes
import weakref

from kiosk.decode.base import Code, check_gray, text_of
from kiosk.errors import DecoderUnavailable

INSTALL_HINT = "apt install libzbar0 and pip install pyzbar"
Y800 = int.from_bytes(b"Y800", "little")  # zbar's fourcc for 8-bit grey


def legacy_text(raw: bytes) -> str:
    """Return non-UTF-8 ``raw`` as zbar would guess it: Shift-JIS if valid, else ISO 8859-1."""
    try:
        return raw.decode("shift_jis")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def import_wrapper():
    """Return pyzbar.wrapper with libzbar loaded; raise DecoderUnavailable if either is missing."""
    try:
        from pyzbar import wrapper

        wrapper.load_libzbar()
    except ImportError as exc:
        raise DecoderUnavailable(f"zbar is not available ({exc}); {INSTALL_HINT}") from exc
    return wrapper


def parse_config(wrapper, setting: bytes) -> tuple[int, int, int]:
    """Return zbar's (symbology, config, value) for ``setting``, e.g. b"qrcode.binary=1".

    Asking zbar to parse the name avoids hard-coding enum values that moved between releases.
    """
    sym, cfg, val = ctypes.c_int(), ctypes.c_int(), ctypes.c_int()
    if wrapper.zbar_parse_config(setting, ctypes.byref(sym), ctypes.byref(cfg), ctypes.byref(val)):
        raise DecoderUnavailable(
            f"this libzbar does not know {setting.decode()} (binary mode needs zbar >= 0.23); {INSTALL_HINT}"
        )
    return sym.value, cfg.value, val.value


def create_scanner(wrapper):
    """Return a zbar image scanner that reads QR codes only and returns raw bytes."""
    scanner = wrapper.zbar_image_scanner_create()
    for setting in (b"disable", b"qrcode.enable", b"qrcode.binary"):
        if wrapper.zbar_image_scanner_set_config(scanner, *parse_config(wrapper, setting)):
            wrapper.zbar_image_scanner_destroy(scanner)
            raise DecoderUnavailable(f"libzbar refused the setting {setting.decode()}; {INSTALL_HINT}")
    return scanner


class ZbarDecoder:
    """Reads QR codes with zbar; not thread-safe (one scanner per instance)."""

    name = "zbar"

    def __init__(self):
        self._zb = import_wrapper()
        self._scanner = create_scanner(self._zb)
        weakref.finalize(self, self._zb.zbar_image_scanner_destroy, self._scanner)

    def decode(self, gray) -> list[Code]:
        """Return the QR codes in ``gray``; raise ValueError for a wrong shape/dtype."""
        check_gray(gray)
        import numpy as np

        gray = np.ascontiguousarray(gray)
        zb = self._zb
        image = zb.zbar_image_create()
        try:
            zb.zbar_image_set_format(image, Y800)
            zb.zbar_image_set_size(image, gray.shape[1], gray.shape[0])
            zb.zbar_image_set_data(image, gray.ctypes.data, gray.size, None)
            if zb.zbar_scan_image(self._scanner, image) <= 0:
                return []
            return list(self._symbols(image))
        finally:
            zb.zbar_image_destroy(image)

    def _symbols(self, image):
        """Yield a Code for each QR symbol zbar found in ``image``."""
        zb = self._zb
        symbol = zb.zbar_image_first_symbol(image)
        while symbol:
            if symbol.contents.type == zb.ZBarSymbol.QRCODE:
                size = zb.zbar_symbol_get_data_length(symbol)
                raw = ctypes.string_at(zb.zbar_symbol_get_data(symbol), size)
                yield Code(text=text_of(raw, legacy_text(raw)), raw=raw, backend="zbar")
            symbol = zb.zbar_symbol_next(symbol)

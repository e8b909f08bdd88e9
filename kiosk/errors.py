"""One exception hierarchy for the kiosk; each class also inherits the matching builtin."""


class KioskError(Exception):
    """Base class of every error the kiosk raises on purpose."""


class ConfigError(KioskError, ValueError):
    """The configuration is invalid; the message names the offending key."""


class CameraError(KioskError, OSError):
    """A frame source could not be opened or stopped delivering frames."""


class DecoderUnavailable(KioskError, ImportError):
    """A decoder backend's library is not installed on this machine."""


class PayloadRejected(KioskError, ValueError):
    """A scanned payload is not one we accept.

    ``reason`` is a stable machine-readable code; ``message_vi`` and
    ``message_en`` are sentences a citizen or supervisor can read.
    """

    def __init__(self, reason: str, message_en: str, message_vi: str):
        super().__init__(f"{reason}: {message_en}")
        self.reason = reason
        self.message_en = message_en
        self.message_vi = message_vi


class StoreError(KioskError, RuntimeError):
    """The kiosk database refused a write (full disk, locked, corrupt)."""


class DatabaseBusy(StoreError):
    """Another connection held the write lock for longer than this one would wait; nothing was written."""


class ImageError(KioskError, OSError):
    """An image file could not be read or is not an image."""


class StaffError(KioskError, ValueError):
    """A staff change was refused: bad name, role or PIN, unknown or duplicate member."""


class Refusal(KioskError, ValueError):
    """Why a staff action on the screens or the API did nothing: HTTP status, stable code, a message for the person who asked."""

    def __init__(self, status: int, code: str, message: str, detail: dict | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.detail = status, code, message, detail or {}

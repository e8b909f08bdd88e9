"""Kiosk keys for tests: one P-256 key per kiosk id for the whole run, its PEM file, and its registration at a hub store."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from hub.store import KioskKey
from wire import signature

REGISTERED_AT = "2026-01-01T00:00:00Z"


@cache
def signer(kiosk: str) -> signature.Signer:
    """The test key of this kiosk id (the same one for every test of the run)."""
    return signature.Signer(signature.generate_key())


def key_file(folder: Path, kiosk: str) -> Path:
    """The kiosk's test key as a PEM file in folder (mode 0600, as `kiosk identity new` writes it)."""
    path = Path(folder) / f"{kiosk}-key.pem"
    path.write_bytes(signature.private_pem(signer(kiosk).private_key))
    path.chmod(0o600)
    return path


def registered(kiosk: str) -> KioskKey:
    """The KioskKey a hub holds for the kiosk's test key."""
    public = signer(kiosk).private_key.public_key()
    return KioskKey(signature.key_id(public), kiosk, signature.public_der(public), REGISTERED_AT)


def enroll(store, kiosk: str, site: str = "site-a") -> None:
    """Enroll the kiosk at a hub store and register its test key."""
    store.enroll(kiosk, site, "", REGISTERED_AT)
    store.add_key(registered(kiosk))

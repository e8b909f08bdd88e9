"""Certificates and kiosk keys for tests, the fault harness and the benchmarks, made by the product's own CA code.

``district_ca`` is what `hub ca init` makes; ``identity`` is what `kiosk identity new`
makes on a kiosk; ``enroll`` is `hub enroll --csr` through hub/enrollment.py (the
same code the command runs), for harnesses that enroll many kiosks at once.
Validity comes from the real clock, a day back and years ahead: OpenSSL checks
certificates against the real clock, and no test asserts on a date.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from hub import ca
from kiosk import identity as kiosk_identity

NAMES = ["127.0.0.1", "localhost"]


@dataclass(frozen=True)
class Identity:
    """One kiosk's files: its key (mode 0600), its CSR and, once enrolled, its certificate."""

    kiosk: str
    key: Path
    csr: Path
    cert: Path


def district_ca(folder: Path) -> Path:
    """A district CA and a broker certificate for 127.0.0.1 and localhost in folder (as `hub ca init`); return folder."""
    ca.init(folder, NAMES, datetime.now(timezone.utc))
    return folder


def identity(folder: Path, kiosk: str) -> Identity:
    """A kiosk's key and CSR in folder/<kiosk>.key and .csr, as `kiosk identity new` writes them."""
    folder.mkdir(parents=True, exist_ok=True)
    key = kiosk_identity.new_key(folder / f"{kiosk}.key", force=True)
    csr = folder / f"{kiosk}.csr"
    csr.write_bytes(kiosk_identity.csr_pem(key, kiosk))
    return Identity(kiosk, folder / f"{kiosk}.key", csr, folder / f"{kiosk}.crt")


def enroll(db: Path, ca_dir: Path, broker_dir: Path, kiosk: str, site: str, keys: Path) -> Identity:
    """A new key for the kiosk, enrolled at the hub database with its certificate, as `hub enroll --csr` does."""
    from hub import enrollment
    from hub.store.sqlite import open_store

    made = identity(keys, kiosk)
    store = open_store(db)
    try:
        done = enrollment.enroll(store, ca.load(ca_dir), kiosk, site, made.csr.read_bytes(), broker_dir,
                                 datetime.now(timezone.utc))
    finally:
        store.close()
    made.cert.write_text(done.certificate)
    return made

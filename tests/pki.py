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

from .mosquitto import Broker

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


def make_certificates(folder: Path) -> dict[str, Path]:
    """A district CA and a broker certificate for 127.0.0.1 and localhost, made by the product's own `hub ca init` code."""
    district_ca(folder)
    return {name: folder / name for name in ("ca.crt", "server.crt", "server.key")}


def tls_broker(folder: Path, files: dict[str, Path], *, mutual: bool = False) -> Broker:
    """A broker whose one listener is TLS with the district's broker certificate; ``mutual``: as the district
    broker's kiosk listener, a client certificate of the district CA required and its CN the username."""
    broker = Broker(folder)
    with open(broker.config, "a") as conf:
        conf.write(f"cafile {files['ca.crt']}\ncertfile {files['server.crt']}\nkeyfile {files['server.key']}\n")
        if mutual:
            conf.write("require_certificate true\nuse_identity_as_username true\nuse_username_as_clientid true\n")
    return broker.start()


def enrolled(folder: Path, kiosk_id: str) -> Identity:
    """A key and CSR made as on the kiosk, and the certificate the district CA in folder/tls issues for it."""
    made = identity(folder / "keys", kiosk_id)
    authority = ca.load(folder / "tls")
    made.cert.write_bytes(ca.pem(ca.issue(authority, ca.read_csr(made.csr.read_bytes()), kiosk_id, datetime.now(timezone.utc))))
    return made

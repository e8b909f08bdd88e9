"""The kiosk's identity: its P-256 key (made here, never leaves the Pi), the CSR for `hub enroll`, the certificate it gets back.

The same key signs every event (wire/signature.py) and opens the mutual-TLS
connection to the district broker, whose certificate says which kiosk it is.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID

from wire import signature

from .config import Config
from .errors import ConfigError

DEFAULT_KEY_FILE = "/etc/kiosk/credentials/kiosk-key"
"""Where `kiosk identity new` puts the key; kiosk-publish.service hands it to the publisher as the credential kiosk-key."""
EXPIRY_WARNING = timedelta(days=30)
"""`kiosk doctor` fails this long before the certificate ends: time to re-enroll."""


@dataclass(frozen=True)
class Certificate:
    """What `kiosk identity show` says about the kiosk's certificate."""

    subject: str
    issuer: str
    serial: str
    not_before: datetime
    not_after: datetime
    common_name: str | None
    matches_key: bool


def key_path(config: Config, given: str | None = None) -> Path:
    """The key file: --key, else hub.key_file (or the credential kiosk-key), else the default."""
    return Path(given or config.hub.key_file or DEFAULT_KEY_FILE)


def new_key(path: Path, *, force: bool = False):
    """Make a new P-256 key at path, mode 0600 from its first byte; return it.

    Raise ConfigError when a key is already there and force is not given (its
    certificate would stop matching: the kiosk could not connect until re-enrolled).
    """
    if path.exists() and not force:
        raise ConfigError(f"{path} already holds a key (key id {describe_key(path)}); --force replaces it, and the "
                          f"kiosk then needs a new certificate (`hub enroll` with the new CSR)")
    key = signature.generate_key()
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.new")
    temporary.unlink(missing_ok=True)
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(signature.private_pem(key))
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(temporary, path)
    return key


def load_key(path: Path):
    """The kiosk's private key; raise ConfigError saying what is wrong."""
    try:
        return signature.load_private_key(path)
    except signature.SignatureError as exc:
        raise ConfigError(f"hub.key_file: {exc}") from None


def describe_key(path: Path) -> str:
    try:
        return signature.key_id(load_key(path).public_key())
    except ConfigError:
        return "unreadable"


def csr_pem(key, kiosk: str) -> bytes:
    """A PEM certificate signing request for the key, CN = the kiosk id: what `hub enroll --csr` takes."""
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, kiosk)])
    request = x509.CertificateSigningRequestBuilder().subject_name(subject).sign(key, hashes.SHA256())
    return request.public_bytes(serialization.Encoding.PEM)


def load_certificate(path: str | Path) -> x509.Certificate:
    """The PEM certificate at path; raise ConfigError saying what is wrong."""
    try:
        return x509.load_pem_x509_certificate(Path(path).read_bytes())
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
    except ValueError:
        raise ConfigError(f"{path} is not a PEM certificate") from None


def inspect(certificate: x509.Certificate, key) -> Certificate:
    """The certificate's names, serial and validity, and whether it certifies this key."""
    names = certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    matches = key is not None and signature.public_der(certificate.public_key()) == signature.public_der(key.public_key())
    return Certificate(certificate.subject.rfc4514_string(), certificate.issuer.rfc4514_string(),
                       format(certificate.serial_number, "x"), certificate.not_valid_before_utc,
                       certificate.not_valid_after_utc, str(names[0].value) if names else None, matches)


def problems(config: Config, now: datetime) -> list[str]:
    """What is wrong with the kiosk's key, certificate and CA file, in plain words (empty: nothing)."""
    hub = config.hub
    key = load_key(Path(hub.key_file)) if hub.key_file else None
    found = [] if key else ["no key (hub.key_file or the credential kiosk-key): make one with `kiosk identity new`"]
    if not hub.cert_file:
        return found
    cert = inspect(load_certificate(hub.cert_file), key)
    if key is not None and not cert.matches_key:
        found.append(f"{hub.cert_file} does not certify the key {hub.key_file} (a new key needs a new `hub enroll`)")
    if cert.common_name != config.kiosk.id:
        found.append(f"{hub.cert_file} is for kiosk {cert.common_name!r}, but kiosk.id is {config.kiosk.id!r}")
    if now >= cert.not_after:
        found.append(f"{hub.cert_file} expired on {cert.not_after:%Y-%m-%d}: re-enroll the kiosk")
    elif now + EXPIRY_WARNING >= cert.not_after:
        found.append(f"{hub.cert_file} ends on {cert.not_after:%Y-%m-%d}: re-enroll the kiosk before then")
    if hub.ca_file:
        found += ca_problems(hub.ca_file, hub.cert_file)
    return found


def ca_problems(ca_file: str, cert_file: str) -> list[str]:
    """Whether hub.ca_file is a CA certificate that issued the kiosk's certificate."""
    authority = load_certificate(ca_file)
    certificate = load_certificate(cert_file)
    try:
        certificate.verify_directly_issued_by(authority)
    except (ValueError, TypeError, InvalidSignature):
        return [f"{cert_file} was not issued by the CA in {ca_file} (hub.ca_file): copy the district CA's ca.crt"]
    return []


def utc_now() -> datetime:
    return datetime.now(timezone.utc)

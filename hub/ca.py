"""The district CA: its key and certificate, the broker's server certificate, kiosk certificates issued from CSRs, the CRL.

One CA per district, made once at the hub by `hub ca init` (ECDSA P-256, like
the kiosks' keys). It certifies the broker to the kiosks and each kiosk to the
broker: Mosquitto's kiosk listener asks for a client certificate signed by this
CA and takes the certificate's CN as the MQTT username (= client id = kiosk id).
The province's CA is made by the same command on the province's host; it
certifies the province broker to the districts' bridges and each bridge to it
(CN ``bridge-<district>``, `hub bridge-cert`), as a district's CA does its kiosks; hub/bridge_certificates.py keeps
its record of them and the CRL that revokes them.
Everything is computed from an injected ``now`` so tests never depend on the date.

Validity: the CA 20 years, the broker's certificate 10 years, a kiosk's or a bridge's 5 years
(a lost Pi is handled by revocation, not by expiry; `kiosk doctor` warns 30 days
before the end). Every certificate starts a day before ``now``, so a kiosk whose
clock is a little behind still accepts the broker's. The CRL's next update is 10
years ahead: OpenSSL refuses every client once a CRL has expired, and the hub
writes a fresh one at every enrollment and revocation anyway.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from wire import signature

from .bridge import bridge_user
from .errors import CAError

CA_KEY, CA_CERT, SERVER_KEY, SERVER_CERT = "ca.key", "ca.crt", "server.key", "server.crt"
CA_NAME = "vax district CA"
BROKER_NAME = "vax district broker"
"""The broker certificate's CN; kiosks check its subjectAltName. Never a host name, so it can never be `hub` either."""
CA_DAYS, SERVER_DAYS, CLIENT_DAYS, CRL_DAYS = 20 * 365, 10 * 365, 5 * 365, 10 * 365
"""CLIENT_DAYS: a kiosk's certificate and a bridge's."""
BACKDATE = timedelta(days=1)
HASH = hashes.SHA256()


@dataclass(frozen=True)
class Authority:
    """The district CA's key and certificate, loaded from its folder."""

    key: ec.EllipticCurvePrivateKey
    certificate: x509.Certificate
    folder: Path


@dataclass(frozen=True)
class Initialised:
    """What `hub ca init` did: which files it made, and the names in the broker's certificate."""

    folder: Path
    made_ca: bool
    made_server: bool
    names: tuple[str, ...]


# -- files ------------------------------------------------------------------------------------------------------------


def write_private(path: Path, data: bytes) -> None:
    """Write a secret file with mode 0600 from its first byte (never readable by others, even briefly)."""
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


def write_public(path: Path, data: bytes) -> None:
    """Write a public file (a certificate, a CRL) atomically, mode 0644: a reader sees the old or the new one."""
    temporary = path.with_name(f".{path.name}.new")
    temporary.write_bytes(data)
    temporary.chmod(0o644)
    os.replace(temporary, path)


def pem(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)


def load_certificate(path: str | Path) -> x509.Certificate:
    """The PEM certificate at path; raise CAError saying what is wrong."""
    try:
        return x509.load_pem_x509_certificate(Path(path).read_bytes())
    except OSError as exc:
        raise CAError(f"cannot read {path}: {exc.strerror}") from None
    except ValueError as exc:
        raise CAError(f"{path} is not a PEM certificate: {exc}") from None


# -- the CA -----------------------------------------------------------------------------------------------------------


def init(folder: str | Path, names: list[str], now: datetime, ca_name: str = CA_NAME) -> Initialised:
    """Make the CA named ``ca_name`` (when the folder has none) and the broker's certificate (when missing or for other
    names).

    Idempotent: an existing CA is kept (a new one would orphan every kiosk's
    certificate). Raises CAError for an unusable folder or name.
    """
    folder = Path(folder)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    made_ca = not (folder / CA_KEY).exists()
    if made_ca:
        key = signature.generate_key()
        write_private(folder / CA_KEY, signature.private_pem(key))
        write_public(folder / CA_CERT, pem(self_signed(key, now, ca_name)))
    authority = load(folder)
    names = tuple(names) or server_names(folder)
    if not names:
        raise CAError("name the broker: --tls-name HOST (the host name or address kiosks connect to)")
    made_server = made_ca or server_names(folder) != names
    if made_server:
        key = signature.generate_key()
        write_private(folder / SERVER_KEY, signature.private_pem(key))
        write_public(folder / SERVER_CERT, pem(server_certificate(authority, key.public_key(), names, now)))
    return Initialised(folder, made_ca, made_server, names)


def load(folder: str | Path) -> Authority:
    """The CA in folder (ca.key, ca.crt); raise CAError when it is missing or its halves do not match."""
    folder = Path(folder)
    try:
        key = signature.load_private_key(folder / CA_KEY)
    except signature.SignatureError as exc:
        raise CAError(f"no usable district CA in {folder} ({exc}); make one with `hub ca init --dir {folder}`") from None
    certificate = load_certificate(folder / CA_CERT)
    if signature.public_der(certificate.public_key()) != signature.public_der(key.public_key()):
        raise CAError(f"{folder / CA_CERT} is not the certificate of {folder / CA_KEY}")
    return Authority(key, certificate, folder)


def name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def builder(subject: x509.Name, issuer: x509.Name, public_key, now: datetime, days: int) -> x509.CertificateBuilder:
    return (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - BACKDATE).not_valid_after(now + timedelta(days=days))
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False))


def self_signed(key: ec.EllipticCurvePrivateKey, now: datetime, ca_name: str = CA_NAME) -> x509.Certificate:
    """The CA's own certificate, named ``ca_name``: may sign certificates and CRLs, nothing else."""
    usage = x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False, data_encipherment=False,
                          key_agreement=False, key_cert_sign=True, crl_sign=True, encipher_only=False, decipher_only=False)
    return (builder(name(ca_name), name(ca_name), key.public_key(), now, CA_DAYS)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(usage, critical=True)
            .sign(key, HASH))


def leaf(authority: Authority, subject: x509.Name, public_key, now: datetime, days: int) -> x509.CertificateBuilder:
    usage = x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False, data_encipherment=False,
                          key_agreement=False, key_cert_sign=False, crl_sign=False, encipher_only=False, decipher_only=False)
    ski = authority.certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    return (builder(subject, authority.certificate.subject, public_key, now, days)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(usage, critical=True)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False))


def server_certificate(authority: Authority, public_key, names: tuple[str, ...], now: datetime) -> x509.Certificate:
    """The broker's certificate for the host names and addresses kiosks connect to."""
    alternatives = x509.SubjectAlternativeName([alternative(n) for n in names])
    return (leaf(authority, name(BROKER_NAME), public_key, now, SERVER_DAYS)
            .add_extension(alternatives, critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(authority.key, HASH))


def alternative(value: str) -> x509.GeneralName:
    """An IP address or a DNS name for the subjectAltName; raise CAError for neither."""
    try:
        return x509.IPAddress(ipaddress.ip_address(value))
    except ValueError:
        pass
    if not value or any(c.isspace() or c in "/:@" for c in value):
        raise CAError(f"--tls-name {value!r} is neither a host name nor an IP address")
    return x509.DNSName(value)


def server_names(folder: Path) -> tuple[str, ...]:
    """The names in the broker's current certificate (empty when there is none)."""
    path = folder / SERVER_CERT
    if not path.exists():
        return ()
    certificate = load_certificate(path)
    try:
        alternatives = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return ()
    return tuple(str(n.value) for n in alternatives)


# -- kiosks and bridges ------------------------------------------------------------------------------------------------


def read_csr(data: bytes, source: str = "the CSR", maker: str = "`kiosk identity new`") -> x509.CertificateSigningRequest:
    """A PEM CSR whose signature holds and whose key is P-256; raise CAError otherwise (naming ``maker``, the command that
    makes a good one)."""
    try:
        csr = x509.load_pem_x509_csr(data)
    except ValueError as exc:
        raise CAError(f"{source} is not a PEM certificate signing request: {exc}") from None
    if not csr.is_signature_valid:
        raise CAError(f"{source}: its signature does not hold (damaged in copying?)")
    try:
        signature.check_curve(csr.public_key())
    except signature.SignatureError as exc:
        raise CAError(f"{source}: {exc} (make it with {maker})") from None
    return csr


def common_name(subject: x509.Name) -> str | None:
    values = subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(values[0].value) if values else None


def issue(authority: Authority, csr: x509.CertificateSigningRequest, kiosk: str, now: datetime) -> x509.Certificate:
    """The kiosk's client certificate: CN = kiosk id (the broker's username for it), clientAuth only.

    The CSR must name the same kiosk: a CSR copied from the wrong Pi is an
    operator's mistake to catch here, not a certificate to issue. Raise CAError.
    """
    return client_certificate(authority, csr, kiosk, now, "was it made on another Pi? "
                              "(`kiosk identity new` puts the kiosk.id of its kiosk.toml in it)")


def issue_bridge(authority: Authority, csr: x509.CertificateSigningRequest, district: str, now: datetime) -> x509.Certificate:
    """A district bridge's client certificate for the province broker: CN = ``bridge-<district>`` (its username there,
    which the province's ACL confines to the district's topics), clientAuth only, 5 years.

    Raise ValueError for a district name that cannot be a topic level, CAError for a CSR that names another bridge
    (one made for another district, or a kiosk's): the province would otherwise let one district write as another.
    """
    return client_certificate(authority, csr, bridge_user(district), now, "was it made for another district? "
                              f"(`hub bridge-csr --district {district}` at the district makes the right one)")


def client_certificate(authority: Authority, csr: x509.CertificateSigningRequest, common: str, now: datetime,
                       mistake: str) -> x509.Certificate:
    """A client certificate (clientAuth only, 5 years) for the CSR's key, CN = ``common``: the broker's username. A CSR
    that names anyone else raises CAError, with ``mistake``: what the operator most likely did and how to mend it."""
    asked = common_name(csr.subject)
    if asked != common:
        raise CAError(f"the CSR is for {asked!r}, not {common!r}: {mistake}")
    return (leaf(authority, name(common), csr.public_key(), now, CLIENT_DAYS)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
            .sign(authority.key, HASH))


def make_csr(key: ec.EllipticCurvePrivateKey, common: str) -> bytes:
    """A PEM CSR for the key, CN = ``common`` (a kiosk id, as `kiosk identity new` prints, or ``bridge-<district>``)."""
    return x509.CertificateSigningRequestBuilder().subject_name(name(common)).sign(key, HASH).public_bytes(serialization.Encoding.PEM)


def crl(authority: Authority, revoked: list[tuple[int, datetime]], now: datetime) -> bytes:
    """The PEM CRL listing the revoked certificates' (serial, revocation time), signed by the CA."""
    builder = (x509.CertificateRevocationListBuilder().issuer_name(authority.certificate.subject)
               .last_update(now - BACKDATE).next_update(now + timedelta(days=CRL_DAYS)))
    for serial, at in sorted(revoked):
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(at).build())
    return builder.sign(authority.key, HASH).public_bytes(serialization.Encoding.PEM)


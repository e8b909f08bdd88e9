"""The province CA's record of the district bridges' certificates: what `hub bridge-cert` issued, what
`hub bridge-revoke` revoked, and the CRL the province broker reads from it.

The record is ``bridges.json`` in the CA's folder, beside ``ca.key``, not in the province database. It is the CA's
own memory, as OpenSSL's ``index.txt`` is: only the commands that hold the CA's key read or write it, so it is backed
up and restored with that key (a CRL cannot be signed without it anyway); `hub bridge-cert` needs no database; and a
province database restored from an older copy cannot let a revoked bridge back in. The CRL lists every certificate
ever revoked (a handful per stolen machine: it stays small), so a revocation is never forgotten by the next one.

A district's revocation revokes every certificate issued for it until then. A key once revoked is never certified
again: a CSR from the stolen machine is refused, while a new key made at the rebuilt district is certified.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from pathlib import Path

from cryptography import x509

from wire import signature

from . import ca
from .errors import CAError

RECORD = "bridges.json"
FORMAT = "hub-bridges"


@dataclass(frozen=True)
class BridgeCertificate:
    """One certificate the province CA issued to a district's bridge, and when it was revoked (None: it was not)."""

    serial: str
    """Hexadecimal, as `openssl x509 -serial` prints it (lower-case)."""
    district: str
    key_id: str
    """The certified key's id (wire.signature.key_id): a key once revoked is never certified again."""
    not_before: str
    not_after: str
    revoked_at: str | None = None


def read(folder: str | Path) -> list[BridgeCertificate]:
    """The record in the CA folder (empty when nothing was issued yet); raise CAError for a file that is not one."""
    path = Path(folder) / RECORD
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    except (OSError, ValueError) as exc:
        raise CAError(f"cannot read {path}: {exc}") from None
    try:
        if data["format"] != FORMAT:
            raise ValueError(f"format {data['format']!r}")
        return [BridgeCertificate(**entry) for entry in data["certificates"]]
    except (KeyError, TypeError, ValueError) as exc:
        raise CAError(f"{path} is not the CA's record of bridge certificates ({exc})") from None


def write(folder: Path, entries: list[BridgeCertificate]) -> None:
    data = {"format": FORMAT, "certificates": [asdict(entry) for entry in entries]}
    ca.write_public(folder / RECORD, (json.dumps(data, indent=2, sort_keys=True) + "\n").encode())


@contextmanager
def locked(folder: Path) -> Iterator[None]:
    """Hold the CA folder's lock, so that two commands at once cannot lose each other's line of the record."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def certify(authority: ca.Authority, csr: x509.CertificateSigningRequest, district: str,
            now: datetime) -> x509.Certificate:
    """The bridge's certificate (ca.issue_bridge), recorded before it is returned; raise CAError for a key whose
    certificate was revoked (the stolen machine's) and whatever ca.issue_bridge raises."""
    key_id = signature.key_id(csr.public_key())
    with locked(authority.folder):
        entries = read(authority.folder)
        if any(entry.key_id == key_id and entry.revoked_at for entry in entries):
            raise CAError(f"the CSR's key {key_id} was revoked: it is never certified again (make a new key at the "
                          f"district: delete its bridge key, then `hub bridge-csr --district {district}`)")
        certificate = ca.issue_bridge(authority, csr, district, now)
        entries.append(BridgeCertificate(
            format(certificate.serial_number, "x"), district, key_id,
            certificate.not_valid_before_utc.isoformat(), certificate.not_valid_after_utc.isoformat()))
        write(authority.folder, entries)
    return certificate


def revoke(authority: ca.Authority, district: str, now: datetime) -> list[BridgeCertificate]:
    """Revoke every certificate issued to the district's bridge that is not revoked yet; return those (none when all
    were). Raise CAError when none was ever issued to it here (a mistyped district)."""
    with locked(authority.folder):
        entries = read(authority.folder)
        if not any(entry.district == district for entry in entries):
            raise CAError(f"no bridge certificate of district {district!r} is on record in "
                          f"{authority.folder / RECORD} (`hub bridge-cert --district {district}` records each)")
        at = now.isoformat(timespec="seconds")
        revoked = [replace(entry, revoked_at=at) for entry in entries
                   if entry.district == district and entry.revoked_at is None]
        serials = {entry.serial for entry in revoked}
        write(authority.folder, [replace(e, revoked_at=at) if e.serial in serials else e for e in entries])
    return revoked


def crl(authority: ca.Authority, now: datetime) -> tuple[bytes, int]:
    """The PEM CRL of every bridge certificate revoked on record, and how many it lists."""
    revoked = [(int(entry.serial, 16), datetime.fromisoformat(entry.revoked_at))
               for entry in read(authority.folder) if entry.revoked_at]
    return ca.crl(authority, revoked, now), len(revoked)

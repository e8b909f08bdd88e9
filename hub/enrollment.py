"""Enrolling, re-keying and revoking a kiosk: the store, the certificate, and the broker's ACL and CRL, in that order.

Each step can be run again: a second `hub enroll` with the same CSR issues a new
certificate for the same key; a second `hub revoke` revokes nothing more and
rewrites the same files. The broker files are written last, from the store, so
an interrupted command leaves them as they were and the next one brings them
up to date.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import wire
from wire import signature

from . import broker_files, ca
from .store import KioskKey, Store

RE_KEYED = "re-keyed"
"""The revocation reason `hub enroll` records for the keys a new one replaced."""


@dataclass(frozen=True)
class Enrolled:
    """What `hub enroll` did for one kiosk."""

    kiosk: str
    site: str
    key_id: str
    serial: str
    not_after: str
    certificate: str
    re_keyed: bool
    revoked: list[str]
    files: broker_files.Written


@dataclass(frozen=True)
class Revoked:
    """What `hub revoke` did: the key ids it revoked (empty when they already were) and the files it wrote."""

    kiosk: str
    revoked: list[str]
    files: broker_files.Written


def iso(moment: datetime) -> str:
    """A time as the store keeps it: ISO 8601 UTC with milliseconds."""
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def check_kiosk(kiosk: str) -> str:
    """The kiosk id when it can be enrolled; ValueError for a bad one or one reserved for the hub."""
    wire.check_kiosk_id(kiosk)
    if kiosk in broker_files.RESERVED_IDS:
        raise ValueError(f"kiosk id {kiosk!r} is reserved: it is the hub's own name at the broker")
    return kiosk


def enroll(store: Store, authority: ca.Authority, kiosk: str, site: str, csr_pem: bytes, broker_dir: str | Path,
           now: datetime) -> Enrolled:
    """Certify the CSR's key for the kiosk, register both, revoke the kiosk's other keys, rewrite the broker files.

    Raise ValueError (CAError included) for a reserved or bad id, a bad CSR, or a key that is another
    kiosk's or was revoked (a revoked key never comes back: make a new one).
    """
    check_kiosk(kiosk)
    csr = ca.read_csr(csr_pem)
    key_id = signature.key_id(csr.public_key())
    keys = store.keys()
    known = keys.get(key_id)
    if known is not None and known.kiosk != kiosk:
        raise ValueError(f"this key ({key_id}) is kiosk {known.kiosk!r}'s: each kiosk makes its own")
    if known is not None and known.revoked_at is not None:
        raise ValueError(f"this key ({key_id}) was revoked on {known.revoked_at}: make a new one (`kiosk identity new --force`)")
    certificate = ca.issue(authority, csr, kiosk, now)
    others = [k.key_id for k in keys.values() if k.kiosk == kiosk and k.revoked_at is None and k.key_id != key_id]
    at = iso(now)
    store.enroll(kiosk, site, None, at)
    record = KioskKey(key_id, kiosk, signature.public_der(csr.public_key()), at, certificate=ca.pem(certificate).decode("ascii"),
                      serial=format(certificate.serial_number, "x"), not_after=iso(certificate.not_valid_after_utc))
    store.add_key(record)
    revoked = store.revoke_keys(kiosk, at, RE_KEYED, keep=key_id)
    files = broker_files.write(store, broker_dir, authority, now)
    return Enrolled(kiosk, site, key_id, record.serial, record.not_after, record.certificate, bool(others), revoked, files)


def revoke(store: Store, authority: ca.Authority, kiosk: str, reason: str, broker_dir: str | Path, now: datetime) -> Revoked:
    """Revoke every key of an enrolled kiosk and rewrite the broker files; raise ValueError for a kiosk never enrolled."""
    if kiosk not in store.enrolled():
        raise ValueError(f"kiosk {kiosk!r} is not enrolled here")
    if not reason.strip():
        raise ValueError("say why (--reason), for the record")
    revoked = store.revoke_keys(kiosk, iso(now), reason.strip())
    files = broker_files.write(store, broker_dir, authority, now)
    return Revoked(kiosk, revoked, files)

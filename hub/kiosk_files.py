"""The file a district sends its province so the province knows its kiosks: `hub kiosks export` and `hub kiosks import`.

Kiosks are enrolled at their district (`hub enroll`, the district's CA). The
province merges their events only once it knows them: their ids, sites and
public keys (to verify signatures), each key's certificate and whether it was
revoked. The file holds exactly that, as JSON, and no personal data (a
revocation's reason is free text, so it stays at the district). Importing is
idempotent and all or nothing; re-run it after each enrollment or revocation at
the district: an event of a kiosk the province does not know is quarantined
(``not_enrolled``) and not acknowledged, so it waits in the kiosk's outbox.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

import wire
from wire import signature

from .errors import HubError
from .store import KioskKey, Store

FORMAT = "hub-kiosks"
VERSION = 1


class KioskFileError(HubError, ValueError):
    """The kiosks file cannot be read, or something in it is wrong (the message says where)."""


@dataclass(frozen=True)
class ImportedKiosk:
    """One kiosk of a district's file: its site and every key it had."""

    kiosk: str
    site: str
    keys: tuple[KioskKey, ...]


def export(store: Store, at: str) -> dict[str, Any]:
    """Every kiosk enrolled in ``store`` with its keys (valid and revoked), as the file's JSON object."""
    sites, keys = store.enrolled(), store.keys()
    return {"format": FORMAT, "version": VERSION, "exported_at": at, "kiosks": [
        {"kiosk": kiosk, "site": site, "keys": [key_entry(key) for key in sorted(keys.values(), key=lambda k: k.key_id)
                                                if key.kiosk == kiosk]}
        for kiosk, site in sorted(sites.items())]}


def key_entry(key: KioskKey) -> dict[str, Any]:
    return {"key_id": key.key_id, "public_key": base64.b64encode(key.public_key).decode("ascii"), "added_at": key.added_at,
            "revoked_at": key.revoked_at, "certificate": key.certificate, "serial": key.serial, "not_after": key.not_after}


def parse(text: bytes | str) -> list[ImportedKiosk]:
    """The kiosks of a file `export` wrote; raise KioskFileError naming what is wrong (a key whose id is not its
    public key's is refused: the file was changed)."""
    try:
        data = json.loads(text)
    except (ValueError, UnicodeDecodeError):
        raise KioskFileError("not a kiosks file: not JSON") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT or data.get("version") != VERSION:
        raise KioskFileError(f"not a kiosks file of version {VERSION} (`hub kiosks export` writes one)")
    kiosks = data.get("kiosks")
    if not isinstance(kiosks, list):
        raise KioskFileError("kiosks: expected a list")
    return [parse_kiosk(n, entry) for n, entry in enumerate(kiosks)]


def parse_kiosk(n: int, entry: Any) -> ImportedKiosk:
    try:
        kiosk = wire.check_kiosk_id(entry["kiosk"])
        keys = tuple(parse_key(kiosk, key) for key in entry["keys"])
        site = entry["site"]
        if not isinstance(site, str):
            raise TypeError("site")
    except (KeyError, TypeError, ValueError) as exc:
        raise KioskFileError(f"kiosks[{n}]: {exc}") from None
    return ImportedKiosk(kiosk, site, keys)


def parse_key(kiosk: str, entry: dict[str, Any]) -> KioskKey:
    """One key of the file, its id checked against its public key."""
    try:
        der = base64.b64decode(entry["public_key"], validate=True)
    except binascii.Error:
        raise ValueError(f"key {entry.get('key_id')!r}: public_key is not base64") from None
    if signature.key_id(signature.load_public_der(der)) != entry["key_id"]:
        raise ValueError(f"key {entry['key_id']!r} is not the id of its public key")
    return KioskKey(entry["key_id"], kiosk, der, entry["added_at"], entry["revoked_at"], entry["certificate"],
                    entry["serial"], entry["not_after"])


def import_file(store: Store, kiosks: list[ImportedKiosk], district: str, at: str) -> dict[str, int]:
    """Enroll the file's kiosks for ``district`` (at ``at``, unless enrolled before) with their keys, in one
    transaction; return the counts. Raise ValueError when a key is another kiosk's here."""
    wire.check_district(district)
    store.import_kiosks(kiosks, district, at)
    keys = [key for kiosk in kiosks for key in kiosk.keys]
    return {"kiosks": len(kiosks), "keys": len(keys), "revoked_keys": sum(key.revoked_at is not None for key in keys)}

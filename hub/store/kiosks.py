"""The enrolled kiosks and their public keys: the SQL both stores run (SQLite's spelling; on PostgreSQL through
postgres/dialect.py), on a connection inside the caller's transaction.

A kiosk is enrolled at its district hub (`hub enroll`). A province hub learns
it from the district's file (`hub kiosks import`, hub/kiosk_files.py), which
also says which district the kiosk belongs to: the ``district`` column, NULL
for a kiosk enrolled here directly.
"""

from __future__ import annotations

import logging
from typing import Any

import wire

from . import KioskKey

logger = logging.getLogger(__name__)

KEY_COLUMNS = "key_id, kiosk, public_key, added_at, revoked_at, certificate, serial, not_after"
"""kiosk_keys' columns in KioskKey's order."""


def enroll(conn: Any, kiosk: str, site: str, password_hash: str | None, at: str, district: str | None = None) -> None:
    """Register a kiosk, or give an enrolled one a new site, password and district (the first enrollment date kept);
    raise ValueError for a bad kiosk id."""
    wire.check_kiosk_id(kiosk)
    conn.execute(
        "INSERT INTO kiosks (kiosk, site, password_hash, enrolled_at, district) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT (kiosk) DO UPDATE SET site = excluded.site, password_hash = excluded.password_hash, "
        "enrolled_at = coalesce(kiosks.enrolled_at, excluded.enrolled_at), district = excluded.district",
        (kiosk, site, password_hash, at, district))


def enrolled(conn: Any) -> dict[str, str]:
    """Every enrolled kiosk id and its site."""
    return dict(conn.execute("SELECT kiosk, site FROM kiosks WHERE enrolled_at IS NOT NULL ORDER BY kiosk").fetchall())


def districts(conn: Any) -> dict[str, str]:
    """Every enrolled kiosk that belongs to a district (imported with `hub kiosks import`) and that district."""
    return dict(conn.execute("SELECT kiosk, district FROM kiosks WHERE enrolled_at IS NOT NULL AND district IS NOT NULL "
                             "ORDER BY kiosk").fetchall())


IN_DISTRICT = " AND {column} IN (SELECT kiosk FROM kiosks WHERE district = ?)"
"""A district's rows of a table keyed by kiosk: the district's kiosks on kiosks_by_district (district, kiosk), then
the table's own index on its day and kiosk (migration 20 says which serves which read)."""


def in_district(column: str, district: str | None) -> tuple[str, tuple[str, ...]]:
    """The SQL to append to a WHERE clause that keeps the rows whose kiosk (``column``) belongs to ``district``, with
    its parameters; none for ``district`` None (every row: a district hub, or a province's whole)."""
    if district is None:
        return "", ()
    return IN_DISTRICT.format(column=column), (district,)


def district_names(conn: Any) -> list[str]:
    """The districts of the enrolled kiosks, by name (none at a district hub)."""
    return [name for (name,) in conn.execute(
        "SELECT DISTINCT district FROM kiosks WHERE district IS NOT NULL AND enrolled_at IS NOT NULL ORDER BY district")]


def add_key(conn: Any, key: KioskKey) -> None:
    """Register a kiosk's public key (see hub.store.Store.add_key)."""
    if conn.execute("SELECT 1 FROM kiosks WHERE kiosk = ? AND enrolled_at IS NOT NULL", (key.kiosk,)).fetchone() is None:
        raise ValueError(f"kiosk {key.kiosk!r} is not enrolled")
    owner = conn.execute("SELECT kiosk FROM kiosk_keys WHERE key_id = ?", (key.key_id,)).fetchone()
    if owner is not None and owner[0] != key.kiosk:
        raise ValueError(f"key {key.key_id} is already registered to kiosk {owner[0]!r}")
    conn.execute(
        "INSERT INTO kiosk_keys (key_id, kiosk, public_key, certificate, serial, not_after, added_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (key_id) DO UPDATE SET certificate = excluded.certificate, "
        "serial = excluded.serial, not_after = excluded.not_after",
        (key.key_id, key.kiosk, key.public_key, key.certificate, key.serial, key.not_after, key.added_at))


def import_kiosk(conn: Any, kiosk: Any, district: str, at: str) -> None:
    """Enroll one kiosk of a district's file (hub/kiosk_files.py ImportedKiosk) for ``district`` with its keys: a key
    revoked at the district is revoked here from the same time, and a key revoked here never comes back."""
    enroll(conn, kiosk.kiosk, kiosk.site, None, at, district)
    for key in kiosk.keys:
        add_key(conn, key)
        if key.revoked_at is not None:
            conn.execute("UPDATE kiosk_keys SET revoked_at = ?, revoke_reason = ? WHERE key_id = ? AND revoked_at IS NULL",
                         (key.revoked_at, f"revoked at district {district}", key.key_id))


def revoke_keys(conn: Any, kiosk: str, at: str, reason: str, keep: str | None = None) -> list[str]:
    """Revoke every valid key of the kiosk but ``keep``; return the revoked key ids."""
    ids = [key_id for (key_id,) in conn.execute(
        "SELECT key_id FROM kiosk_keys WHERE kiosk = ? AND revoked_at IS NULL AND key_id IS NOT ? ORDER BY key_id",
        (kiosk, keep)).fetchall()]
    if ids:
        conn.executemany("UPDATE kiosk_keys SET revoked_at = ?, revoke_reason = ? WHERE key_id = ?",
                         [(at, reason, key_id) for key_id in ids])
    return ids


def keys(conn: Any) -> dict[str, KioskKey]:
    """Every registered key, valid or revoked, by key id."""
    rows = conn.execute(f"SELECT {KEY_COLUMNS} FROM kiosk_keys").fetchall()
    return {row[0]: KioskKey(row[0], row[1], bytes(row[2]), *row[3:]) for row in rows}

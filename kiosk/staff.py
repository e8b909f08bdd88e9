"""Site staff who may sign in to the staff screens: names, roles and scrypt-hashed PINs."""

from __future__ import annotations

import functools
import hashlib
import hmac
import logging
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime

from wire import limits

from .errors import KioskError
from .queue.store import Store
from .sessions import end_sessions_of

logger = logging.getLogger(__name__)

ROLES = ("supervisor", "vaccinator")
PIN_LENGTHS = range(4, 9)
NAME_MAX = limits.STAFF_NAME_MAX
"""The name goes in every event the member records (`by.name`): the wire contract's limit."""
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1  # about 16 MiB and a tenth of a second on a Pi 4
SCRYPT_MAXMEM = 64 * 2**20
HASH_BYTES = 32


class StaffError(KioskError, ValueError):
    """A staff change was refused: bad name, role or PIN, unknown or duplicate member."""


@dataclass(frozen=True)
class Staff:
    """Someone who may act on the staff screens. ``id`` is None for the API token's pseudo member."""

    id: int | None
    name: str
    role: str
    active: bool = True

    @property
    def is_token(self) -> bool:
        """True for requests authenticated by the API bearer token rather than a person."""
        return self.id is None

    @property
    def actor(self) -> str:
        """Who did it, as an audit record says it: the member's name, or "api token"."""
        return "api token" if self.is_token else self.name


API_CLIENT = Staff(id=None, name="api", role="supervisor")
"""The pseudo member a valid ``Authorization: Bearer`` request acts as: the token is as strong as a supervisor."""


def add_staff(store: Store, name: str, role: str, pin: str, now: datetime) -> Staff:
    """Add an active member; return them. Raises StaffError for a bad or taken name, role or PIN."""
    name = check_name(name)
    if role not in ROLES:
        raise StaffError(f"unknown role {role!r}; roles: {', '.join(ROLES)}")
    pin_hash = hash_pin(check_pin(pin))
    with store.write() as db:
        if find_row(db, name) is not None:
            raise StaffError(f"a staff member named {name!r} already exists")
        row = {"name": name, "role": role, "pin_hash": pin_hash, "active": 1, "created_at": now.isoformat(timespec="seconds")}
        staff_id = db["staff"].insert(row).last_pk
    logger.info("staff %d added as %s", staff_id, role)
    return Staff(staff_id, name, role, True)


def verify_pin(store: Store, staff_id: int, pin: str) -> Staff | None:
    """Return the active member whose PIN this is, else None (unknown, disabled or wrong PIN).

    Takes the same time whether or not the member exists, so timing does not tell.
    """
    row = find_by_id(store.db, staff_id)
    found = to_staff(row) if row is not None else None
    stored = row["pin_hash"] if row is not None else dummy_hash()
    matches = pin_matches(pin, stored)
    if found is None or not found.active or not matches:
        return None
    return found


def get_staff(store: Store, staff_id: int) -> Staff | None:
    """The member with this id, active or not; None when there is none."""
    row = find_by_id(store.db, staff_id)
    return to_staff(row) if row is not None else None


def list_staff(store: Store, active_only: bool = True) -> list[Staff]:
    """Members ordered by name; only the active ones unless ``active_only`` is False."""
    rows = store.db["staff"].rows_where("active = 1" if active_only else None, order_by="name collate nocase, id")
    return [to_staff(row) for row in rows]


def set_active(store: Store, name: str, active: bool) -> Staff:
    """Enable or disable a member by name (disabling ends their sessions); return them. Raises StaffError for an unknown name."""
    with store.write() as db:
        row = require_row(db, name)
        db["staff"].update(row["id"], {"active": int(active)})
        ended = 0 if active else end_sessions_of(db, row["id"])
    logger.info("staff %d %s%s", row["id"], "enabled" if active else "disabled", f"; {ended} session(s) ended" if ended else "")
    return Staff(row["id"], row["name"], row["role"], active)


def set_pin(store: Store, name: str, pin: str) -> Staff:
    """Give a member a new PIN, ending their sessions; return them. Raises StaffError for an unknown name or a bad PIN."""
    pin_hash = hash_pin(check_pin(pin))
    with store.write() as db:
        row = require_row(db, name)
        db["staff"].update(row["id"], {"pin_hash": pin_hash})
        ended = end_sessions_of(db, row["id"])
    logger.info("staff %d has a new PIN%s", row["id"], f"; {ended} session(s) ended" if ended else "")
    return to_staff(row)


def check_name(name: str) -> str:
    """The name as stored (NFC, trimmed); raises StaffError when it is empty, too long or has control characters."""
    name = unicodedata.normalize("NFC", name).strip()
    if not name:
        raise StaffError("the name is empty")
    if len(name) > NAME_MAX:
        raise StaffError(f"the name is longer than {NAME_MAX} characters")
    if any(unicodedata.category(c).startswith("C") for c in name):
        raise StaffError("the name contains control characters")
    return name


def check_pin(pin: str) -> str:
    """Return the PIN when it is 4 to 8 ASCII digits and not easily guessed; else raise StaffError."""
    if not (pin.isascii() and pin.isdigit()) or len(pin) not in PIN_LENGTHS:
        raise StaffError(f"a PIN is {PIN_LENGTHS.start} to {PIN_LENGTHS.stop - 1} digits (0-9), nothing else")
    if weak_pin(pin):
        raise StaffError("this PIN is too easy to guess (a repeated digit or pair, or a run like 1234 or 9876): choose another")
    return pin


def weak_pin(pin: str) -> bool:
    """True for a repeated digit or pair (1111, 1212) or a run up or down (1234, 7890, 9876)."""
    if pin == pin[:1] * len(pin) or pin == pin[:2] * (len(pin) // 2) + pin[:len(pin) % 2]:
        return True
    steps = {(int(b) - int(a)) % 10 for a, b in zip(pin, pin[1:])}
    return steps == {1} or steps == {9}


def hash_pin(pin: str) -> str:
    """The PIN's scrypt hash as ``scrypt$n$r$p$salt_hex$hash_hex`` with a fresh 16-byte salt."""
    salt = secrets.token_bytes(16)
    digest = scrypt(pin, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${salt.hex()}${digest.hex()}"


def pin_matches(pin: str, stored: str) -> bool:
    """True when ``pin`` hashes to ``stored``; compared in constant time. A malformed hash never matches."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        expected = bytes.fromhex(digest)
        actual = scrypt(pin, bytes.fromhex(salt), int(n), int(r), int(p), len(expected))
    except ValueError:
        return False
    return scheme == "scrypt" and hmac.compare_digest(actual, expected)


def scrypt(pin: str, salt: bytes, n: int, r: int, p: int, length: int = HASH_BYTES) -> bytes:
    return hashlib.scrypt(pin.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=SCRYPT_MAXMEM, dklen=length)


@functools.cache
def dummy_hash() -> str:
    """Checked against when the member does not exist, so an unknown id costs as much as a wrong PIN."""
    return hash_pin(secrets.token_hex(4))


def find_by_id(db, staff_id: int) -> dict | None:
    rows = list(db["staff"].rows_where("id = ?", [staff_id]))
    return rows[0] if rows else None


def find_row(db, name: str) -> dict | None:
    rows = list(db["staff"].rows_where("name = ?", [name]))
    return rows[0] if rows else None


def require_row(db, name: str) -> dict:
    row = find_row(db, check_name(name))
    if row is None:
        raise StaffError(f"no staff member is named {name!r}; `kiosk staff list` shows who there is")
    return row


def to_staff(row) -> Staff:
    return Staff(row["id"], row["name"], row["role"], bool(row["active"]))

"""Site staff who may sign in to the staff screens: the staff table of names, roles and PIN hashes (kiosk/staff_pins.py)."""

from __future__ import annotations

import logging
import unicodedata
from dataclasses import dataclass
from datetime import datetime

from wire import limits

from ..errors import StaffError
from ..staff_pins import check_pin, dummy_hash, hash_pin, pin_matches
from .sessions import end_sessions_of
from .store import Store

logger = logging.getLogger(__name__)

ROLES = ("supervisor", "vaccinator")
NAME_MAX = limits.STAFF_NAME_MAX
"""The name goes in every event the member records (`by.name`): the wire contract's limit."""


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

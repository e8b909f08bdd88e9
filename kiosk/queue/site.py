"""What every use case needs: the store, the kiosk's id, its clocks, the catalogue and the site's settings."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Protocol

import sqlite_utils

from vaccines.catalogue import Catalogue, load_catalogue

from ..config import QueueSettings
from .clock import Clock, Instant
from .errors import ActionRefused, StaleAction, UnknownTicket
from .events import record
from .store import Store


class Actor(Protocol):
    """Who took an action: a signed-in staff member, or the API token (id None)."""

    id: int | None
    name: str


@dataclass
class Site:
    """The use cases' collaborators; one per process."""

    store: Store
    kiosk_id: str
    settings: QueueSettings = field(default_factory=QueueSettings)
    clock: Clock = field(default_factory=Clock)
    catalogue: Catalogue | None = None

    def __post_init__(self):
        if self.catalogue is None:
            self.catalogue = load_catalogue(self.settings.catalogue or None)

    @property
    def observation_s(self) -> float:
        return self.settings.observation_minutes * 60.0

    def emit(self, db, event_type: str, at: Instant, payload: dict, *, ticket: dict | None = None, by: Actor | None = None):
        """Record an event about ticket (its day, number and person added to payload) by actor."""
        if ticket is not None:
            payload = {"ticket": {"day": ticket["day"], "number": ticket["number"]}, "id_number": ticket["id_number"], **payload}
        if by is not None:
            payload = {**payload, "by": {"staff_id": by.id, "name": by.name}}
        return record(
            db, self.kiosk_id, event_type, at, payload,
            ticket_id=ticket["id"] if ticket else None, staff_id=by.id if by else None,
        )


def load_ticket(db: sqlite_utils.Database, ticket_id: int, expected_state: str | None = None) -> dict[str, Any]:
    """Return the ticket row; raise UnknownTicket, or StaleAction when it is no longer in expected_state."""
    try:
        ticket = db["tickets"].get(ticket_id)
    except sqlite_utils.db.NotFoundError:
        raise UnknownTicket(f"there is no ticket with id {ticket_id}") from None
    if expected_state is not None and ticket["state"] != expected_state:
        raise StaleAction(
            f"ticket {ticket['number']} changed meanwhile: it is now '{ticket['state']}', not '{expected_state}'; nothing was done"
        )
    return ticket


def row_or_refuse(db: sqlite_utils.Database, table: str, row_id: int, code: str, what: str) -> dict[str, Any]:
    """Return the row of table with this id; raise ActionRefused(code) naming ``what`` when there is none."""
    rows = list(db[table].rows_where("id = ?", [row_id]))
    if not rows:
        raise ActionRefused(code, f"there is no {what} with id {row_id}")
    return rows[0]


def person_of(db: sqlite_utils.Database, id_number: str) -> dict[str, Any]:
    """Return the person row with extra decoded."""
    person = db["people"].get(id_number)
    return {**person, "extra": json.loads(person["extra"] or "[]")}

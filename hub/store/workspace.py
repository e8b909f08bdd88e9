"""The district workspace's half of the Store protocol, written once for both stores: accounts, sessions, lockouts and
the audit log, people and their records, corrections, the conflict queue, the kiosks page and the live page.

Each method opens one transaction and calls the query modules (staff.py, people.py, corrections.py, conflicts.py,
fleet.py, live.py), whose SQL both engines read (PostgreSQL through postgres/dialect.py). A store mixing this in
gives the transactions and the few steps where the engines differ:

- ``reading()``: a transaction that only reads, ``writing()``: one that writes; each yields a connection with
  sqlite3's face;
- ``lock_people(conn, numbers)`` and ``lock_attempts(conn, keys)``: what makes a read-then-write step atomic (SQLite:
  nothing, its write transactions are BEGIN IMMEDIATE, one at a time; PostgreSQL: advisory locks);
- ``derive_again(conn, numbers)``: the merge's derivation of these people, the engine's own;
- ``NAME_MATCH`` and ``MARKER``: the name search's pattern (SQLite's GLOB on its name index) and the live page's
  marker query (SQLite's rowid), where the engines spell them differently.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import date, datetime
from typing import Any, Sequence

from ..corrections import Correction, check_dates
from ..district_time import local_day
from ..people import Match, PersonRecord, assemble, parse_search
from . import Attempt, AuditEntry, LockRule, SessionLimits, StaffMember
from . import conflicts as conflict_reads
from . import corrections, fleet, live, people, staff
from . import kiosks as kiosk_reads

logger = logging.getLogger(__name__)


class Workspace:
    """The workspace's methods of the Store protocol (see hub.store.Store); the store gives the hooks above."""

    catalogue: Any
    NAME_MATCH = people.GLOB
    MARKER = live.MARKER

    reading: Callable[[], AbstractContextManager]
    writing: Callable[[], AbstractContextManager]
    derive_again: Callable[[Any, set[str]], None]

    def lock_people(self, conn: Any, numbers: Sequence[str]) -> None:
        """Hold these people until the transaction ends (another writer deriving or correcting them waits)."""

    def lock_attempts(self, conn: Any, keys: Sequence[str]) -> None:
        """Hold these lockout keys until the transaction ends (another sign-in attempt on them waits)."""

    # Accounts, sessions, lockouts and the audit log (hub/store/staff.py)

    def add_staff(self, name: str, role: str, password_hash: str, at: datetime) -> StaffMember:
        with self.writing() as conn:
            return staff.add_staff(conn, name, role, password_hash, at)

    def staff_named(self, name: str) -> StaffMember | None:
        with self.reading() as conn:
            return staff.find_staff(conn, name)

    def list_staff(self) -> list[StaffMember]:
        with self.reading() as conn:
            return staff.list_staff(conn)

    def disable_staff(self, name: str, at: datetime) -> StaffMember:
        with self.writing() as conn:
            return staff.disable_staff(conn, name, at)

    def set_staff_password(self, staff_id: int, password_hash: str, at: datetime, *, keep: str | None = None) -> None:
        with self.writing() as conn:
            staff.set_password(conn, staff_id, password_hash, at, keep)

    def reserve_attempt(self, rules: Sequence[LockRule], at: datetime) -> Attempt:
        with self.writing() as conn:
            self.lock_attempts(conn, [rule.key for rule in rules])
            return staff.reserve_attempt(conn, rules, at)

    def clear_failures(self, keys: Sequence[str]) -> None:
        with self.writing() as conn:
            staff.clear_failures(conn, keys)

    def open_session(self, staff_id: int, limits: SessionLimits, at: datetime) -> str:
        with self.writing() as conn:
            return staff.open_session(conn, staff_id, limits, at)

    def session_holder(self, session_id: str, limits: SessionLimits, at: datetime) -> StaffMember | None:
        with self.writing() as conn:
            return staff.session_holder(conn, session_id, limits, at)

    def end_session(self, session_id: str, at: datetime, why: str = "signed_out") -> None:
        with self.writing() as conn:
            staff.end_session(conn, session_id, at, why)

    def audit(self, staff_id: int | None, action: str, record: str | None, address: str | None, at: datetime) -> None:
        with self.writing() as conn:
            staff.write_audit(conn, staff_id, action, record, address, at)

    def audit_log(self, *, limit: int = 100, before: int | None = None) -> list[AuditEntry]:
        with self.reading() as conn:
            return staff.audit_log(conn, limit, before)

    def grant_right(self, name: str, right: str, at: datetime) -> StaffMember:
        with self.writing() as conn:
            return staff.set_right(conn, name, right, True)

    def revoke_right(self, name: str, right: str, at: datetime) -> StaffMember:
        with self.writing() as conn:
            return staff.set_right(conn, name, right, False)

    def ping(self) -> None:
        """Raise StoreError when the database cannot be read."""
        with self.reading() as conn:
            conn.execute("SELECT 1 FROM staff LIMIT 1").fetchall()

    # A person's record (hub/store/people.py)

    def find_people(self, *, number: str = "", name: str = "", birth_year: str = "") -> list[Match]:
        """Find by ID number, or by folded name and year of birth (both on indexes); refs are made only when missing."""
        search = parse_search(number, name, birth_year)
        with self.reading() as conn:
            numbers = people.search_numbers(conn, search, self.NAME_MATCH)
            refs = people.refs_of(conn, numbers)
            if len(refs) == len(numbers):
                return people.matches(conn, numbers, refs)
        with self.writing() as conn:
            return people.matches(conn, numbers, people.make_refs(conn, numbers))

    def person_record(self, ref: str) -> PersonRecord | None:
        with self.reading() as conn:
            number = people.number_of(conn, ref)
            raw = people.read_record(conn, number) if number else None
        return assemble(ref, raw) if raw else None

    def conflict_ref(self, conflict_id: str) -> str | None:
        with self.reading() as conn:
            number = people.conflict_person(conn, conflict_id)
        return self.refs_for([number])[number] if number else None

    def people_briefs(self, numbers: list[str]) -> dict[str, dict[str, Any]]:
        refs = self.refs_for(numbers)
        with self.reading() as conn:
            return people.briefs(conn, refs)

    def refs_for(self, numbers: list[str]) -> dict[str, str]:
        """Each ID number's opaque ref, read; made (one short write) only for those that have none yet."""
        unique = sorted(set(numbers))
        with self.reading() as conn:
            refs = people.refs_of(conn, unique)
        if len(refs) < len(unique):
            with self.writing() as conn:
                refs = people.make_refs(conn, unique)
        return refs

    def with_refs(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The rows, each with its person's opaque ``ref`` (made for those who have none yet: refs_for)."""
        refs = self.refs_for([row["id_number"] for row in rows if row.get("id_number")])
        return [{**row, "ref": refs.get(row.get("id_number"))} for row in rows]

    # The district's corrections (hub/store/corrections.py)

    def correct(self, correction: Correction, *, staff_id: int | None, by: str, at: str) -> str:
        """Check the correction against the records, keep it as a hub event and derive its person again, in one
        transaction holding the person (two staff members settling one conflict at once: one of them is refused)."""
        check_dates(correction, local_day(datetime.fromisoformat(at)))
        with self.writing() as conn:
            self.lock_people(conn, [correction.id_number])
            event_id = corrections.keep(conn, correction, staff_id, by, at, self.catalogue)
            self.derive_again(conn, {correction.id_number})
        logger.info("correction %s (%s) by staff %s", event_id, correction.type, staff_id)
        return event_id

    def hub_events(self, id_number: str) -> list[dict[str, Any]]:
        with self.reading() as conn:
            return corrections.events_of(conn, id_number)

    # The conflict queue and the police lists (hub/store/conflicts.py)

    def conflict_counts(self, states: tuple[str, ...] = ("open", "police", "resolved")) -> dict[str, dict[str, Any]]:
        with self.reading() as conn:
            return conflict_reads.counts(conn, states)

    def conflict_queue(self, kind: str, *, after: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
        with self.reading() as conn:
            return conflict_reads.queue(conn, kind, after, limit)

    def conflict(self, conflict_id: str) -> dict[str, Any] | None:
        with self.reading() as conn:
            return conflict_reads.conflict(conn, conflict_id)

    def police_cases(self) -> list[dict[str, Any]]:
        with self.reading() as conn:
            return conflict_reads.police_cases(conn)

    # The kiosks page and the live front page (hub/store/fleet.py, hub/store/live.py)

    def fleet_kiosks(self, district: str | None = None) -> list[dict[str, Any]]:
        with self.reading() as conn:
            return fleet.kiosks(conn, district)

    def doses_by_hour(self, days: Sequence[date], district: str | None = None) -> list[dict[str, Any]]:
        with self.reading() as conn:
            return live.doses_by_hour(conn, days, district)

    def doses_by_day(self, first: date, last: date, district: str | None = None) -> list[dict[str, Any]]:
        with self.reading() as conn:
            return live.doses_by_day(conn, first, last, district)

    def severe_reactions(self, days: Sequence[date], district: str | None = None) -> dict[str, Any]:
        with self.reading() as conn:
            return live.severe_reactions(conn, days, district)

    def district_names(self) -> list[str]:
        with self.reading() as conn:
            return kiosk_reads.district_names(conn)

    def live_marker(self) -> tuple:
        with self.reading() as conn:
            return live.marker(conn, self.MARKER)

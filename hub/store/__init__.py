"""The hub's storage: the Store protocol, the seam between the hub and its database, and the values that cross it.

All of the hub's SQL is in this package: sqlite.py (the store `hub` opens: one
SQLite file), commit.py (what one batch writes), migrations.py (the schema),
staff.py (the workspace's accounts, sessions, sign-in lockouts and audit log),
people.py (a person's search, refs and record), reports.py (the data staff's read-only listings) and coverage.py
(coverage against the roster, kept up to date by its refresh); workspace.py holds the workspace's methods once for
both stores. The rest of the hub speaks to a Store only. PostgreSQL is the province's store (issue 15): postgres/
beside sqlite.py, which runs this package's query modules through postgres/dialect.py (docs/province.md): that is why
the SQLite store is
written on raw sqlite3 (plain DB-API, its own BEGIN IMMEDIATE transactions),
not sqlite-utils, and why no module outside this package runs SQL.

`hub run`'s MQTT side (hub/subscriber.py) gathers the raw messages of a batch
for a few milliseconds; the merge worker (hub/worker.py) has hub/ingest.py sort
them into validated events, quarantined messages and kiosk statuses and hands
them to ``Store.commit`` as one Batch; only after that returns are the
acknowledgements it got back published and the MQTT messages acknowledged.
Nothing about MQTT is in here; nothing about SQL is outside it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol, Sequence

import wire
from staffweb.lockouts import Attempt, LockRule

from ..errors import StoreError
from ..liveness import MergeState

__all__ = [
    "Attempt", "AuditEntry", "Batch", "Committed", "KioskKey", "KioskStatus", "LockRule", "Quarantined", "SessionLimits",
    "StaffMember", "Store", "StoreError",
]


@dataclass(frozen=True)
class Quarantined:
    """A message the hub would not merge, kept with the reason for the data staff.

    ``kiosk`` is the kiosk the topic names, when it names one. ``body`` is the
    message as received (cut to wire.MAX_MESSAGE_BYTES); it can hold personal
    data, so it stays in the hub's database and never reaches a log.
    """

    topic: str
    kiosk: str | None
    reason: str
    detail: str
    body: bytes
    received_at: str
    seq: int | None = None
    """Set when the message verified as its kiosk's own event ``seq``: it is settled as refused (the watermark passes
    it and the acknowledgement names it), since sending the same signed text again cannot change the verdict."""
    digest: bytes | None = None
    """SHA-256 of the text the kiosk signed, with ``seq``."""

    @property
    def settles(self) -> bool:
        return self.seq is not None and self.digest is not None and self.kiosk is not None


@dataclass(frozen=True)
class KioskKey:
    """One public key a kiosk signs its events with (wire/signature.py); ``revoked_at`` None while it is valid."""

    key_id: str
    kiosk: str
    public_key: bytes
    """DER SubjectPublicKeyInfo."""
    added_at: str
    revoked_at: str | None = None
    certificate: str | None = None
    serial: str | None = None
    not_after: str | None = None


@dataclass(frozen=True)
class KioskStatus:
    """A kiosk's retained status message as received, for the fleet table."""

    kiosk: str
    message: dict[str, Any]
    received_at: str
    body: bytes = b""
    """The message as received, for the quarantine should merging it fail."""


@dataclass
class Batch:
    """Everything one commit writes: all of it or none of it."""

    events: list[wire.Event] = field(default_factory=list)
    quarantined: list[Quarantined] = field(default_factory=list)
    statuses: list[KioskStatus] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.events) + len(self.quarantined) + len(self.statuses)


@dataclass(frozen=True)
class Committed:
    """What a commit did: acknowledgements to publish (one per kiosk whose events were in the batch) and counts."""

    acks: dict[str, wire.Ack]
    merged: int
    duplicates: int
    quarantined: int


@dataclass(frozen=True)
class StaffMember:
    """A workspace account (`hub staff add`): its role says what it may see and do."""

    id: int
    name: str
    role: str
    """officer, data or admin (hub/passwords.py ROLES)."""
    password_hash: str
    created_at: str
    disabled_at: str | None = None
    rights: str = ""
    """Space-separated rights beyond the role, given with `hub staff grant` (see_people: an officer may see people)."""

    @property
    def active(self) -> bool:
        return self.disabled_at is None

    def has(self, right: str) -> bool:
        return right in self.rights.split()


@dataclass(frozen=True)
class SessionLimits:
    """How long a workspace session lasts: without a request, and in all."""

    idle_seconds: float
    lifetime_seconds: float


@dataclass(frozen=True)
class AuditEntry:
    """One line of the audit log: who did what to which record, when and from where."""

    id: int
    at: str
    staff_id: int | None
    """None: the command line on the hub machine."""
    staff_name: str | None
    action: str
    record: str | None
    """An opaque key of what was acted on (``staff:3``); never personal data."""
    address: str | None


class Store(Protocol):
    """The hub's storage. Every method is safe to call again after a crash; ``commit`` is one transaction."""

    catalogue: Any
    """The vaccine catalogue (vaccines.catalogue.Catalogue) the merge judges doses with; the workspace names products by it."""

    def commit(self, batch: Batch, received_at: str) -> Committed:
        """Merge the batch's events idempotently, keep its quarantined messages and statuses; return the acks.

        An event whose id was merged before with the same body counts as a
        duplicate and changes nothing; with a different body it is quarantined
        (``replayed_changed``). Events from kiosks that are not enrolled are
        the caller's to quarantine before they get here.

        Raises StoreError when the database fails (the same batch can commit
        later); any other exception (a value the database refuses, a merge
        rule that breaks on a message) means a message of the batch caused it.
        Either way nothing of the batch was kept.
        """

    def enrolled(self) -> dict[str, str]:
        """Map every enrolled kiosk id to its site."""

    def enroll(self, kiosk: str, site: str, password_hash: str | None, at: str, district: str | None = None) -> None:
        """Register a kiosk (or give an enrolled one a new site and password hash; None for a kiosk that signs in with
        its certificate) and the district it belongs to (a province's kiosks, `hub kiosks import`; None: enrolled
        here); raise ValueError for a bad kiosk id."""

    def districts(self) -> dict[str, str]:
        """Map every enrolled kiosk that belongs to a district (`hub kiosks import`) to that district."""

    def add_key(self, key: KioskKey) -> None:
        """Register a kiosk's public key (the kiosk must be enrolled); adding a key already registered to the same
        kiosk updates its certificate. Raise ValueError when the key id belongs to another kiosk."""

    def import_kiosks(self, imported: list, district: str, at: str) -> None:
        """Enroll a district's kiosks (hub/kiosk_files.py ImportedKiosk) for ``district`` with their keys and
        revocations, all in one transaction; idempotent. Raise ValueError when a key is another kiosk's here."""

    def revoke_keys(self, kiosk: str, at: str, reason: str, *, keep: str | None = None) -> list[str]:
        """Revoke every valid key of the kiosk but ``keep``; return the revoked key ids."""

    def keys(self) -> dict[str, KioskKey]:
        """Every registered key, valid or revoked, by key id."""

    def ack_for(self, kiosk: str, at: str) -> wire.Ack:
        """The current acknowledgement for one kiosk (watermark 0 for one not heard from)."""

    def stats(self) -> dict[str, Any]:
        """Counts for `hub stats`: events, doses, people, duplicates absorbed, quarantined, conflicts, and per kiosk
        watermark, highest, last seen, last status, boot id, backlog and clock skew; and whether `hub run` is merging
        (hub/liveness.py judge)."""

    def import_roster(self, parsed: Any, file_name: str, by: str, at: str) -> Any:
        """Import a checked roster file (hub/roster/files.py Parsed), all of it or nothing, in short transactions; return
        the counts (hub/store/roster.py RosterImported). Re-importing the same file adds and changes nothing. The
        coverage rows of the entries written are derived in the same transactions (hub/store/coverage.py refresh).
        Raise RosterImportBusy (nothing written) while another import into the database runs, RosterImportUnfinished
        when the database failed after the import was staged whole (it is finished later)."""

    def roster_rejections(self, file_name: str | None = None, per_file: int | None = None) -> list[dict[str, Any]]:
        """The rows the last import of each file (or of this file name) refused: row number, reason, valid ID number;
        at most ``per_file`` of each file when given."""

    def roster_imports(self, limit: int = 50) -> list[dict[str, Any]]:
        """The newest ``limit`` roster imports first: import_id, file_name, imported_by, imported_at, the counts
        (rows, added, changed, unchanged, rejected) and the state (staging, applying, done, abandoned)."""

    def correct(self, correction: Any, *, staff_id: int | None, by: str, at: str) -> str:
        """Keep a correction (hub/corrections.py) as a hub event and derive its person again, in one transaction; return
        the event's id. Raise CorrectionError (nothing written) when the records contradict it."""

    def hub_events(self, id_number: str) -> list[dict[str, Any]]:
        """One person's hub events in the order made: id, seq, type, at, staff_id, by (the name), payload (a dict)."""

    def unrostered(self, limit: int = 100, offset: int = 0) -> list[dict[str, Any]]:
        """People with a live dose whose ID number is on no roster, by ID number: ``limit`` after the first ``offset``
        (id_number, full_name, birth_date, sex, doses, last_dose_on)."""

    def note_merging(self, state: MergeState) -> None:
        """Record `hub run`'s merging state (hub/liveness.py) without waiting for the write lock: raise StoreError at
        once when the database is busy or cannot be written."""

    # The workspace's accounts, sessions, lockouts and audit log (hub/store/staff.py)

    def add_staff(self, name: str, role: str, password_hash: str, at: datetime) -> StaffMember:
        """Add an account; raise StaffError when the name (compared as hub.passwords.name_key) is taken."""

    def staff_named(self, name: str) -> StaffMember | None:
        """The account with this name (compared as hub.passwords.name_key), disabled or not; None when there is none."""

    def list_staff(self) -> list[StaffMember]:
        """Every account, by name."""

    def disable_staff(self, name: str, at: datetime) -> StaffMember:
        """Disable the account and end its sessions; raise StaffError when there is no such account."""

    def set_staff_password(self, staff_id: int, password_hash: str, at: datetime, *, keep: str | None = None) -> None:
        """Give the account a new password hash and end its sessions but ``keep`` (a session id)."""

    def reserve_attempt(self, rules: Sequence[LockRule], at: datetime) -> Attempt:
        """In one transaction: refuse the attempt while any key is locked, else count it as wrong for every key."""

    def clear_failures(self, keys: Sequence[str]) -> None:
        """A right password: these keys count from nothing again and their locks end."""

    def open_session(self, staff_id: int, limits: SessionLimits, at: datetime) -> str:
        """Start a session; return its random id (for the cookie; the database keeps only its hash)."""

    def session_holder(self, session_id: str, limits: SessionLimits, at: datetime) -> StaffMember | None:
        """The active member whose live session this is, noting the request; None when it is over (it ends here)."""

    def end_session(self, session_id: str, at: datetime, why: str = "signed_out") -> None:
        """End the session, whoever holds a copy of its cookie."""

    def audit(self, staff_id: int | None, action: str, record: str | None, address: str | None, at: datetime) -> None:
        """Write one line of the audit log."""

    def audit_log(self, *, limit: int = 100, before: int | None = None) -> list[AuditEntry]:
        """The audit log, newest first: at most ``limit`` lines with ids below ``before``."""

    def grant_right(self, name: str, right: str, at: datetime) -> StaffMember:
        """Give the account a right beyond its role (`hub staff grant`); raise StaffError when there is no such account."""

    def revoke_right(self, name: str, right: str, at: datetime) -> StaffMember:
        """Take the right away (`hub staff revoke`); raise StaffError when there is no such account."""

    # A person's record (hub/store/people.py, hub/people.py)

    def find_people(self, *, number: str = "", name: str = "", birth_year: str = "") -> list[Any]:
        """The people (merged or on the roster) with this ID number, or this full name (folded: accents, đ, case and
        spacing do not count) and year of birth: hub.people.Match values, each with its ref (made on first find), at
        most hub/store/people.py MAX_MATCHES. Raise SearchError when the search itself is wrong."""

    def person_record(self, ref: str) -> Any:
        """The record (hub.people.PersonRecord) of the person with this ref, or None when the ref is unknown."""

    def conflict_ref(self, conflict_id: str) -> str | None:
        """The ref of the person a conflict is about (made if need be), or None when there is no such conflict."""

    # Coverage against the roster (hub/store/coverage.py, hub/coverage.py)

    def coverage(self, as_of: date, commune: str | None = None, district: str | None = None) -> dict[str, Any]:
        """Per place (district and commune: the district a province's roster import gave, '' at a district's hub; only
        the district's and the commune's when given) and age band on ``as_of``: the roster count and, per dose level,
        how many reached it and the percentage; the totals of the places shown (a province's, or one district's). Read
        from the maintained counts, never a scan of the roster."""

    def coverage_communes(self, district: str | None = None) -> list[tuple[str, str]]:
        """Every place (district, commune) with people on the roster, of one district when given, by district and name."""

    def outreach(self, commune: str, as_of: date, limit: int | None = None, offset: int = 0,
                 district: str = "") -> tuple[int, list[dict[str, Any]]]:
        """The rostered people of the commune (of ``district`` at a province) due for a dose on ``as_of`` (never
        vaccinated, or due or overdue for the next), longest waiting first, with their roster entry (names: for the data
        staff only): the total and one page."""

    def rebuild_coverage(self) -> int:
        """Recompute the coverage tables from the roster and the doses; return the people on the roster."""

    def catch_up_coverage(self) -> int:
        """Refresh the people a roster import (or a rebuild) queued, in short transactions; return how many."""

    # The daily report (hub/store/daily.py; hub/daily.py issues it)

    def day_rows(self, day: date, district: str | None = None) -> Any:
        """Every dose given, outcome recorded and dose discarded on ``day`` (voided ones too, with the hub times they and
        their voids were merged, and their kiosk's district) and the enrolled kiosks' sites: hub.reports.daily.DayRows;
        with ``district``, the rows of that district's kiosks only."""

    def issue_daily_report(self, day: date, report: dict[str, Any], *, cut_at: str, issued_at: str, by: str, why: str,
                           note: str = "") -> int | None:
        """Keep a version of the day's report (why: cutoff or reissue); return its number, or None for a second cutoff
        version of a day (nothing kept)."""

    def daily_report_versions(self, day: date) -> list[dict[str, Any]]:
        """The versions issued for the day, the first first: day, version, issued_at, cut_at, issued_by, why."""

    def daily_report_version(self, day: date, version: int) -> dict[str, Any] | None:
        """One issued version with its report under ``report``; None when there is no such version."""

    def daily_report_days(self, limit: int = 14) -> list[dict[str, Any]]:
        """The newest days with an issued report: day, versions, last_issued_at."""

    def ping(self) -> None:
        """Raise StoreError when the database cannot be read (the workspace's health check)."""

    def close(self) -> None:
        """Close the connection."""

    def people_briefs(self, numbers: list[str]) -> dict[str, dict[str, Any]]:
        """For the people behind a list (a report's figure): by ID number, each one's ref (made if need be), merged name
        (else the roster's), birth date and sex. For pages of roles that may see people, audited by the caller."""

    # The conflict queue and the police lists (hub/store/conflicts.py)

    def conflict_counts(self, states: tuple[str, ...] = ("open", "police", "resolved")) -> dict[str, dict[str, Any]]:
        """{kind: {state: {"count", "oldest_at"}}} of the conflicts in these states (oldest_at: hub time, UTC)."""

    def conflict_queue(self, kind: str, *, after: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
        """The open conflicts of a kind, oldest first, after the conflict id ``after`` (None: from the start)."""

    def conflict(self, conflict_id: str) -> dict[str, Any] | None:
        """One conflict with its events, their kiosks' sites, the person, their roster entry and the hub events that
        referred or settled it; None when there is none."""

    def police_cases(self) -> list[dict[str, Any]]:
        """The identity cases awaiting the commune police, by the commune of the person's roster entry."""

    # Adverse reactions, deferrals, stock and wastage (hub/store/clinical.py, hub/clinical.py)

    def aefi_list(self, first: date, last: date, filters: dict[str, str], *, names: bool,
                  limit: int = 500) -> list[dict[str, Any]]:
        """The live adverse reactions of the days first..last (filters: site, severity, status, "none" for not
        followed up, district: a province's district), severe first: site, product, lot, dose time, acknowledgement,
        latest follow-up status; with ``names`` each person's ID number, name and opaque ref too."""

    def aefi(self, event_id: str, *, names: bool) -> dict[str, Any] | None:
        """One live adverse reaction and its follow-ups, oldest first; None when there is none."""

    def aefi_lots(self, first: date, last: date, district: str | None = None) -> list[dict[str, Any]]:
        """Per lot with reactions in the days first..last: reactions, severe ones, doses given from it those days, and
        whether it is a signal (hub/clinical.py lot_signal)."""

    def clinical_sites(self, district: str | None = None) -> list[str]:
        """The sites kiosks are enrolled for (those of ``district``, when given)."""

    def add_aefi_follow_up(self, aefi: str, status: str, note: str, *, staff_id: int | None, staff_name: str,
                           at: datetime) -> bool:
        """Append the district's follow-up of an adverse reaction; False when it is not a live one (nothing written)."""

    def deferrals(self, day: date, *, names: bool, district: str | None = None) -> dict[str, list[dict[str, Any]]]:
        """{"due": the deferrals whose return day is ``day``, "recorded": those recorded on it}, by site; with
        ``names`` each person's ID number, name and ref."""

    def refusal_counts(self, first: date, last: date, district: str | None = None) -> list[dict[str, Any]]:
        """Per site and day: deferred, refused, contraindicated, referred (live outcomes), newest day first."""

    def stock(self, first: date, last: date, district: str | None = None) -> list[dict[str, Any]]:
        """Per site, day and product of first..last: lots opened, vials opened, doses given and wasted, the wastage
        rate and each lot's figures (hub/clinical.py stock_rows)."""

    def lots_in_use(self, first: date, last: date, district: str | None = None) -> list[dict[str, Any]]:
        """The lots with a live event in the days first..last: site, product, lot, expiry, the last day used."""
    # Each read above and below that takes ``district`` keeps that district's kiosks' rows only (a province's
    # workspace, hub/web/province.py), filtered in SQL (hub/store/kiosks.py in_district).
    # The kiosks page and the live front page (hub/store/fleet.py, hub/store/live.py; helper "fleet")

    def district_names(self) -> list[str]:
        """The districts of the enrolled kiosks (`hub kiosks import`), by name: more than one makes the workspace a
        province's (hub/web/province.py); none at a district hub."""

    def fleet_kiosks(self, district: str | None = None) -> list[dict[str, Any]]:
        """Every enrolled kiosk (of ``district`` only, when given) by site: its district, its status columns, the
        backlog before the last status, watermark, highest, the gaps (wire.gaps_between) and missing count above the
        watermark, and clock_synced (the last status's, else the latest event's; None: unknown). Flags are
        hub/fleet.py's to judge."""

    def doses_by_hour(self, days: Sequence[date], district: str | None = None) -> list[dict[str, Any]]:
        """Live doses of each day per kiosk, site and hour of the kiosk's clock (day, kiosk, site, hour, count), read
        from the counts the merge keeps for those days only; with ``district``, its kiosks' only."""

    def doses_by_day(self, first: date, last: date, district: str | None = None) -> list[dict[str, Any]]:
        """Live doses per day and site from ``first`` to ``last`` (day, site, count); with ``district``, its kiosks'."""

    def severe_reactions(self, days: Sequence[date], district: str | None = None) -> dict[str, Any]:
        """The serious adverse reactions of ``days`` not voided (no names; with ``district``, at its kiosks only) and
        the count so far of each of their lots."""

    def live_marker(self) -> tuple:
        """A value that changes whenever anything is merged (the live page recomputes only then)."""
    # The national-platform export (hub/store/exports.py, hub/reports/export.py)

    def platform_rows(self, day: date, district: str | None = None) -> list[dict[str, Any]]:
        """Every dose given on ``day`` (at ``district``'s kiosks only, when given), voided ones too, with what the
        export writes of it (the person, their roster entry's phone and commune, the site) and the digest of the row
        last exported (None: never exported)."""

    def export_platform(self, day: date, build: Any, *, by: str, staff_id: int | None, at: str) -> tuple[int, Any] | None:
        """In one transaction: read ``day``'s doses (platform_rows), ``build(rows)`` the file
        (hub.reports.export.PlatformFile), keep it with the doses it holds and their digests, and mark them exported by
        it. Return (its id, the file), or None when no dose needs exporting (nothing is kept)."""

    def platform_export(self, export_id: int) -> dict[str, Any] | None:
        """One export kept (day, format, when, who, rows, rows per action, the file as handed out), or None."""

    def platform_exports(self, day: date) -> list[dict[str, Any]]:
        """The exports of ``day``'s doses, newest first, without their files."""

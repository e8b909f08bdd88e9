"""The hub's merge rules: one person's record, doses and conflicts derived from the set of their events (pure, no I/O).

The store keeps every event as received and calls ``derive_person`` again for
each person a batch touches, so the merged state is a function of the set of
events: arrival order, batch boundaries and duplicates cannot change it. Every
choice (which identity, which order) sorts by (kiosk, seq) or by content, never
by arrival. Conflicts are reported, never resolved.

A void always counts: voiding an EventVoided does not bring its target back
(record the fact again instead), which keeps the rule free of chains and cycles.

The hub's own events (hub/corrections.py: pseudo-kiosk ``@hub``, seq in the
order the staff made them) take part the same way: a corrected identity is
the person's identity (the latest one), a hub void strikes a dose, an added
dose is a dose. Conflicts are still found on every dose the kiosks left live,
so a conflict a hub void or resolution settles stays in the table, marked
resolved (``state``, ``resolved_by``), as history; a referral to the police
marks it ``police`` until their answer settles it.
"""

from __future__ import annotations

import datetime
import hashlib
import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from operator import itemgetter
from typing import Any, NamedTuple

import wire
from wire import identity
from vaccines.catalogue import Catalogue
from vaccines.eligibility import Dose, DueDose, min_interval_days

from .corrections import DOSE_ADDED, DOSE_VOIDED, HUB_KIOSK, POLICE_REFERRED, named_conflicts, settled_identity
from .roster.rows import id_contradiction

PERSON_EVENTS = frozenset({wire.CHECK_IN_EVENT, wire.DOSE_EVENT, wire.IDENTITY_EVENT})
"""The event types whose payloads the derived tables read; other events about a person are only counted."""

CONFLICT_KINDS = ("duplicate_dose", "interval_too_short", "identity_mismatch", "id_contradiction")
DOSE_KINDS = ("duplicate_dose", "interval_too_short")
SECURITY_KINDS = ("disputed_event",)
"""Conflicts kept apart from the per-person derivation (table `disputes`, hub/store/commit.py)."""
BY_KIOSK_AND_SEQ = itemgetter(0, 1)


class PersonEvent(NamedTuple):
    """What the merge reads of one event about a person (payload may be {} for types it only counts)."""

    kiosk: str
    seq: int
    id: str
    """wire.event_id(kiosk, seq), carried rather than formatted again at every look."""
    type: str
    at: str
    payload: dict[str, Any]
    merged_at: str | None = None
    """Hub time the event was merged (a kiosk's: received_at; the hub's: its time); never a choice of the merge, only
    carried into the dose rows for the reports (hub/store/daily.py)."""


@dataclass(frozen=True)
class PersonView:
    """One person as the merge sees them: the people row, every dose row (voided ones too) and the conflicts."""

    person: dict[str, Any]
    doses: list[dict[str, Any]]
    conflicts: list[dict[str, Any]]
    recorded: dict[str, Any] | None = None
    """The people row as the kiosks recorded it, when a hub correction changed its identity (else None): the identity
    conflicts it had stay in the table, settled, as history."""


def person_event(event: wire.Event) -> PersonEvent:
    """Return what the merge reads of a validated event."""
    return PersonEvent(event.kiosk, event.seq, event.id, event.type, event.at, event.payload)


def id_number_of(payload: dict[str, Any]) -> str | None:
    """Return the person an event is about (its payload's id_number), or None for events about no one."""
    number = payload.get("id_number")
    return number if isinstance(number, str) else None


def derive_person(
    id_number: str, events: Iterable[PersonEvent], voided: Mapping[str, str], catalogue: Catalogue
) -> PersonView:
    """Return the person's merged view from all their events, the kiosks' and the hub's; ``voided`` maps an event id a
    kiosk voided to the void's id (the hub's voids are read from its events)."""
    ordered = sorted(events, key=BY_KIOSK_AND_SEQ)
    kiosks = [e for e in ordered if e.kiosk != HUB_KIOSK]
    hub = [e for e in ordered if e.kiosk == HUB_KIOSK]
    voided = {**hub_voids(hub), **voided}  # a kiosk's own void of a dose is the one named
    check_ins = [e for e in kiosks if e.type == wire.CHECK_IN_EVENT and e.id not in voided]
    corrections = [e for e in kiosks if e.type == wire.IDENTITY_EVENT and e.id not in voided]
    doses = dose_rows(id_number, ordered, voided)
    person = person_row(id_number, ordered, check_ins, hub)
    recorded = person_row(id_number, ordered, check_ins, []) if corrected_identity(hub) else None
    kept = [d for d in doses if d["voided_by"] is None or d["voided_by"].startswith(HUB_KIOSK + ":")]
    live = [d for d in doses if d["voided_by"] is None]
    found = {c["id"]: c for c in dose_conflicts(id_number, kept, catalogue)}
    if len(live) < len(kept):  # the hub voided a dose: the conflicts that still hold among the rest
        found.update((c["id"], c) for c in dose_conflicts(id_number, live, catalogue))
    found.update((c["id"], c) for c in [*id_contradictions(recorded), *id_contradictions(person)])
    conflicts = settle([*found.values(), *identity_mismatches(id_number, check_ins, corrections)], hub, voided)
    conflicts.sort(key=lambda c: c["id"])
    return PersonView(person, doses, conflicts, recorded)


def dose_rows(id_number: str, ordered: list[PersonEvent], voided: Mapping[str, str]) -> list[dict[str, Any]]:
    """Every dose, voided ones too, in (kiosk, seq) order: the kiosks' DoseRecorded and the hub's added doses."""
    rows = []
    for event in ordered:
        if event.type == wire.DOSE_EVENT and event.kiosk != HUB_KIOSK:
            rows.append(dose_row(id_number, event, voided.get(event.id)))
        elif event.type == DOSE_ADDED and event.kiosk == HUB_KIOSK:
            rows.append(added_dose_row(id_number, event, voided.get(event.id)))
    return rows


def dose_conflicts(id_number: str, doses: list[dict[str, Any]], catalogue: Catalogue) -> list[dict[str, Any]]:
    return [*duplicate_doses(id_number, doses), *short_intervals(id_number, doses, catalogue)]


def hub_voids(hub: list[PersonEvent]) -> dict[str, str]:
    """The doses the hub voided: target event id -> the first hub void of it (hub events come in seq order)."""
    voids: dict[str, str] = {}
    for event in hub:
        if event.type == DOSE_VOIDED:
            voids.setdefault(event.payload["target"], event.id)
    return voids


def settle(conflicts: list[dict[str, Any]], hub: list[PersonEvent], voided: Mapping[str, str]) -> list[dict[str, Any]]:
    """Give each conflict its state: resolved by the first hub event that names it or (a dose conflict) by the first
    hub void of one of its doses; else awaiting the police when referred; else open."""
    resolved: dict[str, str] = {}
    referred: dict[str, str] = {}
    for event in hub:
        for conflict_id in named_conflicts(event.type, event.payload):
            (referred if event.type == POLICE_REFERRED else resolved).setdefault(conflict_id, event.id)
    for row in conflicts:
        by = resolved.get(row["id"]) or (hub_void_of(row, voided) if row["kind"] in DOSE_KINDS else None)
        row["resolved_by"], row["referred_by"] = by, referred.get(row["id"])
        row["state"] = "resolved" if by else "police" if row["referred_by"] else "open"
    return conflicts


def hub_void_of(row: dict[str, Any], voided: Mapping[str, str]) -> str | None:
    voids = [voided[e] for e in json.loads(row["event_ids"]) if voided.get(e, "").startswith(HUB_KIOSK + ":")]
    return min(voids, key=lambda v: int(v.rsplit(":", 1)[1]), default=None)


def person_row(id_number: str, ordered: list[PersonEvent], check_ins: list[PersonEvent],
               hub: list[PersonEvent]) -> dict[str, Any]:
    """The people row: the identity the hub last corrected it to, else the one most check-ins carry (ties: the
    earliest by (kiosk, seq)), None without one; the first event is the kiosks' earliest."""
    identity = corrected_identity(hub) or choose_identity(check_ins)
    first = min((e for e in ordered if e.kiosk != HUB_KIOSK), key=lambda e: (e.at, e.kiosk, e.seq), default=None)
    return {
        "id_number": id_number,
        **dict(zip(("full_name", "birth_date", "sex", "old_id"), identity or (None, None, None, None))),
        "first_event": first.id if first else None,
        "events": len(ordered),
    }


def corrected_identity(hub: list[PersonEvent]) -> tuple[str, str, str, str | None] | None:
    """The identity of the hub's latest correction (or police answer "corrected"), if any."""
    for event in reversed(hub):
        person = settled_identity(event.payload)
        if person:
            return person["full_name"], person["birth_date"], person["sex"], person.get("old_id") or None
    return None


def identity_of(event: PersonEvent) -> tuple[str, str, str, str | None]:
    person = event.payload["person"]
    return person["full_name"], person["birth_date"], person["sex"], person.get("old_id") or None


def choose_identity(check_ins: list[PersonEvent]) -> tuple[str, str, str, str | None] | None:
    """Return the identity variant seen in most check-ins; check_ins come in (kiosk, seq) order, so max's first
    maximum is the variant seen earliest."""
    if len(check_ins) < 2:
        return identity_of(check_ins[0]) if check_ins else None
    counts = Counter(identity_of(e) for e in check_ins)
    return max(counts, key=counts.__getitem__)


def dose_row(id_number: str, event: PersonEvent, voided_by: str | None) -> dict[str, Any]:
    dose = event.payload["dose"]
    return {
        "event_id": event.id, "id_number": id_number, "kiosk": event.kiosk,
        "product": dose["product"], "lot_number": dose["lot_number"], "dose_number": dose["number"],
        "booster": dose.get("booster"), "given_at": dose["given_at"], "given_on": dose["given_at"][:10],
        "vaccinator": (event.payload.get("by") or {}).get("name"), "voided_by": voided_by, "place": None,
        "merged_at": event.merged_at,
    }


def added_dose_row(id_number: str, event: PersonEvent, voided_by: str | None) -> dict[str, Any]:
    """A dose the district entered (given elsewhere or on paper): its kiosk is the hub's, its vaccinator the staff member
    who entered it, its place as written."""
    return {**dose_row(id_number, event, voided_by), "place": event.payload["place"]}


def id_contradictions(person: dict[str, Any] | None) -> list[dict[str, Any]]:
    """One conflict when the merged identity's birth year, century or sex contradicts the CCCD's digits 4-6.

    Its id hashes the ID number with the birth date and sex judged, so a new identity that still contradicts the
    digits is a new case, and a settled one stays settled for the identity it judged."""
    if person is None:
        return []
    birth, sex = person.get("birth_date"), person.get("sex")
    reason = id_contradiction(person["id_number"], birth, sex) if birth and sex else None
    if reason is None:
        return []
    digest = hashlib.sha256(f"id_contradiction\n{person['id_number']}\n{birth}\n{sex}".encode()).hexdigest()[:20]
    detail = {"reason": reason, "birth_date": birth, "sex": sex}
    return [{"id": f"id_contradiction:{digest}", "kind": "id_contradiction", "id_number": person["id_number"],
             "event_ids": "[]", "detail": wire.canonical(detail)}]


def conflict(kind: str, id_number: str, event_ids: list[str], detail: dict[str, Any]) -> dict[str, Any]:
    """A conflict row; its id hashes the kind and the events (in (kiosk, seq) order), so it never depends on arrival."""
    ids = json.dumps(event_ids, separators=(",", ":"))
    digest = hashlib.sha256(f"{kind}\n{ids}".encode()).hexdigest()[:20]
    return {"id": f"{kind}:{digest}", "kind": kind, "id_number": id_number, "event_ids": ids, "detail": wire.canonical(detail)}


def duplicate_doses(id_number: str, live: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One conflict per dose number recorded in two or more live dose events; every one of them stays."""
    if len(live) < 2:
        return []
    by_number: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for dose in live:
        by_number[dose["dose_number"]].append(dose)
    return [
        conflict("duplicate_dose", id_number, [d["event_id"] for d in same], {
            "dose_number": number,
            "kiosks": sorted({d["kiosk"] for d in same}),
            "products": sorted({d["product"] for d in same}),
        })
        for number, same in sorted(by_number.items()) if len(same) > 1
    ]


def short_intervals(id_number: str, live: list[dict[str, Any]], catalogue: Catalogue) -> list[dict[str, Any]]:
    """One conflict per pair of consecutive live doses (by day given) closer than the catalogue's minimum.

    Two doses with the same number are a duplicate_dose, not an interval; a pair
    whose product or day the catalogue cannot judge is skipped.
    """
    if len(live) < 2:
        return []
    # live is in (kiosk, seq) order: its position breaks ties without looking at arrival
    numbered = [(i, d) for i, d in enumerate(live) if day(d) is not None]
    dated = [d for _, d in sorted(numbered, key=lambda pair: (day(pair[1]), pair[1]["dose_number"], pair[0]))]
    first = min(live, key=lambda d: d["dose_number"], default=None)
    found = []
    for earlier, later in zip(dated, dated[1:]):
        if earlier["dose_number"] == later["dose_number"]:
            continue
        minimum = minimum_days(earlier, later, first, catalogue)
        days = (day(later) - day(earlier)).days
        if minimum is not None and days < minimum:
            found.append(conflict("interval_too_short", id_number, [earlier["event_id"], later["event_id"]], {
                "dose_numbers": [earlier["dose_number"], later["dose_number"]], "days": days, "minimum_days": minimum,
            }))
    return found


def minimum_days(earlier: dict, later: dict, first: dict | None, catalogue: Catalogue) -> int | None:
    """The kiosk's own rule (eligibility.min_interval_days) for giving ``later`` after ``earlier``."""
    products = catalogue.products
    if earlier["product"] not in products or later["product"] not in products:
        return None
    booster = later["booster"]
    if not isinstance(booster, int) or isinstance(booster, bool):
        series = products.get(first["product"]) if first else None
        booster = max(0, later["dose_number"] - (series or products[later["product"]]).primary_doses)
    due = DueDose(later["dose_number"], booster)
    last = Dose(earlier["product"], earlier["dose_number"], day(earlier))
    return min_interval_days(due, last, products[later["product"]], catalogue)


def day(dose: dict[str, Any]) -> datetime.date | None:
    try:
        return datetime.date.fromisoformat(dose["given_on"])
    except ValueError:
        return None


def identity_mismatches(id_number: str, check_ins: list[PersonEvent], corrections: list[PersonEvent]) -> list[dict[str, Any]]:
    """One conflict when the live check-ins of one ID disagree on identity (wire.identity's rule: name, birth date,
    sex, and the old ID when both have one), or when a kiosk's supervisor recorded a corrected identity for it.

    The detail names the fields that differ, the versions (each as first written, in (kiosk, seq) order) and every
    correction with its reason, for the data staff to settle against the population register.
    """
    if len(check_ins) < 2 and not corrections:  # one identity stated: nothing to disagree with (most people)
        return []
    events = sorted([*check_ins, *corrections], key=BY_KIOSK_AND_SEQ)
    written = [version for e in events for version in versions_in(e)]
    fields = identity.disagreements(written)
    if not fields and not corrections:
        return []
    versions: dict[tuple, dict[str, str]] = {}
    for version in written:
        versions.setdefault(tuple(identity.comparable(version)[f] for f in fields), identity.identity(version))
    return [conflict("identity_mismatch", id_number, [e.id for e in events], {
        "fields": fields, "variants": len(versions), "versions": list(versions.values()),
        "corrections": [correction_detail(e) for e in corrections],
    })]


def versions_in(event: PersonEvent) -> list[dict[str, Any]]:
    """The identities an event states: a check-in's person; a correction's stored and corrected person."""
    if event.type == wire.IDENTITY_EVENT:
        return [event.payload["stored"], event.payload["corrected"]]
    return [event.payload["person"]]


def correction_detail(event: PersonEvent) -> dict[str, Any]:
    payload = event.payload
    return {
        "event": event.id, "stored": identity.identity(payload["stored"]), "corrected": identity.identity(payload["corrected"]),
        "reason": payload["reason"], "by": payload["by"]["name"],
    }

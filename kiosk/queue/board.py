"""The supervisor's view of the day: tickets by state with what can be done next, lots, alarms and the outbox."""

from __future__ import annotations

import datetime
import json
from typing import Any

from vaccines.eligibility import age_on

from .actions import QUEUE_ORDER, observation_for
from .aefi import open_alarms
from .dosing import eligibility_for, use_of
from .clock import Instant
from .events import backlog
from .outbox import uplink, verdicts
from .questions import open_questions
from .site import Site, load_ticket, person_of
from .states import HIGHLIGHTED, STATES, allowed_actions


TICKETS = (
    "select t.*, p.full_name, p.birth_date, p.sex from tickets t join people p using (id_number) "
    "where t.day = ? and (? is null or t.id = ?) order by " + QUEUE_ORDER
)
DOSES = (
    "select d.ticket_id, d.product, d.lot_number, d.dose_number, d.override_reason, d.injection_site, s.name as vaccinator "
    "from doses d join tickets t on t.id = d.ticket_id left join staff s on s.id = d.vaccinator "
    "where t.day = ? and (? is null or t.id = ?) and d.voided_seq is null"
)
AEFIS = (
    "select a.id, a.ticket_id, a.severity, a.symptoms, a.acknowledged_at from aefi a "
    "join tickets t on t.id = a.ticket_id where t.day = ? and (? is null or t.id = ?) order by a.id"
)
HISTORY = (
    "select e.seq, e.event_id, e.type, e.at, s.name as staff from events e left join staff s on s.id = e.staff_id "
    "where e.ticket_id = ? order by e.seq"
)


def board(site: Site) -> dict[str, Any]:
    """Return today's queue for the supervisor screen and GET /api/queue (no citizen sees this)."""
    db = site.store.db
    day = site.clock.now().wall.date().isoformat()
    tickets = ticket_views(site, day)
    counts = {state: 0 for state in STATES}
    for ticket in tickets:
        counts[ticket["state"]] += 1
    return {
        "day": day,
        "counts": counts,
        "tickets": tickets,
        "lots": lots_view(site, day),
        "alarms": [alarm_view(db, row) for row in open_alarms(db)],
        "identity_questions": open_questions(site),
        "outbox": backlog(db),
        "uplink": uplink_view(db, day),
        "desks": site.settings.desks,
        "catalogue_status": site.catalogue.status,
    }


def uplink_view(db, day: str) -> dict[str, Any]:
    """The link to the district hub as the publisher last recorded it: configured, connected, the hub's state, the last
    acknowledgement (HH:MM today, else dd/mm/yyyy HH:MM as staff write dates)."""
    row = uplink(db)
    acked = row["acked_at"]
    return {
        "configured": bool(row["broker"]), "connected": bool(row["connected"]), "hub_state": row["hub_state"],
        "watermark": row["watermark"], "error": row["error"], "unconfirmed": bool(row["unconfirmed"]),
        "last_ack": None if not acked else acked[11:16] if acked[:10] == day else f"{acked[8:10]}/{acked[5:7]}/{acked[:4]} {acked[11:16]}",
        "verdicts": verdicts_view(db),
    }


def verdicts_view(db) -> dict[str, list]:
    """The events the hub settled otherwise than merged as written: refused [(seq, reason)], disputed, impersonated."""
    found: dict[str, list] = {"refused": [], "disputed": [], "impersonated": []}
    for verdict, seqs in verdicts(db).items():
        kind, _, reason = verdict.partition(":")
        found.setdefault(kind, []).extend((seq, reason) if kind == "refused" else seq for seq in seqs)
    return found


def ticket_board_view(site: Site, ticket_id: int) -> dict[str, Any] | None:
    """Return one of today's tickets as the board shows it, or None (no such ticket today)."""
    views = ticket_views(site, site.clock.now().wall.date().isoformat(), ticket_id)
    return views[0] if views else None


def ticket_details(site: Site, ticket_id: int) -> dict[str, Any]:
    """Everything one ticket's page shows: its row (``ticket``), its board ``view``, the ``person``, today's open
    ``lots`` with each one's verdict for this person, and its ``history``. Raises UnknownTicket."""
    db = site.store.db
    ticket = load_ticket(db, ticket_id)
    view = ticket_board_view(site, ticket_id)
    person = person_of(db, ticket["id_number"])
    return {"ticket": ticket, "view": view, "person": person, "lots": lots_for_ticket(site, db, ticket),
            "history": ticket_history(db, ticket_id)}


def lots_for_ticket(site: Site, db, ticket: dict) -> list[dict]:
    """The open lots, each with whether this person may have it today."""
    today = site.clock.now().wall.date()
    lots = []
    for lot in db["lots"].rows_where("day = ? and closed_at is null", [today.isoformat()], order_by="id"):
        verdict = eligibility_for(site, db, ticket, lot["product"], today)
        lots.append({**lot, "name": site.catalogue.products[lot["product"]].name, "verdict": verdict})
    return lots


def ticket_history(db, ticket_id: int) -> list[dict]:
    """The ticket's events in order, each with the name of the staff member who recorded it (None when no member did)."""
    return list(db.query(HISTORY, [ticket_id]))


def ticket_views(site: Site, day: str, ticket_id: int | None = None) -> list[dict[str, Any]]:
    """The day's tickets (or the one ticket_id) in queue order, with their doses and AEFIs: three queries in all."""
    db = site.store.db
    params = [day, ticket_id, ticket_id]
    doses = {row["ticket_id"]: row for row in db.query(DOSES, params)}
    aefis: dict[int, list[dict[str, Any]]] = {}
    for row in db.query(AEFIS, params):
        aefis.setdefault(row["ticket_id"], []).append(row)
    now = site.clock.now()
    return [ticket_view(site, row, now, doses.get(row["id"]), aefis.get(row["id"], [])) for row in db.query(TICKETS, params)]


def ticket_view(site: Site, row: dict[str, Any], now: Instant, dose: dict | None, aefis: list[dict]) -> dict[str, Any]:
    """One ticket as the supervisor sees it: the ID number masked, the rest needed to identify the person."""
    birth, today = datetime.date.fromisoformat(row["birth_date"]), now.wall.date()
    age = age_on(birth, today) if today >= birth else None  # a wall clock at 1970 knows no ages
    view = {
        "age": age, "suggest_priority": age is not None and age >= site.settings.priority_age and row["priority"] is None, "id": row["id"], "number": row["number"], "state": row["state"], "name": row["full_name"],
        "given_name": row["full_name"].split()[-1], "birth_year": int(row["birth_date"][:4]), "sex": row["sex"],
        "id_tail": row["id_number"][-4:], "source": row["source"], "checked_in_at": row["checked_in_at"],
        "desk": row["desk"], "priority": row["priority"], "reason": row["reason"], "reason_code": row["reason_code"],
        "return_on": row["return_on"],
        "warnings": json.loads(row["warnings"] or "[]"), "actions": list(allowed_actions(row["state"])),
        "highlight": row["state"] in HIGHLIGHTED, "observation": None, "dose": None,
    }
    if row["state"] in ("injected", "observing"):
        status = observation_for(site, row)
        view["observation"] = {
            "remaining_s": round(status.remaining_s), "due": status.due, "restarted": bool(row["observe_restarted"]),
        }
    if dose:
        view["dose"] = {
            "product": dose["product"], "lot_number": dose["lot_number"], "number": dose["dose_number"],
            "override": dose["override_reason"], "vaccinator": dose["vaccinator"], "site": dose["injection_site"],
        }
    view["aefi"] = [
        {"id": a["id"], "severity": a["severity"], "symptoms": a["symptoms"], "acknowledged": a["acknowledged_at"] is not None}
        for a in aefis
    ]
    return view


def lots_view(site: Site, day: str) -> list[dict[str, Any]]:
    db = site.store.db
    lots = []
    for lot in db["lots"].rows_where("day = ?", [day], order_by="id"):
        use = use_of(db, lot)
        lots.append({
            "id": lot["id"], "product": lot["product"], "name": site.catalogue.products[lot["product"]].name,
            "lot_number": lot["lot_number"], "expiry": lot["expiry"], "open": lot["closed_at"] is None,
            "doses_per_vial": use.doses_per_vial, "vials_opened": use.vials_opened, "given": use.given,
            "wasted": use.wasted, "left_in_open_vials": use.left_in_open_vials,
        })
    return lots


def alarm_view(db, row: dict[str, Any]) -> dict[str, Any]:
    number = db.execute("select number from tickets where id = ?", [row["ticket_id"]]).fetchone()[0]
    return {"id": row["id"], "ticket": number, "ticket_id": row["ticket_id"], "symptoms": row["symptoms"], "at": row["recorded_at"]}

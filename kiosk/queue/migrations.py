"""Numbered schema migrations of the kiosk database; append, never edit a released one."""

from __future__ import annotations

import sqlite_utils


def m001_people_and_tickets(db: sqlite_utils.Database) -> None:
    """People as their card encodes them, and one ticket per person per site day."""
    db["people"].create(
        {
            "id_number": str, "old_id": str, "full_name": str, "birth_date": str, "sex": str,
            "address": str, "issue_date": str, "extra": str, "first_seen": str,
        },
        pk="id_number",
    )
    db["tickets"].create(
        {
            "id": int, "day": str, "number": int, "id_number": str, "state": str, "source": str,
            "checked_in_at": str, "warnings": str, "scans": int, "last_scan_at": str,
        },
        pk="id",
        foreign_keys=[("id_number", "people", "id_number")],
        not_null={"day", "number", "id_number", "state", "source", "checked_in_at"},
    )
    db["tickets"].create_index(["day", "number"], unique=True)
    db["tickets"].create_index(["day", "id_number"], unique=True)


def m002_workflow(db: sqlite_utils.Database) -> None:
    """Staff, the event log and its outbox, vaccine lots, doses, adverse reactions and the scan feed.

    ``events.seq`` is the kiosk's gapless sequence: assigned as max + 1 inside the
    write transaction that changes the state, so a rolled-back change leaves no gap.
    """
    tickets = db["tickets"]
    for column, kind in (
        ("updated_at", str), ("desk", int), ("priority", str), ("priority_by", int), ("reason", str),
        ("return_on", str), ("observe_boot", str), ("observe_mono", float), ("observe_minimum_s", float),
        ("observe_restarted", int), ("injected_at", str),
    ):
        tickets.add_column(column, kind)
    db["staff"].create(
        {"id": int, "name": str, "role": str, "pin_hash": str, "active": int, "created_at": str},
        pk="id", not_null={"name", "role", "pin_hash", "active", "created_at"},
    )
    db["staff"].create_index(["name"], unique=True)
    db["events"].create(
        {
            "seq": int, "event_id": str, "type": str, "at": str, "clock_synced": int, "boot_id": str,
            "mono": float, "ticket_id": int, "staff_id": int, "payload": str,
        },
        pk="seq", not_null={"event_id", "type", "at", "boot_id", "mono", "payload"},
    )
    db["events"].create_index(["event_id"], unique=True)
    db["events"].create_index(["ticket_id"])
    db["outbox"].create(
        {"seq": int, "event_id": str, "type": str, "body": str, "created_at": str, "published_at": str, "acked_at": str},
        pk="seq", foreign_keys=[("seq", "events", "seq")], not_null={"event_id", "type", "body", "created_at"},
    )
    db["lots"].create(
        {
            "id": int, "day": str, "product": str, "lot_number": str, "expiry": str, "doses_per_vial": int,
            "vials_opened": int, "wasted": int, "opened_by": int, "opened_at": str, "closed_by": int, "closed_at": str,
        },
        pk="id", not_null={"day", "product", "lot_number", "expiry", "doses_per_vial", "vials_opened", "wasted"},
    )
    db["doses"].create(
        {
            "id": int, "ticket_id": int, "id_number": str, "product": str, "lot_id": int, "lot_number": str,
            "dose_number": int, "given_on": str, "given_at": str, "vaccinator": int, "event_seq": int,
            "override_reason": str,
        },
        pk="id", foreign_keys=[("ticket_id", "tickets", "id"), ("lot_id", "lots", "id")],
        not_null={"ticket_id", "id_number", "product", "lot_id", "dose_number", "given_on", "given_at"},
    )
    db["doses"].create_index(["ticket_id"], unique=True)
    db["doses"].create_index(["id_number"])
    db["aefi"].create(
        {
            "id": int, "ticket_id": int, "id_number": str, "severity": str, "symptoms": str, "recorded_by": int,
            "recorded_at": str, "event_seq": int, "acknowledged_by": int, "acknowledged_at": str,
        },
        pk="id", foreign_keys=[("ticket_id", "tickets", "id")],
        not_null={"ticket_id", "id_number", "severity", "symptoms", "recorded_at"},
    )
    db["scans"].create(
        {"id": int, "at": str, "accepted": int, "reason": str, "ticket_id": int, "returning": int},
        pk="id", not_null={"at", "accepted"},
    )


def m003_uplink(db: sqlite_utils.Database) -> None:
    """What the publisher knows of the link to the hub, one row, for the board and `kiosk doctor`.

    ``watermark`` is the hub's acknowledgement: every event up to it is merged at
    the hub. ``outbox.acked_at`` is set up to it.
    """
    db["uplink"].create(
        {
            "id": int, "broker": str, "connected": int, "hub_state": str, "watermark": int, "acked_at": str,
            "changed_at": str, "error": str,
        },
        pk="id", not_null={"connected", "watermark"}, defaults={"connected": 0, "watermark": 0},
    )
    db["uplink"].insert({"id": 1, "connected": 0, "watermark": 0})


def m004_voided_doses(db: sqlite_utils.Database) -> None:
    """A dose recorded by mistake is voided by a later event, never deleted: ``voided_seq`` names that event."""
    db["doses"].add_column("voided_seq", int)
    db["doses"].add_column("void_reason", str)


def m005_sign_in(db: sqlite_utils.Database) -> None:
    """Sign-in lockouts and staff sessions, so that restarting `kiosk web` neither lifts a lock nor revives a session.

    Their times are monotonic seconds of the boot ``boot_id`` names, never wall time
    (kiosk/queue/lockouts.py and kiosk/queue/sessions.py say what a reboot does to them).
    ``signin_failures.key`` is ``staff:<id>`` or ``address:<client address>``;
    ``staff_sessions.id_hash`` is the SHA-256 of the id in the cookie, so the file holds no usable session.
    """
    db["signin_failures"].create(
        {"key": str, "failures": int, "lock_seconds": float, "boot_id": str, "locked_until": float, "touched": int},
        pk="key", not_null={"failures", "lock_seconds", "touched"}, defaults={"failures": 0, "lock_seconds": 0.0},
    )
    db["staff_sessions"].create(
        {"id_hash": str, "staff_id": int, "boot_id": str, "started_mono": float, "seen_mono": float, "started_at": str},
        pk="id_hash", foreign_keys=[("staff_id", "staff", "id")],
        not_null={"staff_id", "boot_id", "started_mono", "seen_mono", "started_at"},
    )
    db["staff_sessions"].create_index(["staff_id"])


def m006_confirmed_by_the_hub(db: sqlite_utils.Database) -> None:
    """What the hub's acknowledgement confirmed (kiosk/uplink/confirm.py).

    ``uplink.watermark`` is now the confirmed point: every row up to it is what
    the hub holds, and ``uplink.chain`` (hex) is the chain up to it.
    ``outbox.verdict`` is set for a confirmed row that is not plainly merged:
    ``refused:<reason>``, ``disputed`` or ``impersonated``. ``uplink.unconfirmed``
    is 1 while the hub's last acknowledgement could not be confirmed.
    """
    db["uplink"].add_column("chain", str)
    db["uplink"].add_column("unconfirmed", int, not_null_default=0)
    db["outbox"].add_column("verdict", str)
    db.execute("create index outbox_verdicts on outbox (seq) where verdict is not null")



def m007_identity_questions(db: sqlite_utils.Database) -> None:
    """Scans held because the card's ID number is stored here with another identity, until a supervisor decides.

    The card's fields as scanned; ``resolution`` is null while the question is open, then ``corrected`` (checked in
    with IdentityCorrected: ``ticket_id``) or ``dismissed``.
    """
    db["identity_questions"].create(
        {
            "id": int, "day": str, "asked_at": str, "last_scan_at": str, "scans": int, "source": str,
            "id_number": str, "old_id": str, "full_name": str, "birth_date": str, "sex": str, "address": str,
            "issue_date": str, "extra": str, "resolution": str, "resolved_by": int, "resolved_at": str, "ticket_id": int,
        },
        pk="id", foreign_keys=[("ticket_id", "tickets", "id")],
        not_null={"day", "asked_at", "last_scan_at", "scans", "source", "id_number", "old_id", "full_name", "birth_date", "sex"},
    )
    db["identity_questions"].create_index(["day", "resolution"])


def m008_refusal_codes(db: sqlite_utils.Database) -> None:
    """Why a refused ticket was not vaccinated (kiosk/queue/actions.py REFUSAL_CODES); null on older refusals."""
    db["tickets"].add_column("reason_code", str)


def m009_injection_site(db: sqlite_utils.Database) -> None:
    """Where each dose was given (kiosk/queue/dosing.py INJECTION_SITES); null on older doses."""
    db["doses"].add_column("injection_site", str)


MIGRATIONS = [
    m001_people_and_tickets, m002_workflow, m003_uplink, m004_voided_doses, m005_sign_in, m006_confirmed_by_the_hub,
    m007_identity_questions, m008_refusal_codes, m009_injection_site,
]

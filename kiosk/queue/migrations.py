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


MIGRATIONS = [m001_people_and_tickets]

"""When a merged person and their roster entry disagree: the roster_mismatch conflict (pure).

A roster entry and a merged person are the same person when their ID numbers
match. They disagree when the name, the date of birth or the sex differ by
wire/identity.py's rule (the old ID is not compared: the roster has none); a
year-only roster date agrees with any date in that year.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

import wire
from wire import identity

KIND = "roster_mismatch"
COMPARED = ("full_name", "birth_date", "sex")


def mismatch(person: Mapping[str, Any], entry: Mapping[str, Any]) -> dict[str, Any] | None:
    """The conflicts-table row for a person whose identity differs from their roster entry, or None.

    A person with no identity yet (no check-in) disagrees with nothing. The id hashes the kind and the ID number: one
    roster conflict per person, whatever changes.
    """
    if not person.get("full_name"):
        return None
    roster = {field: entry[field] for field in COMPARED}
    if len(roster["birth_date"]) == 4 and (person.get("birth_date") or "")[:4] == roster["birth_date"]:
        roster["birth_date"] = person["birth_date"]
    merged = {field: person.get(field) for field in COMPARED}
    fields = [f for f in identity.differences(merged, roster) if f in COMPARED]
    if not fields:
        return None
    number = person["id_number"]
    digest = hashlib.sha256(f"{KIND}\n{number}".encode()).hexdigest()[:20]
    detail = {"fields": fields, "person": {f: merged[f] or "" for f in COMPARED}, "roster": {f: entry[f] for f in COMPARED}}
    return {"id": f"{KIND}:{digest}", "kind": KIND, "id_number": number, "event_ids": "[]", "detail": wire.canonical(detail)}

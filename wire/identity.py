"""When two records of one ID number name the same person: the one rule kiosk and hub both apply.

A kiosk refuses to attach a check-in to a stored person whose identity differs
by this rule; the hub reports a conflict when the check-ins (and the
corrections) of one ID number differ by it. Both compare as a person reading
the two records would: Unicode form, case and spacing do not count; any other
difference in a field does.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any

FIELDS = ("full_name", "birth_date", "sex", "old_id")
"""The identity fields compared, in the order they are reported. The old ID (CMND) counts only when both records
have one: cards issued without it, and people typed in by hand without it, are common."""


def normalise(text: str) -> str:
    """Compare names as a person would: Unicode NFC, case folded, runs of spaces as one."""
    return " ".join(unicodedata.normalize("NFC", text).casefold().split())


def comparable(person: Mapping[str, Any]) -> dict[str, str | None]:
    """The person's identity fields as compared: normalised, and None for a field that is empty or absent."""
    values = {}
    for field in FIELDS:
        value = person.get(field)
        values[field] = normalise(value) if isinstance(value, str) and value.strip() else None
    return values


def disagreements(people: Iterable[Mapping[str, Any]]) -> list[str]:
    """Return the fields (in FIELDS order) on which some of these records differ; an empty value agrees with any."""
    values = [comparable(person) for person in people]
    return [field for field in FIELDS if len({v[field] for v in values if v[field] is not None}) > 1]


def differences(stored: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """Return the fields on which two records of one ID number differ; [] when they are the same person's."""
    return disagreements((stored, new))


def identity(person: Mapping[str, Any]) -> dict[str, str]:
    """The identity fields of a record as written (not normalised), an absent old ID as ""."""
    return {field: person.get(field) or "" for field in FIELDS}

"""Errors raised by the queue's rules and use cases; each also inherits the matching builtin."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kiosk.errors import KioskError

if TYPE_CHECKING:
    from vaccines.eligibility import Eligibility


class TransitionRefused(KioskError, ValueError):
    """An action is not allowed in a ticket's current state.

    ``state`` and ``action`` are the refused pair; the message names both and
    nothing about the person.
    """

    def __init__(self, state: str, action: str, message: str):
        super().__init__(message)
        self.state = state
        self.action = action


class DetailsInvalid(KioskError, ValueError):
    """The details an action needs (a deferral's reason and return date) are missing or wrong.

    ``key`` names the offending detail.
    """

    def __init__(self, key: str, message: str):
        super().__init__(f"{key}: {message}")
        self.key = key


class ClockError(KioskError, ValueError):
    """Two monotonic times cannot be compared (a reboot in between) or a duration is invalid."""


class UnknownTicket(KioskError, LookupError):
    """No ticket has this id."""


class StaleAction(KioskError, ValueError):
    """The ticket changed since the screen was drawn (a double tap, or another screen): nothing was done."""


class ActionRefused(KioskError, ValueError):
    """An action cannot be taken for a reason other than the ticket's state; ``code`` is stable."""

    def __init__(self, code: str, message: str, **params: object):
        super().__init__(message)
        self.code = code
        self.params = params
        """Values a translated message may show (e.g. ``minutes`` left)."""


class NotEligible(KioskError, ValueError):
    """The catalogue's rules refuse this dose; ``eligibility`` holds the reason code and both sentences."""

    def __init__(self, eligibility: Eligibility):
        super().__init__(eligibility.message_en)
        self.eligibility = eligibility


class IdentityMismatch(KioskError, ValueError):
    """The ID number is stored here with another name, birth date, sex or old ID; nothing was written.

    ``stored`` and ``new`` are the two identities as written, ``fields`` the ones
    that differ (in wire.identity.FIELDS order). The message names no one.
    """

    def __init__(self, id_number: str, stored: dict[str, str], new: dict[str, str], fields: list[str]):
        super().__init__(f"this ID number is stored here with another {', '.join(fields)}")
        self.id_number, self.stored, self.new, self.fields = id_number, stored, new, fields

    def public(self) -> dict[str, Any]:
        """Both versions for a staff screen or the API: the ID number and old IDs masked to their last 4 digits."""
        return {"id_tail": tail(self.id_number), "fields": self.fields, "stored": masked(self.stored), "new": masked(self.new)}


def tail(number: str) -> str:
    """The last 4 digits of an ID number, the most a shared screen or an API answer shows ("" for none)."""
    return number[-4:] if number else ""


def masked(person: dict[str, str]) -> dict[str, str]:
    """An identity with its old ID number cut to the last 4 digits."""
    return {**person, "old_id": tail(person.get("old_id", ""))}

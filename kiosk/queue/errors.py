"""Errors raised by the queue's pure rules; each also inherits the matching builtin."""

from kiosk.errors import KioskError


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

"""The sign-in lockout rule and an attempt's verdict: pure values that the kiosk's and the hub's stores count with.

Each store keeps its own table and its own clock rule (kiosk/queue/lockouts.py,
hub/store/staff.py); what a number of wrong attempts in a row earns, and what
the counting tells the sign-in page, is the same on both sides.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LockRule:
    """How many wrong attempts in a row one key (``staff:5``, ``address:10.0.0.5``) may make, and the lock they earn."""

    key: str
    attempts: int
    first_seconds: float
    cap_seconds: float
    """The longest lock: the kiosk's is 15 minutes, the workspace's an hour."""

    def lock_for(self, failures: int) -> float:
        """Seconds of lock after ``failures`` wrong attempts in a row: none before ``attempts``, then doubling up to the cap."""
        allowed = max(1, self.attempts)
        if failures < allowed:
            return 0.0
        return min(self.cap_seconds, self.first_seconds * 2 ** min(failures - allowed, 32))


@dataclass(frozen=True)
class Attempt:
    """What the lockouts say about one sign-in attempt, before its secret (a PIN, a password) is checked."""

    wait: float
    """Seconds of lock left; above 0 the attempt is refused and not counted, and its secret must not be checked."""
    lock: float
    """The lock this attempt started as it was counted (0: none); it holds unless the secret turns out right."""

    @property
    def refused(self) -> bool:
        return self.wait > 0

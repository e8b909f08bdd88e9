"""Whether `hub run` is merging, not merely up: a stall (messages waiting, nothing committed) told to the log, systemd
and `hub stats`.

A process can stay alive while merging has stopped: a commit that fails on and
on, a merge worker that hangs. So `hub run` watches the messages it has
received and not yet committed. When the oldest has waited longer than
``--stall-seconds`` it logs "merging stalled since ...", stops feeding the
systemd watchdog (which then restarts it) and notes the stall in the database,
in the one row of the ``merging`` table, for `hub stats` to show from another
process. It notes that row every NOTE_SECONDS anyway, so a hub that cannot
write its database, hangs or was killed shows in `hub stats` as silent.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

logger = logging.getLogger(__name__)

STALL_SECONDS = 60.0
"""Default of `hub run --stall-seconds`: how long a received message may wait for its commit before merging counts as
stalled. A batch commits in milliseconds; a failing commit is retried within 15 s."""
NOTE_SECONDS = 10.0
"""How often a running hub writes its ``merging`` row."""
NOTE_RETRY_SECONDS = 0.5
"""After a note the database refused (busy with the merge worker's commit), how soon to try again."""
SILENT_SECONDS = 60.0
"""`hub stats` calls a hub silent whose row is older than this while it has not said it stopped."""
REPORT_SECONDS = 60.0
"""While merging stays stalled, the log says so again this often."""


@dataclass(frozen=True)
class MergeState:
    """What `hub run` notes for `hub stats`: the ``merging`` row (hub/store/migrations.py says what each column holds)."""

    pid: int
    started_at: str
    noted_at: str
    stopped_at: str | None
    committed_at: str | None
    waiting: int
    waiting_since: str | None
    stalled_since: str | None
    last_error: str | None


def iso(moment: datetime) -> str:
    """Hub time as the store records it: ISO 8601 UTC with milliseconds."""
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Liveness:
    """Decides, each turn of `hub run`'s loop, whether merging is stalled; logs it and has it noted.

    ``note`` persists a MergeState (it may raise: a database that cannot be written is one reason for a stall, and
    `hub stats` then sees the row age instead). Cheap per turn: the work happens on a change and every NOTE_SECONDS.
    """

    def __init__(self, note: Callable[[MergeState], None], *, stall_seconds: float = STALL_SECONDS,
                 clock: Callable[[], float] = time.monotonic,
                 wall: Callable[[], datetime] = lambda: datetime.now(timezone.utc), pid: int | None = None):
        self.persist = note
        self.stall_seconds = stall_seconds
        self.clock = clock
        self.wall = wall
        self.state = MergeState(pid=os.getpid() if pid is None else pid, started_at=iso(wall()), noted_at=iso(wall()),
                                stopped_at=None, committed_at=None, waiting=0, waiting_since=None, stalled_since=None,
                                last_error=None)
        self.stalled_at: float | None = None
        """Monotonic time of the oldest waiting message while stalled; None while merging goes on."""
        self.next_note: float | None = None
        self.reported_at = 0.0
        self.note_failing_since: float | None = None
        self.note_warned = False

    @property
    def stalled(self) -> bool:
        return self.stalled_at is not None

    def committed(self) -> None:
        """The merge worker answered a batch: it is committed."""
        self.state = replace(self.state, committed_at=iso(self.wall()), last_error=None)

    def retrying(self, error: str) -> None:
        """The merge worker says its commit failed and it will try again."""
        self.state = replace(self.state, last_error=error)

    def check(self, waiting: int, oldest: float | None) -> None:
        """Look again: ``waiting`` messages are received and not committed, the oldest since ``oldest`` (monotonic)."""
        now = self.clock()
        stalled = oldest is not None and now - oldest >= self.stall_seconds
        if stalled and self.stalled_at is None:
            self.stalled_at = oldest
            self.note(waiting, oldest)
            self.report()
        elif stalled and now - self.reported_at >= REPORT_SECONDS:
            self.note(waiting, oldest)
            self.report()
        elif not stalled and self.stalled_at is not None:
            logger.warning("merging resumed after %.0f s stalled", now - self.stalled_at)
            self.stalled_at = None
            self.note(waiting, oldest)
        elif self.next_note is None or now >= self.next_note:
            self.note(waiting, oldest)

    def report(self) -> None:
        self.reported_at = self.clock()
        logger.error("%s; withholding the systemd watchdog", summary(self.state))

    def stopped(self) -> None:
        """Note a clean stop: `hub stats` then says stopped, not silent."""
        self.stalled_at = None
        self.note(0, None, stopped=True)

    def note(self, waiting: int, oldest: float | None, *, stopped: bool = False) -> None:
        """Write the row now; one the database refuses is tried again soon, and said in the log if that goes on."""
        now = self.clock()
        self.state = replace(
            self.state, noted_at=iso(self.wall()), waiting=waiting, waiting_since=self.at(oldest),
            stalled_since=self.at(self.stalled_at), stopped_at=iso(self.wall()) if stopped else None,
        )
        try:
            self.persist(self.state)
        except Exception as exc:  # noqa: BLE001 -- a database that cannot be written must not stop the loop
            self.next_note = now + NOTE_RETRY_SECONDS
            self.note_failing_since = self.note_failing_since if self.note_failing_since is not None else now
            if not self.note_warned and now - self.note_failing_since >= 3 * NOTE_SECONDS:
                self.note_warned = True
                logger.warning("cannot note the merging state in the database for %.0f s (%s: %s); `hub stats` "
                               "will call the hub silent", now - self.note_failing_since, type(exc).__name__, exc)
        else:
            self.next_note, self.note_failing_since, self.note_warned = now + NOTE_SECONDS, None, False

    def at(self, moment: float | None) -> str | None:
        """The hub (wall) time of a monotonic moment."""
        if moment is None:
            return None
        return iso(self.wall() - timedelta(seconds=max(0.0, self.clock() - moment)))


# -- what `hub stats` makes of the row -------------------------------------------------------------------------------------


def judge(row: dict[str, Any] | None, now: datetime) -> dict[str, Any]:
    """The ``merging`` row with its ``state`` (never_run, merging, stalled, silent, stopped) and a ``summary`` line."""
    if row is None:
        judged: dict[str, Any] = {"state": "never_run"}
    else:
        judged = {**row, "state": state_of(row, now)}
    judged["summary"] = summary_of(judged)
    return judged


def state_of(row: dict[str, Any], now: datetime) -> str:
    if row["stopped_at"]:
        return "stopped"
    try:
        age = (now - datetime.fromisoformat(row["noted_at"].replace("Z", "+00:00"))).total_seconds()
    except (AttributeError, TypeError, ValueError):  # not a string, or not a time
        age = float("inf")
    if age > SILENT_SECONDS:
        return "silent"
    return "stalled" if row["stalled_since"] else "merging"


def summary(state: MergeState) -> str:
    """The line the log and `hub stats` show for a stall."""
    error = state.last_error or "none (the merge worker has not answered)"
    return (f"merging stalled since {state.stalled_since}: {state.waiting} message{'' if state.waiting == 1 else 's'} "
            f"waiting, last error: {error}")


def summary_of(judged: dict[str, Any]) -> str:
    state = judged["state"]
    if state == "never_run":
        return "hub run has not run on this database"
    if state == "stopped":
        return f"hub run stopped at {judged['stopped_at']}"
    last = summary(MergeState(**{key: judged[key] for key in MergeState.__dataclass_fields__}))
    if state == "stalled":
        return last
    if state == "silent":
        said = f"; its last word: {last}" if judged["stalled_since"] else ""
        return (f"no word from hub run (pid {judged['pid']}) since {judged['noted_at']}: it was killed, hangs, "
                f"or cannot write its database{said}")
    committed = judged["committed_at"] or "nothing yet"
    return f"merging (pid {judged['pid']}; last commit: {committed}; {judged['waiting']} waiting)"

"""What a step that reads people's rows, then writes them, must do where several writers commit to the database at once.

On SQLite one writer at a time holds the database (BEGIN IMMEDIATE) and the
trigger ``conflicts_opened`` gives each new conflict its opening time, so such
a step does nothing more (ALONE). On PostgreSQL several hub workers and a roster
import run at once: the step first takes the people's advisory locks, the
merge's own (hub/store/postgres/derive.py), and times the conflicts it wrote
itself (hub/store/postgres/reports.py WRITERS).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


def nothing(conn: Any, keys: list[str]) -> None:
    """Nothing to do: the engine sees to it."""


@dataclass(frozen=True)
class Writers:
    lock_people: Callable[[Any, list[str]], None] = nothing
    """Lock these ID numbers (sorted) until the transaction ends, before their rows are read."""
    conflicts_written: Callable[[Any, list[str]], None] = nothing
    """Give the conflicts just inserted (their ids) their opening time."""


ALONE = Writers()
"""The SQLite store's: one writer at a time, and a trigger that times conflicts."""

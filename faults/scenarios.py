"""Running one scenario: its folder, its random moments, its faults, and its verdict as a Result."""

from __future__ import annotations

import random
import shutil
import time
import traceback
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Callable

from .province import Province
from .rig import Rig
from .verify import Tally

SETTLE_SECONDS = {False: 90.0, True: 600.0}
"""How long a run may take, after its faults, for the hub's watermark to cover every event (small, full)."""


@dataclass
class Result(Tally):
    """One scenario's figures, as the table and --json show them: the count of its run (a Tally) and how it went."""

    scenario: str = ""
    store: str = ""
    """The store of the hub that counted: ``sqlite`` or ``postgres`` (a province run: its districts' hubs are SQLite)."""
    faults: int = 0
    duration_s: float = 0.0
    converged: bool = False
    failed_checks: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    error: str | None = None
    seed: int = 0
    folder: str | None = None

    @property
    def ok(self) -> bool:
        return super().ok and self.error is None and not self.failed_checks and self.acknowledged > 0

    def take(self, tally: Tally) -> None:
        """Take the counts of the scenario's run."""
        for counted in fields(Tally):
            setattr(self, counted.name, getattr(tally, counted.name))

    def to_json(self) -> dict:
        return {**asdict(self), "ok": self.ok}


class Run:
    """What a scenario function gets: its scale, its random moments, a rig, and a place for faults and notes."""

    def __init__(self, name: str, folder: Path, full: bool, seed: int, store: str = "sqlite"):
        self.name = name
        self.folder = folder
        self.full = full
        self.store = store
        """The hub's store in a single-district run (a province run's province is always on PostgreSQL)."""
        self.rng = random.Random(seed)
        self.result = Result(scenario=name, seed=seed, folder=str(folder))
        self.rigs: list[Rig | Province] = []
        """The scenario's rig (one; a list so that a run which broke before making it has none)."""

    def scale(self, full: int, small: int) -> int:
        return full if self.full else small

    def rig(self, **options) -> Rig:
        """The scenario's rig, in its folder, its hub on the run's store; one per run."""
        self.result.store = self.store
        return self.take(Rig(self.folder, store=self.store, **options))

    def province(self, **options) -> Province:
        """The scenario's province rig (districts bridged to a province on PostgreSQL), in its folder; one per run."""
        self.result.store = "postgres"
        return self.take(Province(self.folder, **options))

    def take(self, rig):
        """Keep the run's rig, so that it is counted and closed; a second one is closed and refused."""
        if self.rigs:
            rig.close()
            raise RuntimeError("one rig per run")
        self.rigs.append(rig)
        return rig

    def pause(self, low: float, high: float) -> None:
        """Wait a random moment between low and high seconds: when the next fault strikes."""
        time.sleep(self.rng.uniform(low, high))

    def fault(self, count: int = 1) -> None:
        self.result.faults += count

    def note(self, text: str) -> None:
        self.result.notes.append(text)

    def check(self, holds: bool, text: str) -> None:
        """An expectation of the scenario beyond the counts; a failed one fails the run."""
        if not holds:
            self.result.failed_checks.append(text)


Scenario = Callable[[Run], None]


def execute(name: str, scenario: Scenario, folder: Path, *, full: bool, seed: int, keep: bool = False,
            store: str = "sqlite") -> Result:
    """Run one scenario in folder, its hub on ``store`` (sqlite or postgres), then settle, count and stop every
    process; return its Result.

    The folder (databases and logs) is removed when the run is ok, unless keep.
    """
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    run = Run(name, folder, full, seed, store)
    started = time.monotonic()
    try:
        scenario(run)
        finish(run)
    except Exception as exc:  # a scenario that breaks is reported, with what it had counted
        run.result.error = f"{type(exc).__name__}: {exc}"
        (folder / "error.txt").write_text(traceback.format_exc())
        count(run)
    finally:
        for rig in run.rigs:
            rig.close()
    run.result.duration_s = round(time.monotonic() - started, 1)
    if run.result.ok and not keep:
        shutil.rmtree(folder, ignore_errors=True)
        run.result.folder = None
    return run.result


def finish(run: Run) -> None:
    """Let every generator finish, wait for the hub's watermark to cover every event, and count."""
    for rig in run.rigs:
        rig.wait_generators(SETTLE_SECONDS[run.full])
        done, state = rig.settle(SETTLE_SECONDS[run.full])
        run.result.converged = done
        if not done:
            run.note("not settled: " + ", ".join(f"{k}: last seq {top}, hub watermark {hub}, kiosk heard {heard}"
                                                 for k, (top, hub, heard) in sorted(state.items())))
    count(run)


def count(run: Run) -> None:
    for rig in run.rigs:
        try:
            tally = rig.tally()
        except Exception as exc:  # no hub database: nothing merged
            run.note(f"could not count: {type(exc).__name__}: {exc}")
            continue
        run.result.take(tally)

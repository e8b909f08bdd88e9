"""The daily report as the hub issues it: counted from the store, issued by itself at the cut-off (``report.cutoff``,
Vietnam time), re-issued by an officer, every version kept; what arrived after a version's cut.

`hub run` and `hub web` each run a CutoffWatch: whichever sees the cut-off first issues the day's report, the other
finds it issued (the store keeps one cut-off version per day). A report issued late (no hub ran at 15:30) still
counts what was merged by the cut-off time, so it is the same whenever it is issued.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Callable
from typing import Any

from daemon.threads import Loop

from .config import ReportSettings
from .district_time import VIETNAM, local_day
from .errors import StoreError
from .reports.daily import DayRows, Rules, build, for_district, instant, named, place, place_order

logger = logging.getLogger(__name__)

CUTOFF_BY = "cut-off"
"""issued_by of the version the hub issued itself."""
WATCH_SECONDS = 20.0
"""How often a CutoffWatch looks at the clock."""


def rules(store: Any, settings: ReportSettings) -> Rules:
    return Rules({code: p.primary_doses for code, p in store.catalogue.products.items()}, tuple(settings.age_bands))


def cut_instant(day: datetime.date, settings: ReportSettings) -> datetime.datetime:
    """The moment (UTC) of the day's cut-off."""
    local = datetime.datetime.combine(day, settings.cutoff_time, tzinfo=VIETNAM)
    return local.astimezone(datetime.timezone.utc)


def report(store: Any, day: datetime.date, settings: ReportSettings, as_of: datetime.datetime | None = None,
           rows: DayRows | None = None) -> dict[str, Any]:
    """The day's report counted from what was merged by ``as_of`` (None: everything merged now)."""
    return build(rows or store.day_rows(day), as_of, rules(store, settings))


def shown(store: Any, day: datetime.date, settings: ReportSettings, version: dict[str, Any] | None,
          district: str | None = None) -> tuple[dict[str, Any], list[dict[str, Any]] | None]:
    """What the page, the files and `hub report daily` show: the counts so far (``version`` None) or an issued version
    with what arrived after its cut; with ``district``, that district's part of a province's report (the so-far
    counts read from its rows alone, an issued version narrowed to its section: the two agree)."""
    rows = store.day_rows(day, district)
    if version is None:
        return report(store, day, settings, rows=rows), None
    content = store.daily_report_version(day, version["version"])["report"]
    return (content if district is None else for_district(content, district)), arrived_after(rows, version["cut_at"])


def issue_at_cutoff(store: Any, settings: ReportSettings, now: datetime.datetime) -> int | None:
    """Issue today's report once its cut-off has passed and none was issued at it; return the version, else None."""
    day = local_day(now)
    cut = cut_instant(day, settings)
    if now < cut or any(v["why"] == "cutoff" for v in store.daily_report_versions(day)):
        return None
    content = report(store, day, settings, as_of=cut)
    version = store.issue_daily_report(day, content, cut_at=stamp(cut), issued_at=stamp(now), by=CUTOFF_BY, why="cutoff")
    if version is not None:
        logger.info("issued the daily report of %s at its cut-off (version %d)", day, version)
    return version


def reissue(store: Any, settings: ReportSettings, day: datetime.date, now: datetime.datetime, by: str,
            note: str = "") -> int:
    """Issue the day's report again, counting everything merged by now; return the new version's number."""
    content = report(store, day, settings, as_of=now)
    return store.issue_daily_report(day, content, cut_at=stamp(now), issued_at=stamp(now), by=by, why="reissue",
                                    note=note)


def stamp(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.timezone.utc).isoformat(timespec="seconds")


def arrived_after(rows: DayRows, cut_at: str) -> list[dict[str, Any]]:
    """Per site (at a province, per district and site), what reached the hub after the cut: doses, outcomes and lot
    events (wastes, closures) merged later, voids merged later, and the hub time of the last of them (a kiosk back
    online at 15:50)."""
    cut = instant(cut_at)
    late: dict[tuple, dict[str, Any]] = {}
    for kind, items in (("doses", rows.doses), ("outcomes", rows.outcomes), ("discards", rows.lots)):
        for row in items:
            for field, moment in ((kind, row.arrived), ("voids", row.voided)):
                if moment and instant(moment) > cut:
                    site = late.setdefault(place(row), {**named(place(row)), "doses": 0, "outcomes": 0, "discards": 0,
                                                        "voids": 0, "last_at": moment})
                    site[field] += 1
                    site["last_at"] = max(site["last_at"], moment, key=instant)
    return [late[where] for where in sorted(late, key=place_order)]


class CutoffWatch(Loop):
    """Issues the day's report at the cut-off, from a thread of `hub run` or `hub web`, with a store of its own."""

    thread_name = "cutoff"

    def __init__(self, open_store: Callable[[], Any], settings: ReportSettings,
                 clock: Callable[[], datetime.datetime] = lambda: datetime.datetime.now(datetime.timezone.utc),
                 interval: float = WATCH_SECONDS):
        super().__init__()
        self.open_store, self.settings, self.clock, self.interval = open_store, settings, clock, interval

    def run(self) -> None:
        store = self.open_store()  # a connection of this thread's own
        try:
            while True:
                self.look(store)
                if self.stopping.wait(self.interval):
                    return
        finally:
            store.close()

    def look(self, store: Any) -> int | None:
        """One look at the clock; a database that fails is logged and tried again at the next look."""
        try:
            return issue_at_cutoff(store, self.settings, self.clock())
        except StoreError as exc:
            logger.error("could not issue the daily report at its cut-off: %s; trying again", exc)
            return None

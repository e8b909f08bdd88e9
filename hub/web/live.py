"""The live front page's data and its stream: GET /live/stream, server-sent events carrying a small JSON snapshot of
the page's live regions (rendered here, in the stream's language) each time one changes, and a heartbeat between.

One Feed per app (``app.extensions["hub_live"]``) reads the store for every stream at once: a cheap marker
(Store.live_marker) at most every LiveSettings.poll_seconds, the figures only when it moved (or every
refresh_seconds, since "offline" and "today" change with the clock alone). At a province the figures are kept per
district chosen (``?district=``, hub/web/province.py) beside the province's, each read from the store filtered.
Streams are bounded (max_streams: 503 beyond) and each ends after stream_seconds (the browser reconnects, and its
session is checked again) or as soon as a write to a browser that went away fails.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Callable, Iterator

from flask import Blueprint, Response, current_app, get_template_attribute, stream_with_context

from ..district_time import VIETNAM, local_day
from ..fleet import judge_all
from ..store import StoreError
from .auth import login_required
from .live_view import HISTORY_DAYS, live_view
from .province import chosen_district

logger = logging.getLogger(__name__)

bp = Blueprint("live", __name__)

REGIONS = ("totals", "hours", "alerts", "sites", "history")
"""The page's live regions: home_live.html's macros, the ids of their containers (live-<name>)."""


@dataclass
class LiveSettings:
    """How the live page reads and streams; tests shorten them."""

    poll_seconds: float = 2.0
    """The store's marker is read at most this often, whoever asks."""
    refresh_seconds: float = 30.0
    """The figures are read again this often even when nothing was merged (kiosks fall offline by the clock)."""
    heartbeat_seconds: float = 10.0
    """A comment line after this long without news: keeps proxies open and finds a browser that went away."""
    stream_seconds: float = 300.0
    """A stream ends after this long; the browser reconnects by itself, through the sign-in check."""
    max_streams: int = 8
    """Open streams at most; one more is refused (503) rather than holding another server thread."""
    closed_days_seconds: float = 600.0
    """The days before yesterday (the history chart) are read again this often: they change only by late arrivals."""


@dataclass
class Figures:
    """The live figures of one view (the district hub's, the province's, or one of its districts') and when read."""

    data: dict[str, Any] | None = None
    version: int = 0
    """Moves each time ``data`` changes."""
    marker: tuple | None = None
    checked: float = -1e18
    computed: float = -1e18
    closed: tuple[str, float, list] | None = field(default=None, repr=False)
    """The closed days of the history chart: (their range, when read, the rows)."""


class Feed:
    """The figures of the live page, shared by every stream and the page itself: one Figures per district asked for
    (None: all, the only one at a district hub)."""

    def __init__(self, services: Any, settings: LiveSettings | None = None, ticker: Callable[[], float] = time.monotonic):
        self.services, self.settings, self.ticker = services, settings or LiveSettings(), ticker
        self.lock = threading.Lock()
        self.slots = threading.BoundedSemaphore(self.settings.max_streams)
        self.views: dict[str | None, Figures] = {}

    def current(self, district: str | None = None) -> tuple[int, dict[str, Any]]:
        """The figures of ``district`` (None: all; the caller checked it is one of the store's) and their version,
        read again when they may have changed."""
        with self.lock:
            view = self.views.setdefault(district, Figures())
            now = self.ticker()
            if view.data is None or now - view.checked >= self.settings.poll_seconds:
                view.checked = now
                marker = (self.services.store.live_marker(), local_day(self.services.clock()))
                if view.data is None or marker != view.marker or now - view.computed >= self.settings.refresh_seconds:
                    view.marker, view.computed = marker, now
                    data = self.compute(view, district)
                    if data != view.data:
                        view.data, view.version = data, view.version + 1
            return view.version, view.data

    def compute(self, view: Figures, district: str | None) -> dict[str, Any]:
        """Read the figures: today and yesterday by site and hour, the history, the kiosks flagged, serious reactions."""
        store, now = self.services.store, self.services.clock()
        today = local_day(now)
        yesterday = today - timedelta(days=1)
        hourly = store.doses_by_hour([today, yesterday], district)
        kiosks = judge_all(store.fleet_kiosks(district), self.services.config.fleet, now)
        return {
            "today": today.isoformat(), "yesterday": yesterday.isoformat(), "now_hour": now.astimezone(VIETNAM).hour,
            "hourly": hourly, "history": self.history(view, district, today, hourly),
            "kiosks": [{k: kiosk[k] for k in ("kiosk", "site", "state", "flags")} for kiosk in kiosks if kiosk["flags"]],
            "kiosk_count": len(kiosks), **store.severe_reactions([today, yesterday], district),
        }

    def history(self, view: Figures, district: str | None, today: date,
                hourly: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Doses per day and site over HISTORY_DAYS: the last two days from ``hourly``, the others kept a while."""
        first, last_closed = today - timedelta(days=HISTORY_DAYS - 1), today - timedelta(days=2)
        key, now = f"{first}/{last_closed}", self.ticker()
        if view.closed is None or view.closed[0] != key or now - view.closed[1] >= self.settings.closed_days_seconds:
            view.closed = (key, now, self.services.store.doses_by_day(first, last_closed, district))
        recent: dict[tuple, int] = {}
        for row in hourly:
            key = (row["day"], row["site"], row["district"])
            recent[key] = recent.get(key, 0) + row["count"]
        return view.closed[2] + [{"day": day, "site": site, "district": district, "count": count}
                                 for (day, site, district), count in recent.items()]


def feed() -> Feed:
    return current_app.extensions["hub_live"]


def regions(data: dict[str, Any]) -> dict[str, str]:
    """Each live region rendered by its macro in home_live.html (needs a request context: the page's language)."""
    view = live_view(data)
    return {name: str(get_template_attribute("home_live.html", name)(view)) for name in REGIONS}


def events(source: Feed, district: str | None = None) -> Iterator[str]:
    """The stream: a retry hint, then each region that changed as JSON, heartbeats between, until stream_seconds."""
    settings, sent, seen = source.settings, {}, -1
    started = beat = source.ticker()
    yield "retry: 3000\n\n"
    while source.ticker() - started < settings.stream_seconds:
        version, data = source.current(district)
        if version != seen:
            seen, fresh = version, regions(data)
            changed = {name: html for name, html in fresh.items() if sent.get(name) != html}
            if changed:
                sent.update(changed)
                beat = source.ticker()
                yield f"data: {json.dumps({'version': version, 'regions': changed}, ensure_ascii=False)}\n\n"
        if source.ticker() - beat >= settings.heartbeat_seconds:
            beat = source.ticker()
            yield ": heartbeat\n\n"
        time.sleep(settings.poll_seconds)


@bp.get("/live/stream")
@login_required
def stream():
    """Server-sent events for the front page (of ``district`` at a province); 503 when max_streams are open, or the
    database cannot be read."""
    source = feed()
    if not source.slots.acquire(blocking=False):
        return Response("too many live pages open\n", 503, {"Retry-After": "30"}, mimetype="text/plain")
    try:
        district = chosen_district()
        source.current(district)
    except StoreError as exc:
        source.slots.release()
        logger.error("live stream refused: %s", exc)
        return Response("the database cannot be read\n", 503, {"Retry-After": "30"}, mimetype="text/plain")
    except BaseException:  # an unknown district (404) gives its slot back too
        source.slots.release()
        raise
    return Response(stream_with_context(held(source, district)), mimetype="text/event-stream",
                    headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


def held(source: Feed, district: str | None) -> Iterator[str]:
    """The events, giving the stream's slot back however the stream ends (done, the browser gone, an error)."""
    try:
        yield from events(source, district)
    except StoreError as exc:
        logger.error("live stream ended: %s", exc)
    finally:
        source.slots.release()


def init_app(app, settings: LiveSettings | None = None) -> None:
    """The blueprint and the app's Feed."""
    app.extensions["hub_live"] = Feed(app.extensions["hub"], settings)
    app.register_blueprint(bp)

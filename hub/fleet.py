"""What the kiosks page shows of each kiosk and what it flags, pure: the state it is in by the hub's clock (offline when
not heard from for fleet.offline_minutes, whatever its last status said) and the flags of fleet settings
(hub/config.py FleetSettings): offline during working hours, a backlog above the alert or growing, a clock off or
not synchronised."""

from __future__ import annotations

import datetime
from typing import Any

from .config import FleetSettings
from .district_time import VIETNAM

FLAGS = ("offline", "backlog", "growing", "skew", "unsynced")
"""Every flag, in the order the page lists them."""
GROWING_FLOOR = 10
"""A backlog grows when it is larger than at the status before and at least this: a few events in flight between two
statuses of a busy kiosk are normal."""


def parse_time(text: str | None) -> datetime.datetime | None:
    """An ISO time the hub wrote (UTC), or None."""
    try:
        moment = datetime.datetime.fromisoformat(text) if text else None
    except (TypeError, ValueError):
        return None
    if moment is not None and moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    return moment


def in_working_hours(now: datetime.datetime, settings: FleetSettings) -> bool:
    """Whether ``now`` (aware) falls in fleet.working_hours, Vietnam time."""
    start, end = settings.working_range
    return start <= now.astimezone(VIETNAM).time().replace(tzinfo=None) < end


def state_of(kiosk: dict[str, Any], settings: FleetSettings, now: datetime.datetime) -> str:
    """online, offline or stopped: the last status (online before any), or offline when the kiosk was not heard from
    lately (or ever)."""
    seen = parse_time(kiosk.get("last_seen"))
    if seen is None or now - seen > datetime.timedelta(minutes=settings.offline_minutes):
        return "offline"
    status = kiosk.get("status")
    if status is None:
        return "online"  # heard from lately (an event) before its first status
    return status if status in ("online", "stopped") else "offline"


def flags_of(kiosk: dict[str, Any], state: str, settings: FleetSettings, now: datetime.datetime) -> list[str]:
    """The flags that apply to the kiosk, in FLAGS order."""
    backlog, before = kiosk.get("backlog"), kiosk.get("backlog_before")
    skew = kiosk.get("clock_skew_s")
    raised = {
        "offline": state == "offline" and in_working_hours(now, settings),
        "backlog": backlog is not None and backlog > settings.backlog_alert,
        "growing": backlog is not None and before is not None and backlog > before and backlog >= GROWING_FLOOR,
        "skew": skew is not None and abs(skew) > settings.skew_alert_seconds,
        "unsynced": kiosk.get("clock_synced") is False,
    }
    return [flag for flag in FLAGS if raised[flag]]


def judge(kiosk: dict[str, Any], settings: FleetSettings, now: datetime.datetime) -> dict[str, Any]:
    """The kiosk's row with its ``state``, ``flags`` and ``silent_minutes`` (since last heard from; None: never)."""
    state = state_of(kiosk, settings, now)
    seen = parse_time(kiosk.get("last_seen"))
    silent = None if seen is None else max(0, int((now - seen).total_seconds() // 60))
    return {**kiosk, "state": state, "flags": flags_of(kiosk, state, settings, now), "silent_minutes": silent}


def judge_all(kiosks: list[dict[str, Any]], settings: FleetSettings, now: datetime.datetime) -> list[dict[str, Any]]:
    """Every kiosk judged, the flagged ones first (then by site and kiosk, as read)."""
    judged = [judge(kiosk, settings, now) for kiosk in kiosks]
    return sorted(judged, key=lambda kiosk: not kiosk["flags"])

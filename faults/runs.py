"""Every scenario by name, in the order a full run takes them."""

from __future__ import annotations

from .bridged import (district_broker_kill, district_hub_away, district_offline_day, province_broker_down,
                      province_hub_kill)
from .garbage import garbage_run
from .kills import broker_kill, hub_kill, kiosk_kill
from .outages import clock, hub_offline_queue_limit, kiosk_offline_8h
from .scenarios import Scenario

SCENARIOS: dict[str, Scenario] = {
    "kiosk-kill": kiosk_kill,
    "broker-kill": broker_kill,
    "hub-kill": hub_kill,
    "hub-offline-queue-limit": hub_offline_queue_limit,
    "kiosk-offline-8h": kiosk_offline_8h,
    "clock": clock,
    "garbage": garbage_run,
    "province-broker-down": province_broker_down,
    "district-broker-kill": district_broker_kill,
    "province-hub-kill": province_hub_kill,
    "district-offline-day": district_offline_day,
    "district-hub-away": district_hub_away,
}

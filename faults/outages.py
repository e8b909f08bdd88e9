"""Long outages and wrong clocks: the hub away past the broker's queue limit, a kiosk offline for eight hours,
kiosk clocks at 1970, a year ahead, and stepped back and forth mid-run."""

from __future__ import annotations

import sqlite3

from kiosk.config import HubSettings

from . import verify
from .procs import log_count, wait_until
from .scenarios import Run

QUEUE_LIMIT = 100
"""The broker's max_queued_messages in hub-offline-queue-limit: far below what the kiosks publish meanwhile."""
AHEAD = HubSettings().ahead
"""Events the publisher sends past the hub's watermark; the rest wait in the outbox."""
DROPPED = "Outgoing messages are being dropped"
"""What Mosquitto logs when a session's queue is full and it drops a message (it still PUBACKs the publisher)."""


def events_in(db) -> int:
    try:
        conn = verify.connect(db)
        try:
            return conn.execute("select count(*) from events").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.Error:
        return 0


def unpublished(db) -> int:
    conn = verify.connect(db)
    try:
        return conn.execute("select count(*) from outbox where published_at is null").fetchone()[0]
    finally:
        conn.close()


def published_all_it_may(db) -> bool:
    """True once the publisher has sent every event it may while the watermark stands still (hub.ahead past it)."""
    watermark = verify.kiosk_watermark(db)
    return unpublished(db) <= max(0, events_in(db) - watermark - AHEAD)


def warm_up(run: Run, rig, events: int = 60) -> None:
    """A first stream merged end to end, so the hub, its session and every kiosk's session exist at the broker."""
    for kiosk in rig.kiosks.values():
        rig.generate(kiosk, events=events, rate=0)
    rig.wait_generators(30)
    done, _ = rig.settle(30)
    run.check(done, "the warm-up stream was merged")


def hub_offline_queue_limit(run: Run) -> None:
    """Stop the hub (its session stays at the broker) while two kiosks publish far more than the broker's
    max_queued_messages: the broker PUBACKs and silently drops the excess. Start the hub again: the
    watermark stalls at the gap and the kiosks re-send from it."""
    per_kiosk = run.scale(3000, 400)
    rig = run.rig(max_queued=QUEUE_LIMIT)
    for number in (1, 2):
        rig.add_kiosk(f"k-{number}")
    rig.start_all()
    warm_up(run, rig)
    rig.hub.stop()
    run.fault()
    for kiosk in rig.kiosks.values():
        rig.generate(kiosk, events=events_in(kiosk.db) + per_kiosk, rate=0)
    rig.wait_generators(120)
    wait_until(lambda: all(published_all_it_may(k.db) for k in rig.kiosks.values()), 60,
               what="the kiosks publishing while the hub is away")
    drops = log_count(rig.broker.log, DROPPED)
    run.note(f"broker logged '{DROPPED}' {drops} times (queue limit {QUEUE_LIMIT}, {2 * per_kiosk} events published)")
    run.check(drops > 0, "the broker dropped messages while the hub was away (the case this scenario is for)")
    rig.start_hub()


def kiosk_offline_8h(run: Run) -> None:
    """Cut one kiosk's link for a simulated eight hours (its clock stepped forward half an hour at a time) while
    it records events; the other kiosk stays online. Restore the link: the same publisher process reconnects
    and the backlog is merged."""
    backlog = run.scale(2000, 300)
    rig = run.rig()
    offline = rig.add_kiosk("k-1", clock="+0", link=True)
    rig.add_kiosk("k-2")
    rig.start_all()
    warm_up(run, rig)
    offline.link.cut()
    run.fault()
    steps = 16  # half an hour each
    start = events_in(offline.db)
    rig.generate(rig.kiosks["k-2"], events=events_in(rig.kiosks["k-2"].db) + backlog // 4, rate=100)
    generator = rig.generate(offline, events=start + backlog, rate=max(100.0, backlog / 8))
    for step in range(1, steps + 1):
        wait_until(lambda: events_in(offline.db) >= start + backlog * step // steps or not generator.running, 60,
                   what="the offline kiosk's events")
        offline.set_clock(f"+{30 * step}m")
    generator.wait(60)
    waiting = unpublished(offline.db)
    run.note(f"offline kiosk recorded {events_in(offline.db) - start} events over a simulated 8 h; {waiting} of them still unpublished when the link came back")
    run.check(waiting >= backlog * 0.9, "the offline kiosk's backlog stayed in its outbox while the link was cut")
    offline.link.restore()


def clock(run: Run) -> None:
    """Three kiosks under libfaketime: one at 1970 (it refuses doses, check-ins still flow), one a year ahead,
    one stepped back a day, forward a month and back again mid-run. The hub merges by sequence."""
    per_kiosk = run.scale(3000, 300)
    rig = run.rig()
    rig.add_kiosk("k-1970", clock="@1970-01-01 00:05:00")
    rig.add_kiosk("k-ahead", clock="+365d")
    stepped = rig.add_kiosk("k-stepped", clock="+0")
    rig.start_all()
    for kiosk in rig.kiosks.values():
        rig.generate(kiosk, events=per_kiosk, rate=150)
    for fraction, spec in ((0.2, "-1d"), (0.4, "+30d"), (0.6, "-3h"), (0.8, "@1970-01-01 00:00:00"), (0.9, "+0")):
        wait_until(lambda: events_in(stepped.db) >= per_kiosk * fraction or not stepped.generating, 60,
                   what="the stepped kiosk's events")
        stepped.set_clock(spec)
        run.fault()
    run.fault(2)  # the two kiosks whose clocks are wrong from the start
    rig.wait_generators(120)
    doses = {k.id: dose_count(k.db) for k in rig.kiosks.values()}
    run.note(f"doses recorded per kiosk: {doses} (1970 refuses them: clock_not_set)")
    run.check(doses["k-1970"] == 0, "the kiosk at 1970 recorded no dose")
    run.check(doses["k-ahead"] > 0, "the kiosk a year ahead recorded doses")


def dose_count(db) -> int:
    conn = verify.connect(db)
    try:
        return conn.execute("select count(*) from events where type = 'DoseRecorded'").fetchone()[0]
    finally:
        conn.close()

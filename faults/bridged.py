"""Faults of the province tier: the province broker down, a district broker killed with its bridge queue, a province
worker killed mid-merge, a district cut off from the province for a day, a district hub away while its broker is
killed. Every event is counted at the province and at its district hub (faults/province.py)."""

from __future__ import annotations

import time

from . import verify
from .kills import stop_generators
from .outages import AHEAD, events_in
from .procs import wait_until
from .province import Province
from .scenarios import SETTLE_SECONDS, Run

RATE = 40.0
"""Events per second each kiosk's generator writes while the faults strike (a busy site writes far fewer)."""
DAY = {True: 2000, False: 300}
"""A day's events per kiosk (full, small): a busy kiosk sees about 300 people, six to seven events each; the small
count is about an hour of it."""
OFFLINE_SECONDS = {True: 60.0, False: 6.0}
"""How long the district stays cut off at least (full, small), its day recorded: the kiosks, which see their district
hub online, re-send what the province has not acknowledged every resend_seconds meanwhile, into the bridge's queue."""


def stream(run: Run, seconds: float, **options) -> Province:
    """A started province whose every kiosk has a generator writing for about ``seconds`` at most; a scenario
    stops them once its faults are over, so give it room for the catch-ups too."""
    province = run.province(kiosks=run.scale(2, 1), **options)
    province.start_all()
    for district in province.districts.values():
        for kiosk in district.kiosks.values():
            district.generate(kiosk, events=int(RATE * seconds), rate=RATE)
    return province


def catch_up(run: Run, province: Province, kiosks=None) -> float:
    """Seconds until the province's watermark covers every event these kiosks (default: all) had recorded when it
    was called: the time the province takes to catch up after a fault ends."""
    chosen = kiosks if kiosks is not None else list(province.kiosks.values())
    started = time.monotonic()
    recorded = {kiosk.id: events_in(kiosk.db) for kiosk in chosen}
    wait_until(lambda: all(verify.hub_watermarks(province.url).get(k, 0) >= top for k, top in recorded.items()),
               SETTLE_SECONDS[run.full], interval=0.1, what="the province catching up")
    return time.monotonic() - started


def province_broker_down(run: Run) -> None:
    """Stop the province broker (SIGTERM: it saves its state) for a while mid-stream, then start it again: the
    bridges reconnect and deliver what they queued; the kiosks re-send what the province never acknowledged."""
    outages, outage_s = run.scale(3, 1), run.scale(20.0, 4.0)
    province = stream(run, outages * (outage_s + 40) + 4)
    times, queued = [], 0
    for _ in range(outages):
        run.pause(1.0, 3.0)
        province.broker.stop()
        run.fault()
        time.sleep(outage_s)
        at_province = verify.hub_watermarks(province.url)
        queued += sum(published_past(district, at_province) for district in province.districts.values())
        province.broker.start()
        times.append(catch_up(run, province))
    stop_generators(province)
    run.note(f"{outages} province broker outage(s) of {outage_s:.0f} s; caught up in " + ", ".join(f"{t:.1f} s" for t in times))
    run.note(f"the district brokers held {queued} events for the province at the ends of the outages (published by "
             "the kiosks, beyond the province's watermark)")
    run.check(queued > 0, "the district brokers held events for the absent province (the case this scenario is for)")


def district_broker_kill(run: Run) -> None:
    """During a province outage, SIGKILL a district broker (its bridge queue, held in memory, is lost) and start it
    again; then bring the province back. The kiosks re-send what the province never acknowledged."""
    rounds, outage_s = run.scale(5, 1), run.scale(8.0, 3.0)
    province = stream(run, rounds * (outage_s + 20) + 4)
    times, queued = [], 0
    for round_ in range(rounds):
        victim = list(province.districts.values())[round_ % len(province.districts)]
        run.pause(1.0, 3.0)
        province.broker.stop()
        run.fault()
        time.sleep(outage_s / 2)
        queued += published_past(victim, verify.hub_watermarks(province.url))
        victim.broker.kill()
        run.fault()
        time.sleep(run.rng.uniform(0.0, 0.5))
        victim.broker.start()
        time.sleep(outage_s / 2)
        province.broker.start()
        times.append(catch_up(run, province))
    stop_generators(province)
    run.note(f"{rounds} province outage(s) of {outage_s:.0f} s, each with a district broker killed; caught up in "
             + ", ".join(f"{t:.1f} s" for t in times))
    run.note(f"the killed district brokers held {queued} events for the province (published by the kiosks, PUBACKed, "
             "beyond the province's watermark) when they were killed")
    run.check(queued > 0, "a killed district broker held events for the province (the loss this scenario is for)")


def published_past(district, watermarks: dict[str, int]) -> int:
    """Events the district's kiosks have published (their broker took them) past these watermarks (a hub's): with
    that hub away, what the district broker holds for it."""
    held = 0
    for kiosk in district.kiosks.values():
        conn = verify.connect(kiosk.db)
        try:
            held += conn.execute("select count(*) from outbox where published_at is not null and seq > ?",
                                 [watermarks.get(kiosk.id, 0)]).fetchone()[0]
        finally:
            conn.close()
    return held


def province_hub_kill(run: Run) -> None:
    """SIGKILL a province worker at a random moment while it merges (each worker in turn), and start it again: what
    it had not committed is delivered again from its persistent session and absorbed."""
    kills = run.scale(20, 3)
    province = stream(run, kills * 6 + 4)
    times = []
    for number in range(kills):
        worker = province.workers[number % len(province.workers)]
        run.pause(0.5, 2.0)
        if worker.kill():
            run.fault()
        else:
            run.note(f"{worker.name} had exited by itself: {worker.returncode}:\n{worker.tail(5)}")
        run.pause(0.0, 0.3)
        province.start_worker(worker)
        times.append(catch_up(run, province))
    stop_generators(province)
    run.note(f"{kills} province worker kills; caught up in {min(times):.1f}-{max(times):.1f} s")


def district_offline_day(run: Run) -> None:
    """Cut one district's uplink to the province while its kiosks record a day's events (its district hub merges
    what the kiosks send meanwhile: up to hub.ahead events each past the province's watermark); the other district
    streams on. Restore the uplink: the province catches up."""
    per_kiosk = DAY[run.full]
    province = run.province(kiosks=run.scale(2, 1))
    province.start_all()
    offline, online = province.districts["d1"], province.districts["d2"]
    offline.uplink.cut()
    cut_at = time.monotonic()
    run.fault()
    for kiosk in online.kiosks.values():
        online.generate(kiosk, events=per_kiosk // 4, rate=RATE)
    for kiosk in offline.kiosks.values():
        offline.generate(kiosk, events=per_kiosk, rate=0)
    offline.wait_generators(SETTLE_SECONDS[run.full])
    mine = {kiosk.id: kiosk.db for kiosk in offline.kiosks.values()}
    recorded = {kiosk: events_in(db) for kiosk, db in mine.items()}
    reachable = {kiosk: min(top, AHEAD) for kiosk, top in recorded.items()}
    wait_until(lambda: all(verify.hub_watermarks(offline.hub_db).get(k, 0) >= top for k, top in reachable.items()),
               SETTLE_SECONDS[run.full], interval=0.25, what="the offline district's hub merging its day while cut off")
    at_province = sum(verify.hub_watermarks(province.url).get(kiosk, 0) for kiosk in mine)
    run.check(at_province == 0, f"the province had none of the offline district's events ({at_province} merged)")
    beyond = sum(recorded.values()) - sum(reachable.values())
    if beyond:
        run.note(f"{beyond} of d1's events stayed in its kiosks' outboxes, beyond hub.ahead ({AHEAD}) past the "
                 "province's watermark: its district hub got them only after the province acknowledged")
    time.sleep(max(0.0, cut_at + OFFLINE_SECONDS[run.full] - time.monotonic()))
    offline.uplink.restore()
    cut_for = time.monotonic() - cut_at
    seconds = catch_up(run, province, list(offline.kiosks.values()))
    run.note(f"district d1 cut off for {cut_for:.0f} s with a day's {sum(recorded.values())} events ({per_kiosk} per "
             f"kiosk), merged by its own hub meanwhile; the province caught up in {seconds:.1f} s after the uplink came "
             f"back, absorbing {province.absorbed(list(mine))} re-sent copies the bridge had queued")


def district_hub_away(run: Run) -> None:
    """Stop d1's district hub (its session, with what it has not merged, waits at the district broker), SIGKILL the
    district broker meanwhile (that queue is lost) and start both again, the province up all along.

    The province has every event and acknowledges it, but the kiosks wait for their district hub's acknowledgement
    too (hub.province_acks): they send again from its watermark what the killed broker lost (docs/province.md)."""
    rounds, away_s = run.scale(3, 1), run.scale(10.0, 3.0)
    province = stream(run, rounds * (away_s + 20) + 4)
    d1 = province.districts["d1"]
    held = 0
    for _ in range(rounds):
        run.pause(1.0, 3.0)
        d1.hub.stop()
        run.fault()
        time.sleep(away_s)
        held += published_past(d1, verify.hub_watermarks(d1.hub_db))
        d1.broker.kill()
        run.fault()
        d1.broker.start()
        d1.start_hub()
    stop_generators(province)
    run.note(f"the killed district broker held {held} events for its absent district hub")
    run.check(held > 0, "the killed district broker held events for its absent district hub (the loss this scenario "
                        "is for)")

"""kill -9 at random moments: the kiosk's publisher, the broker, the hub; each restarted, over a live stream of events."""

from __future__ import annotations

import time

from .scenarios import Run

RATE = 150.0
"""Events per second each generator writes while the faults strike (a busy site writes far fewer)."""


def stream(run: Run, kiosks: int, seconds: float, **rig_options):
    """A started rig with this many kiosks, each with a generator writing for about ``seconds``."""
    rig = run.rig(**rig_options)
    for number in range(1, kiosks + 1):
        rig.add_kiosk(f"k-{number}")
    rig.start_all()
    for kiosk in rig.kiosks.values():
        rig.generate(kiosk, events=int(RATE * seconds), rate=RATE)
    return rig


def stop_generators(rig) -> None:
    """End the generators where they are: what they committed is what the users were told is saved."""
    for kiosk in rig.kiosks.values():
        for generator in kiosk.generators:
            generator.stop()


def kiosk_kill(run: Run) -> None:
    """SIGKILL one kiosk's publisher at a random moment after each start (while it connects, resends or
    publishes), restart it at once or after a short outage; a second kiosk streams undisturbed."""
    kills = run.scale(200, 10)
    rig = stream(run, 2, kills * 1.2 + 5)
    victim = rig.kiosks["k-1"]
    for _ in range(kills):
        run.pause(0.05, 1.5)
        if victim.publisher.kill():
            run.fault()
        else:
            run.note(f"publisher had exited by itself: {victim.publisher.returncode}")
        run.pause(0.0, 0.3)
        victim.publisher.start()
    stop_generators(rig)
    lives = victim.publisher.log.read_text(errors="replace").split("--- start ")[1:-1]
    connected = sum("connected to" in life for life in lives)
    run.note(f"{connected} of {len(lives)} killed publishers had connected to the broker; the others died while starting")


def broker_kill(run: Run) -> None:
    """SIGKILL Mosquitto mid-stream (it loses what it had not autosaved, queued events and the hub's session
    included) and start it again on the same port with the same persistence folder."""
    kills = run.scale(20, 3)
    rig = stream(run, 2, kills * 2.2 + 5)
    for _ in range(kills):
        run.pause(0.5, 2.5)
        rig.broker.kill()
        run.fault()
        run.pause(0.0, 0.5)
        rig.broker.start()
    stop_generators(rig)


def hub_kill(run: Run) -> None:
    """SIGKILL `hub run` at a random moment while it merges two streams, and start it again."""
    kills = run.scale(50, 5)
    rig = stream(run, 2, kills * 1.5 + 5)
    started = time.monotonic()
    for _ in range(kills):
        run.pause(0.2, 1.2)
        if rig.hub.kill():
            run.fault()
        else:
            run.note(f"hub had exited by itself: {rig.hub.returncode}:\n{rig.hub.tail(5)}")
        run.pause(0.0, 0.3)
        rig.start_hub()
    run.note(f"{kills} hub kills in {time.monotonic() - started:.0f} s")
    stop_generators(rig)

"""The scan part of a kiosk process: camera -> decoder -> desk -> lights and buzzer, and the alarm for a severe reaction."""

from __future__ import annotations

from typing import Callable

from ..camera import open_source
from ..config import Config
from ..decode import make_decoder
from ..notices import live_messages
from ..queue.site import Site
from ..queue.watch import Watcher
from .desk import Desk, ScanOutcome
from .feedback import Feedback
from .loop import Scanner

STALLED_SECONDS = 20.0
"""A scanner that has read no frame for this long, and is not waiting to reopen its camera, is wedged."""


class ScanPart:
    """Camera -> decoder -> check-in -> GPIO feedback; tells ``announce`` about every outcome, sounds the alarm."""

    def __init__(self, config: Config, site: Site, announce: Callable[[dict], None], *, pin_factory=None):
        self.config = config
        self.site = site
        self.announce = announce
        self.feedback = Feedback(config.feedback, pin_factory)
        self.desk = Desk(self.site, self.feedback, announce=self.publish_outcome)
        self.scanner = Scanner(
            self.open_camera,
            make_decoder(config.scanner.decoder, budget_ms=config.scanner.budget_ms),
            self.desk.handle,
            max_fps=config.scanner.max_fps,
            hold_seconds=config.scanner.hold_seconds,
            reopen_seconds=config.scanner.reopen_seconds,
        )
        self.alarms = Watcher(self.site.store, self.sound_alarms)

    def open_camera(self):
        camera = self.config.camera
        return open_source(
            camera.source, width=camera.width, height=camera.height, fps=camera.fps,
            repeat=camera.replay_repeat, loop=camera.replay_loop, settings=camera,
        )

    def publish_outcome(self, outcome: ScanOutcome) -> None:
        self.announce({"type": "scan", "outcome": outcome.public()})

    def sound_alarms(self, events: list[dict]) -> None:
        if any(message["type"] == "alarm" for message in live_messages(events)):
            self.feedback.alarm()

    def healthy(self) -> bool:
        """For the systemd watchdog: the loop is alive and reading frames, or waiting to reopen its camera."""
        health = self.scanner.health()
        if health.state in ("camera_error", "starting", "finished"):
            return self.scanner.running or health.state == "finished"
        return health.last_frame_age is not None and health.last_frame_age < STALLED_SECONDS

    def start(self) -> None:
        self.scanner.start()
        self.alarms.start()
        self.feedback.idle()

    def stop(self) -> None:
        """Stop the scanner and the alarm watcher, then release the pins and the database connection."""
        self.scanner.stop()
        self.alarms.stop()
        self.feedback.close()
        self.site.store.close()

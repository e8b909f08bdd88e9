"""Builds a kiosk's parts from its config and runs them: the scanner, the screens, or all in one process.

In production `kiosk scan`, `kiosk web` and `kiosk publish` are separate
systemd units sharing the SQLite file, so a camera crash cannot take the screen
down; `kiosk run` runs them in one process for development and the demo (the
publisher only when a broker is given).
"""

from __future__ import annotations

import dataclasses
import logging
import signal
import threading
from typing import Callable

from daemon import systemd
from .camera import open_source
from .config import Config
from .decode import make_decoder
from .scan.desk import Desk, ScanOutcome
from .scan.feedback import Feedback
from .queue.actions import reanchor_observations
from .queue.site import Site
from .queue.store import Store
from .queue.watch import Watcher
from .notices import Sender, live_messages, socket_path
from .scan.loop import Scanner
from .uplink import health as uplink_health

logger = logging.getLogger(__name__)

STALLED_SECONDS = 20.0
"""A scanner that has read no frame for this long, and is not waiting to reopen its camera, is wedged."""
HEALTH_REPORT_SECONDS = 2.0


def build_site(config: Config) -> Site:
    """The use cases' context for this kiosk."""
    return Site(Store(config.kiosk.db), config.kiosk.id, config.queue)


class ScanPart:
    """Camera -> decoder -> check-in -> GPIO feedback; tells ``announce`` about every outcome."""

    def __init__(self, config: Config, announce: Callable[[dict], None], *, pin_factory=None, site: Site | None = None):
        self.config = config
        self.site = site or build_site(config)
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
            repeat=camera.replay_repeat, loop=camera.replay_loop,
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
            return self.scanner.thread is not None and (self.scanner.thread.is_alive() or health.state == "finished")
        return health.last_frame_age is not None and health.last_frame_age < STALLED_SECONDS

    def start(self) -> None:
        self.scanner.start()
        self.alarms.start()
        self.feedback.idle()

    def close(self) -> None:
        self.scanner.stop()
        self.alarms.stop()
        self.feedback.close()
        self.site.store.close()


class WebPart:
    """The screens and the JSON API; follows the database so every screen updates within a second."""

    def __init__(self, config: Config, live, scanner_health: Callable[[], object] | None, *, site: Site | None = None):
        from .web import Services, create_app
        from .web.feed import feeder
        from .web.serving import screen_server

        self.config = config
        self.site = site or build_site(config)
        self.live = live
        reanchor_observations(self.site)
        self.app = create_app(Services(config, self.site, live, scanner_health))
        self.feed = Watcher(self.site.store, feeder(live))
        self.server = screen_server(self.app, config.web.host, config.web.port)

    @property
    def url(self) -> str:
        return f"http://{self.config.web.host}:{self.server.port}/"

    def start(self) -> None:
        self.feed.start()

    def healthy(self) -> bool:
        return self.feed.thread.is_alive()

    def close(self) -> None:
        self.feed.stop()
        self.site.store.close()


def serve(server, parts: list, on_ready: Callable[[str], None], ready_line: str, healthy: Callable[[], bool]) -> None:
    """Start the parts, serve until SIGTERM or SIGINT (a server's loop, or an event for a part without one)."""
    done = threading.Event()

    def shut_down(*_):
        done.set()
        if server is not None:
            threading.Thread(target=server.shutdown).start()

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, shut_down)
    for part in parts:
        part.start()
    watchdog = systemd.Watchdog(healthy).start()
    systemd.ready(ready_line)
    on_ready(ready_line)
    try:
        if server is not None:
            server.serve_forever()
        else:
            done.wait()
    finally:
        systemd.stopping()
        watchdog.stop()
        for part in reversed(parts):
            part.close()
        logger.info("kiosk stopped")


class Kiosk:
    """Everything one kiosk runs, in one process (development and the demo)."""

    def __init__(self, config: Config, *, pin_factory=None):
        from .web.live import Live

        self.config = config
        self.live = Live()
        site = build_site(config)  # one catalogue and one migration for both parts of this process
        self.scan = ScanPart(config, self.live.publish, pin_factory=pin_factory, site=site)
        self.web = WebPart(config, self.live, self.scan.scanner.health, site=site)
        self.publish = None
        if config.hub.broker:
            from .uplink.part import PublishPart

            self.publish = PublishPart(config, lambda: self.scan.scanner.health().fps)
        else:
            logger.info("publisher off: hub.broker is empty (kiosk run --broker URL); events stay in the outbox")

    def serve(self, on_ready=print) -> None:
        publisher = self.publish.description if self.publish else "publisher off (no hub.broker)"
        line = f"kiosk {self.config.kiosk.id}: screen at {self.web.url} (camera {self.config.camera.source}; {publisher})"
        parts = [self.web, self.scan] + ([self.publish] if self.publish else [])
        serve(self.web.server, parts, on_ready, line, lambda: all(part.healthy() for part in parts))


class ScanService:
    """`kiosk scan`: the scanner alone, sending scan outcomes and its health to the screen's socket."""

    def __init__(self, config: Config, *, pin_factory=None):
        self.config = config
        self.sender = Sender(socket_path(config.web.live_socket, config.kiosk.db))
        self.publisher = Sender(uplink_health.socket_path(config.kiosk.db))  # the frame rate for the hub's status
        self.part = ScanPart(config, self.sender.publish, pin_factory=pin_factory)
        self.reporter = threading.Thread(target=self.report_health, name="health-report", daemon=True)
        self.stopped = threading.Event()

    def report_health(self) -> None:
        while not self.stopped.wait(HEALTH_REPORT_SECONDS):
            report = {"type": "health", "health": dataclasses.asdict(self.part.scanner.health())}
            self.sender.publish(report)
            self.publisher.publish(report)

    def start(self) -> None:
        self.part.start()
        self.reporter.start()

    def close(self) -> None:
        self.stopped.set()
        self.part.close()
        self.sender.close()
        self.publisher.close()

    def serve(self, on_ready=print) -> None:
        line = f"kiosk {self.config.kiosk.id}: scanner running (camera {self.config.camera.source})"
        serve(None, [self], on_ready, line, self.part.healthy)


class WebService:
    """`kiosk web`: the screens alone, fed by the database and by `kiosk scan` through its socket."""

    def __init__(self, config: Config):
        from .web.live import Live, Receiver

        self.config = config
        self.live = Live()
        self.receiver = Receiver(socket_path(config.web.live_socket, config.kiosk.db), self.live)
        self.part = WebPart(config, self.live, self.receiver.scanner_health)

    def start(self) -> None:
        self.receiver.start()
        self.part.start()

    def close(self) -> None:
        self.receiver.stop()
        self.part.close()

    def serve(self, on_ready=print) -> None:
        line = f"kiosk {self.config.kiosk.id}: screen at {self.part.url}"
        serve(self.part.server, [self], on_ready, line, self.part.healthy)

"""The one composition root: builds a kiosk's parts from its config and runs them, all in one process or one part per process.

In production `kiosk scan`, `kiosk web` and `kiosk publish` are separate
systemd units sharing the SQLite file, so a camera crash cannot take the screen
down; `kiosk run` runs them in one process for development and the demo (the
publisher only when a broker is given). The parts (kiosk.scan.part,
kiosk.web.part, kiosk.uplink.part) live beside what they run; between
processes they talk through kiosk.notices. Each part is imported only by
the processes that run it: `kiosk scan` never loads Flask or paho, `kiosk web`
and `kiosk publish` never load the camera, decoder or GPIO libraries.
"""

from __future__ import annotations

import logging

from daemon.serve import serve

from .config import Config
from .notices import HealthInbox, HealthReporter, Receiver, Sender, socket_path
from .queue.site import Site
from .queue.store import Store

logger = logging.getLogger(__name__)


def build_site(config: Config) -> Site:
    """The use cases' context for this kiosk, on a new database connection."""
    return Site(Store(config.kiosk.db), config.kiosk.id, config.queue)


def live_socket(config: Config) -> str:
    """Where `kiosk web` hears `kiosk scan`: web.live_socket, else live.sock beside the database."""
    return socket_path("live", config.kiosk.db, config.web.live_socket)


def publish_socket(config: Config) -> str:
    """Where `kiosk publish` hears the scanner's health: publish.sock beside the database."""
    return socket_path("publish", config.kiosk.db)


class Kiosk:
    """`kiosk run`: everything one kiosk runs, in one process (development and the demo)."""

    def __init__(self, config: Config, *, pin_factory=None):
        from .scan.part import ScanPart
        from .web.live import Live
        from .web.part import WebPart

        self.config = config
        self.live = Live()
        site = build_site(config)  # one catalogue and one migration for both parts of this process
        self.scan = ScanPart(config, site, self.live.publish, pin_factory=pin_factory)
        self.web = WebPart(config, site, self.live, self.scan.scanner.health)
        self.publish = None
        if config.hub.broker:
            from .uplink.part import PublishPart

            self.publish = PublishPart(config, lambda: self.scan.scanner.health().fps)
        else:
            logger.info("publisher off: hub.broker is empty (kiosk run --broker URL); events stay in the outbox")

    @property
    def parts(self) -> list:
        return [self.web, self.scan] + ([self.publish] if self.publish else [])

    def serve(self, on_ready=print) -> None:
        publisher = self.publish.description if self.publish else "publisher off (no hub.broker)"
        line = f"kiosk {self.config.kiosk.id}: screen at {self.web.url} (camera {self.config.camera.source}; {publisher})"
        serve(self.parts, line, server=self.web.server, on_ready=on_ready)


class ScanService:
    """`kiosk scan`: the scanner alone, sending scan outcomes and its health to the screen's socket, its health to the publisher's."""

    def __init__(self, config: Config, *, pin_factory=None):
        from .scan.part import ScanPart

        self.config = config
        self.sender = Sender(live_socket(config))
        self.publisher = Sender(publish_socket(config))  # the frame rate for the hub's status
        self.part = ScanPart(config, build_site(config), self.sender.publish, pin_factory=pin_factory)
        self.reporter = HealthReporter(self.part.scanner.health, [self.sender, self.publisher])

    def start(self) -> None:
        self.part.start()
        self.reporter.start()

    def healthy(self) -> bool:
        return self.part.healthy()

    def stop(self) -> None:
        self.reporter.stop()
        self.part.stop()
        self.sender.close()
        self.publisher.close()

    def serve(self, on_ready=print) -> None:
        line = f"kiosk {self.config.kiosk.id}: scanner running (camera {self.config.camera.source})"
        serve([self], line, on_ready=on_ready)


class WebService:
    """`kiosk web`: the screens alone, fed by the database and by `kiosk scan` through its socket."""

    def __init__(self, config: Config):
        from .web.live import Live
        from .web.part import WebPart

        self.config = config
        self.live = Live()
        self.receiver = Receiver(live_socket(config), self.live.publish)
        self.part = WebPart(config, build_site(config), self.live, self.receiver.scanner_health)

    def start(self) -> None:
        self.receiver.start()
        self.part.start()

    def healthy(self) -> bool:
        return self.part.healthy()

    def stop(self) -> None:
        self.receiver.stop()
        self.receiver.close()
        self.part.stop()

    def serve(self, on_ready=print) -> None:
        line = f"kiosk {self.config.kiosk.id}: screen at {self.part.url}"
        serve([self], line, server=self.part.server, on_ready=on_ready)


class PublishService:
    """`kiosk publish`: the publisher alone, hearing the scanner's frame rate on publish.sock beside the database."""

    def __init__(self, config: Config):
        from .uplink.part import PublishPart

        self.config = config
        self.inbox: HealthInbox | None = None
        self.part = PublishPart(config, self.camera_fps)  # checks the hub settings before the socket is bound
        self.inbox = HealthInbox(publish_socket(config))

    def camera_fps(self) -> float | None:
        return self.inbox.camera_fps() if self.inbox else None

    def start(self) -> None:
        self.part.start()

    def healthy(self) -> bool:
        return self.part.healthy()

    def stop(self) -> None:
        self.part.stop()
        if self.inbox:
            self.inbox.close()

    def serve(self, on_ready=print) -> None:
        line = f"kiosk {self.config.kiosk.id}: {self.part.description}"
        serve([self], line, on_ready=on_ready)

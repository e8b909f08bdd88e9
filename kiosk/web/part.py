"""The web part of a kiosk process: the screens and the JSON API, following the database so every screen updates within a second."""

from __future__ import annotations

from typing import Callable

from ..config import Config
from ..queue.actions import reanchor_observations
from ..queue.site import Site
from ..queue.watch import Watcher
from . import Services, create_app
from .live import Live, feeder
from .serving import screen_server


class WebPart:
    """The Flask app, its HTTP server (served by whoever runs the process) and the watcher that feeds ``live``."""

    def __init__(self, config: Config, site: Site, live: Live, scanner_health: Callable[[], object] | None):
        self.config = config
        self.site = site
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
        return self.feed.running

    def stop(self) -> None:
        """Stop the watcher and release the database connection (the server is shut down by whoever serves it)."""
        self.feed.stop()
        self.site.store.close()

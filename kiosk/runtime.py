"""Builds a whole kiosk from its config (store, feedback, decoder, desk, scanner, screen) and runs it."""

from __future__ import annotations

import logging
import signal
import threading

from werkzeug.serving import make_server

from .camera import open_source
from .config import Config
from .decode import make_decoder
from .desk import Desk, ScanOutcome
from .feedback import Feedback
from .queue.store import Store
from .scan import Scanner
from .web import Services, create_app
from .web.live import Live

logger = logging.getLogger(__name__)


class Kiosk:
    """Everything one kiosk runs, in one process (development and demo; production splits it per unit)."""

    def __init__(self, config: Config, *, pin_factory=None):
        self.config = config
        self.store = Store(config.kiosk.db)
        self.live = Live()
        self.feedback = Feedback(config.feedback, pin_factory)
        self.desk = Desk(self.store, self.feedback, announce=self.announce)
        self.scanner = Scanner(
            self.open_camera,
            make_decoder(config.scanner.decoder, budget_ms=config.scanner.budget_ms),
            self.desk.handle,
            max_fps=config.scanner.max_fps,
            hold_seconds=config.scanner.hold_seconds,
            reopen_seconds=config.scanner.reopen_seconds,
        )
        self.app = create_app(Services(config, self.store, self.live, self.scanner.health))
        self.server = None

    def open_camera(self):
        camera = self.config.camera
        return open_source(
            camera.source, width=camera.width, height=camera.height, fps=camera.fps,
            repeat=camera.replay_repeat, loop=camera.replay_loop,
        )

    def announce(self, outcome: ScanOutcome) -> None:
        self.live.publish({"type": "scan", "outcome": outcome.public()})

    def serve(self, on_ready=print) -> None:
        """Start the scanner and serve the screen until SIGTERM or SIGINT."""
        web = self.config.web
        self.server = make_server(web.host, web.port, self.app, threaded=True)
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: threading.Thread(target=self.server.shutdown).start())
        self.scanner.start()
        self.feedback.idle()
        on_ready(f"kiosk {self.config.kiosk.id}: screen at http://{web.host}:{self.server.port}/ (camera {self.config.camera.source})")
        try:
            self.server.serve_forever()
        finally:
            self.close()

    def close(self) -> None:
        self.scanner.stop()
        self.feedback.close()
        self.store.close()
        logger.info("kiosk stopped")

"""`hub web` as a daemon part: the app on the hub database and its server, run by daemon.serve (READY, watchdog, SIGTERM)."""

from __future__ import annotations

import logging
import ssl
from pathlib import Path

from daemon.serve import serve

from .. import credentials
from ..config import HubConfig
from ..daily import CutoffWatch
from ..errors import StoreError
from ..store import Store
from ..store.open import open_store
from . import Services, WebSettings, create_app
from .serving import tls_context, workspace_server

logger = logging.getLogger(__name__)


class WebPart:
    """The workspace's app and server on one store; healthy while the database answers."""

    def __init__(self, store: Store, db: str | Path, host: str, port: int, context: ssl.SSLContext | None = None,
                 settings: WebSettings | None = None, config: HubConfig | None = None):
        self.store = store
        self.app = create_app(Services(store, db, settings or WebSettings(secret_key=credentials.web_secret()),
                                       config=config or HubConfig()))
        self.server = workspace_server(self.app, host, port, context)
        self.scheme = "https" if context is not None else "http"
        self.cutoff = CutoffWatch(lambda: open_store(db), (config or HubConfig()).report)

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.server.host}:{self.server.port}/"

    def start(self) -> None:
        self.cutoff.start()
        if self.app.config["SECRET_KEY"] and not credentials.web_secret():
            logger.warning("no %s credential or $%s: a restart of hub web signs everybody out",
                           credentials.WEB_SECRET_CREDENTIAL, credentials.WEB_SECRET_ENV)

    def healthy(self) -> bool:
        try:
            self.store.ping()
        except StoreError as exc:
            logger.error("the workspace cannot read its database: %s", exc)
            return False
        return True

    def stop(self) -> None:
        self.cutoff.stop()
        self.store.close()


def serve_workspace(db: str | Path, host: str, port: int, tls: tuple[str | None, str | None] = (None, None),
                    config: HubConfig | None = None) -> None:
    """`hub web`: serve until SIGTERM or Ctrl-C; raise ValueError for half a TLS pair, OSError for unreadable files."""
    cert, key = tls
    if bool(cert) != bool(key):
        raise ValueError("--tls-cert and --tls-key go together")
    context = tls_context(cert, key) if cert and key else None
    part = WebPart(open_store(db), db, host, port, context, config=config)
    serve([part], f"hub web: workspace at {part.url}", server=part.server)

"""The kiosk's Flask app: the citizen screen, staff sign-in, languages, live updates and health."""

from __future__ import annotations

import logging
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from ..config import Config
from ..queue.site import Site
from ..queue.store import Store
from .live import Live, LiveSessionCookie

logger = logging.getLogger(__name__)


@dataclass
class Services:
    """The app's collaborators, kept in ``app.extensions["kiosk"]``."""

    config: Config
    site: Site
    live: Live = field(default_factory=Live)
    scanner_health: Callable[[], object] | None = None
    """The scanner's health: a kiosk.scan.loop.Health in one process, a dict relayed by `kiosk scan`, None when unknown."""

    @property
    def store(self) -> Store:
        return self.site.store


def create_app(services: Services) -> Flask:
    """Build the Flask app around ``services``.

    With ``web.trusted_proxies`` set, the client's address and scheme come from that many proxies'
    X-Forwarded-* headers (lockouts count per real address; the cookie is Secure over HTTPS); else the headers are ignored.
    """
    app = Flask(__name__)
    hops = services.config.web.trusted_proxies
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]
    app.config.update(
        SECRET_KEY=services.config.web.secret_key or stored_secret_key(Path(services.config.kiosk.db).parent),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        JSON_AS_ASCII=False,
        PERMANENT_SESSION_LIFETIME=int(services.config.web.session_minutes * 60),  # the cookie's; the server ends sessions itself
        WTF_CSRF_TIME_LIMIT=None,  # a CSRF token lives as long as its session
        KIOSK_STAFF_HOME="/supervisor/",  # where sign-in leads when no page asked for it
    )
    app.extensions["kiosk"] = services
    from . import api, auth, health, i18n, inputs, labels, screen, supervisor

    inputs.init_app(app)  # first: a request with a token in its URL or unstorable text goes no further
    auth.init_app(app)
    app.session_interface = LiveSessionCookie()  # replaces staffweb's: the same cookie, untouched by background refreshes
    i18n.init_app(app)
    labels.init_app(app)
    app.register_blueprint(screen.bp)
    app.register_blueprint(health.bp)
    app.register_blueprint(supervisor.bp)
    app.register_blueprint(api.bp)
    return app


SECRET_KEY_FILE = "web-secret-key"


def stored_secret_key(folder: Path) -> str:
    """The session signing key kept beside the database (made there, readable by its owner only, on first use), so a
    restart of the screens does not sign everyone out; with an unwritable folder, a key for this start only."""
    path = folder / SECRET_KEY_FILE
    try:
        return path.read_text(encoding="ascii").strip() or write_key(path)
    except FileNotFoundError:
        return write_key(path)
    except OSError as exc:
        logger.warning("cannot read the session key %s (%s): signing sessions with a key for this start only", path, exc)
        return secrets.token_hex(32)


def write_key(path: Path) -> str:
    key = secrets.token_hex(32)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # never readable by others, not even for a moment
        with os.fdopen(fd, "w", encoding="ascii") as out:
            out.write(key + "\n")
        return key
    except FileExistsError:  # another process made it meanwhile: use theirs
        return path.read_text(encoding="ascii").strip()
    except OSError as exc:
        logger.warning("cannot keep the session key in %s (%s): signing sessions with a key for this start only", path, exc)
        return key

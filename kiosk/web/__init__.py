"""The kiosk's Flask app: the citizen screen, staff sign-in, languages, live updates and health."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Callable

from flask import Flask

from ..config import Config
from ..queue.site import Site
from ..queue.store import Store
from .live import Live


@dataclass
class Services:
    """The app's collaborators, kept in ``app.extensions["kiosk"]``."""

    config: Config
    site: Site
    live: Live = field(default_factory=Live)
    scanner_health: Callable[[], object] | None = None
    """The scanner's health: a scan.Health in one process, a dict relayed by `kiosk scan`, None when unknown."""

    @property
    def store(self) -> Store:
        return self.site.store


def create_app(services: Services) -> Flask:
    """Build the Flask app around ``services``."""
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=services.config.web.secret_key or secrets.token_hex(32),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        JSON_AS_ASCII=False,
        PERMANENT_SESSION_LIFETIME=int(services.config.web.session_minutes * 60),  # idle: refreshed by each request
        WTF_CSRF_TIME_LIMIT=None,  # a CSRF token lives as long as its session
        KIOSK_STAFF_HOME="/supervisor/",  # where sign-in leads when no page asked for it
    )
    app.extensions["kiosk"] = services
    from . import api, auth, health, i18n, screen, supervisor

    auth.init_app(app)
    i18n.init_app(app)
    app.register_blueprint(screen.bp)
    app.register_blueprint(health.bp)
    app.register_blueprint(supervisor.bp)
    app.register_blueprint(api.bp)
    return app

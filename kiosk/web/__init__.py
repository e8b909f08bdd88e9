"""The kiosk's Flask app: the citizen screen, staff sign-in, languages, live updates and health."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Callable

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

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
        SECRET_KEY=services.config.web.secret_key or secrets.token_hex(32),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        JSON_AS_ASCII=False,
        PERMANENT_SESSION_LIFETIME=int(services.config.web.session_minutes * 60),  # the cookie's; the server ends sessions itself
        WTF_CSRF_TIME_LIMIT=None,  # a CSRF token lives as long as its session
        KIOSK_STAFF_HOME="/supervisor/",  # where sign-in leads when no page asked for it
    )
    app.extensions["kiosk"] = services
    from . import api, auth, health, i18n, inputs, screen, supervisor

    inputs.init_app(app)  # first: a request with a token in its URL or unstorable text goes no further
    auth.init_app(app)
    i18n.init_app(app)
    app.register_blueprint(screen.bp)
    app.register_blueprint(health.bp)
    app.register_blueprint(supervisor.bp)
    app.register_blueprint(api.bp)
    return app

"""The district workspace (`hub web`): a Flask app for the district office's browsers, built by ``create_app(services)``.

Blueprints: auth.py (sign-in, sign-out, password change, the role decorators),
i18n.py (Vietnamese by default, English), home.py (what needs you today),
audit.py (the admin's audit log), health.py (/healthz), people.py (a person's search and record),
corrections.py (the record's corrections), conflicts.py (the conflict queues and their resolutions), police.py (the
commune police's lists and answers). The collaborators are
in ``app.extensions["hub"]`` (a Services), never attributes on the app.
coverage.py: coverage against the roster and the communes' outreach lists.
clinical.py: adverse reactions and their follow-up, deferrals, stock and wastage.
reports.py: the daily report. fleet.py: the kiosks page; live.py: the front page's live figures and their stream
(/live/stream).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from flask import Flask

from ..config import HubConfig
from ..store import Store


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class WebSettings:
    """How the workspace behaves; `hub web` uses the defaults, tests shorten them."""

    secret_key: str | None = None
    """Signs the session cookie (which holds only a random session id, the language and the CSRF token). None: a
    random key per start, so a restart signs everybody out."""
    language: str = "vi"
    """The pages' language until a browser picks another (vi or en)."""
    idle_minutes: float = 30
    """A session ends after this long without a request."""
    max_hours: float = 12
    """A session ends this long after sign-in, however busy: a working day."""
    attempts: int = 5
    """Wrong passwords in a row for one account before it is locked."""
    address_attempts: int = 20
    """Wrong passwords in a row from one browser address, whatever names it tries, before the address is locked."""
    lockout_seconds: float = 300
    """The first lock; each further wrong password doubles it, up to an hour."""


@dataclass
class Services:
    """The app's collaborators, kept in ``app.extensions["hub"]``."""

    store: Store
    db: Path
    """The database file, for the read-only listings (hub/store/reports.py)."""
    settings: WebSettings = field(default_factory=WebSettings)
    clock: Callable[[], datetime] = utc_now
    config: HubConfig = field(default_factory=HubConfig)
    """The hub's settings file (hub/config.py): the report's cut-off, the export's mapping, the fleet's flags."""


def create_app(services: Services) -> Flask:
    """Build the workspace around ``services``."""
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=services.settings.secret_key or secrets.token_hex(32),
        SESSION_COOKIE_NAME="hub_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        PERMANENT_SESSION_LIFETIME=int(services.settings.max_hours * 3600),  # the cookie's; the server ends sessions itself
        WTF_CSRF_TIME_LIMIT=None,  # a CSRF token lives as long as its session
        MAX_CONTENT_LENGTH=64 * 1024,  # the workspace's forms are small; an upload page will raise it for itself
        JSON_AS_ASCII=False,
    )
    app.extensions["hub"] = services
    from . import audit, auth, coverage, health, home, i18n
    from . import roster

    auth.init_app(app)
    i18n.init_app(app)
    app.register_blueprint(home.bp)
    app.register_blueprint(audit.bp)
    app.register_blueprint(health.bp)
    app.register_blueprint(roster.bp)
    from . import corrections, people

    app.register_blueprint(people.bp)
    app.register_blueprint(corrections.bp)
    from . import conflicts, police

    app.register_blueprint(conflicts.bp)
    app.register_blueprint(police.bp)
    coverage.init_app(app)
    from . import reports

    reports.init_app(app)
    from . import clinical

    app.register_blueprint(clinical.bp)
    from . import fleet, live

    fleet.init_app(app)
    live.init_app(app)
    from . import exports, province

    app.register_blueprint(exports.bp)
    province.init_app(app)
    app.after_request(security_headers)
    return app


def security_headers(response):
    """Every asset is the hub's own (sites and offices can be offline); no page may be framed or cached."""
    response.headers.setdefault(
        "Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if response.mimetype == "text/html":
        response.headers.setdefault("Cache-Control", "no-store")
    return response

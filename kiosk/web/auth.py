"""Staff sign-in with PINs and lockouts, the session, CSRF, and the decorators that guard pages and the API."""

from __future__ import annotations

import functools
import hmac
import logging
import math
import threading
import time
from collections import OrderedDict
from typing import Callable, Hashable
from urllib.parse import urlsplit, urlunsplit

from flask import (
    Blueprint, Flask, current_app, flash, g, jsonify, redirect, render_template, request, session, url_for,
)
from flask_babel import gettext as _, lazy_gettext
from flask_wtf.csrf import CSRFError, CSRFProtect

from ..staff import API_CLIENT, Staff, get_staff, list_staff, verify_pin

logger = logging.getLogger(__name__)

bp = Blueprint("auth", __name__)
csrf = CSRFProtect()

LOCKOUT_CAP_SECONDS = 900.0
ADDRESS_ATTEMPTS = 10
"""Wrong PINs in a row from one client address, whatever names it tries, before it is slowed down."""
ROLE_LABELS = {"supervisor": lazy_gettext("Supervisor"), "vaccinator": lazy_gettext("Vaccinator")}
KEPT_ON_SIGN_OUT = ("lang",)


class Lockout:
    """Wrong attempts in a row per key (a staff id or a client address) and the lock they earn.

    After ``attempts`` wrong ones the key is locked for ``first_seconds``; each further
    wrong one (once the lock is over) doubles it, up to ``cap``. Kept in memory only.
    """

    MAX_KEYS = 4096

    def __init__(self, attempts: int, first_seconds: float, *, cap: float = LOCKOUT_CAP_SECONDS,
                 clock: Callable[[], float] = time.monotonic):
        self.attempts, self.first_seconds, self.cap, self.clock = max(1, attempts), first_seconds, cap, clock
        self.failures: OrderedDict[Hashable, int] = OrderedDict()
        self.until: dict[Hashable, float] = {}
        self.mutex = threading.Lock()

    def remaining(self, key: Hashable) -> float:
        """Seconds this key stays locked; 0 when it may try."""
        with self.mutex:
            return max(0.0, self.until.get(key, 0.0) - self.clock())

    def fail(self, key: Hashable) -> float:
        """Count a wrong attempt; return the lock it starts, in seconds (0: not locked)."""
        with self.mutex:
            count = self.failures.pop(key, 0) + 1
            self.failures[key] = count
            while len(self.failures) > self.MAX_KEYS:
                self.until.pop(self.failures.popitem(last=False)[0], None)
            if count < self.attempts:
                return 0.0
            seconds = min(self.cap, self.first_seconds * 2 ** min(count - self.attempts, 32))
            self.until[key] = self.clock() + seconds
            return seconds

    def succeed(self, key: Hashable) -> None:
        """A right attempt: the count starts again."""
        with self.mutex:
            self.failures.pop(key, None)
            self.until.pop(key, None)


class SignInLimits:
    """The two lockouts sign-in checks: per staff member and per client address."""

    def __init__(self, attempts: int, first_seconds: float, clock: Callable[[], float] = time.monotonic):
        self.members = Lockout(attempts, first_seconds, clock=clock)
        self.addresses = Lockout(ADDRESS_ATTEMPTS, first_seconds, clock=clock)

    def remaining(self, staff_id: int, address: str) -> float:
        return max(self.members.remaining(staff_id), self.addresses.remaining(address))

    def fail(self, staff_id: int, address: str) -> float:
        return max(self.members.fail(staff_id), self.addresses.fail(address))

    def succeed(self, staff_id: int, address: str) -> None:
        self.members.succeed(staff_id)
        self.addresses.succeed(address)


def init_app(app: Flask) -> None:
    """Install sign-in, its lockouts (``app.extensions["kiosk_signin"]``), CSRF and the template helpers.

    Lockouts count on the site's monotonic clock, so a test steps them with its Ticker.
    """
    services = app.extensions["kiosk"]
    web, clock = services.config.web, services.site.clock
    app.extensions["kiosk_signin"] = SignInLimits(web.pin_attempts, web.lockout_seconds, lambda: clock.now().mono)
    app.config["WTF_CSRF_CHECK_DEFAULT"] = False  # guard_request decides: bearer-token API calls carry no cookie
    csrf.init_app(app)
    app.register_blueprint(bp)
    app.context_processor(template_helpers)


def template_helpers() -> dict:
    return {
        "current_staff": current_staff, "role_labels": ROLE_LABELS, "here": here(),
        "site": current_app.extensions["kiosk"].config.kiosk.site,
    }


# Sign-in and sign-out


@bp.get("/login")
def login_form():
    """The sign-in page: pick your name, type your PIN. A signed-in member is sent on to ``next``."""
    target = safe_next(request.args.get("next"))
    if current_staff() is not None and target:
        return redirect(target)
    return render_login(200, None, None)


@bp.post("/login")
def login():
    """Check the PIN under both lockouts; on success start a session and go to ``next``."""
    staff_id, pin, address = parse_id(request.form.get("staff_id")), request.form.get("pin", ""), client_address()
    if staff_id is None:
        return render_login(400, _("Choose your name."), None)
    if not pin:
        return render_login(400, _("Type your PIN."), staff_id)
    limits: SignInLimits = current_app.extensions["kiosk_signin"]
    wait = limits.remaining(staff_id, address)
    if wait:
        logger.warning("sign-in refused for staff %d from %s: locked for %.0f s more", staff_id, address, wait)
        return render_login(429, locked_message(wait), staff_id, wait)
    member = verify_pin(services().store, staff_id, pin)
    if member is None:
        return refuse_pin(limits, staff_id, address)
    limits.succeed(staff_id, address)
    start_session(member)
    logger.info("staff %d signed in from %s", member.id, address)
    return redirect(safe_next(request.form.get("next")) or current_app.config["KIOSK_STAFF_HOME"])


def refuse_pin(limits: SignInLimits, staff_id: int, address: str):
    locked = limits.fail(staff_id, address)
    logger.warning("sign-in failed for staff %d from %s: wrong PIN or no such active member", staff_id, address)
    if locked:
        logger.warning("sign-in for staff %d from %s locked for %.0f s", staff_id, address, locked)
        return render_login(429, locked_message(locked), staff_id, locked)
    return render_login(401, _("Wrong PIN. Try again."), staff_id)


@bp.post("/logout")
def logout():
    """End the session (keeping the language) and go back to the sign-in page."""
    member = current_staff()
    end_session()
    if member is not None and not member.is_token:
        logger.info("staff %d signed out", member.id)
    flash(_("You are signed out."), "info")
    return redirect(url_for("auth.login_form"))


def render_login(status: int, error: str | None, chosen: int | None, wait: float = 0):
    members = list_staff(services().store)
    page = render_template(
        "login.html", members=members, error=error, chosen=chosen, next=safe_next(request.values.get("next")),
        title=_("Staff sign-in"),
    )
    headers = {"Retry-After": str(math.ceil(wait))} if wait else {}
    return page, status, headers


def locked_message(seconds: float) -> str:
    if seconds > 90:
        return _("Too many wrong PINs. Sign-in is locked: try again in %(minutes)d minutes.", minutes=math.ceil(seconds / 60))
    return _("Too many wrong PINs. Sign-in is locked: try again in %(seconds)d seconds.", seconds=math.ceil(seconds))


def start_session(member: Staff) -> None:
    """A fresh session holding only the member's id and the sign-in time (and the language)."""
    end_session()
    session["staff_id"] = member.id
    session["signed_in_at"] = int(time.time())
    session.permanent = True  # expires after web.session_minutes without a request
    g.kiosk_staff = member


def end_session() -> None:
    kept = {key: session[key] for key in KEPT_ON_SIGN_OUT if key in session}
    session.clear()
    session.update(kept)
    g.kiosk_staff = None


# Who is asking


def current_staff() -> Staff | None:
    """The signed-in member, ``API_CLIENT`` for a bearer-token API request, or None.

    A member disabled since signing in is signed out here, on their next request.
    """
    if "kiosk_staff" not in g:
        g.kiosk_staff = session_staff()
    return g.kiosk_staff


def session_staff() -> Staff | None:
    staff_id = session.get("staff_id")
    if not isinstance(staff_id, int):
        return None
    member = get_staff(services().store, staff_id)
    if member is None or not member.active:
        logger.info("staff %d signed out: no longer active", staff_id)
        end_session()
        return None
    return member


@bp.before_app_request
def guard_request():
    """Before every view: judge a bearer token on /api/, else check CSRF on state-changing methods."""
    if is_api_request() and bearer_token() is not None:
        if not token_valid(bearer_token()):
            logger.warning("refused API token from %s for %s %s", client_address(), request.method, request.path)
            return api_error(401, "bad_token", _("The API token is wrong, or the API token is off on this kiosk."))
        g.kiosk_staff = API_CLIENT
        return None  # no cookie rides on this request, so there is nothing to forge
    if request.method in current_app.config["WTF_CSRF_METHODS"]:
        csrf.protect()
    if request.endpoint != "static" and "staff_id" in session:
        current_staff()
    return None


def bearer_token() -> str | None:
    scheme, _sep, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


def token_valid(token: str) -> bool:
    expected = services().config.web.api_token
    return bool(expected) and hmac.compare_digest(token.encode("utf-8"), expected.encode("utf-8"))


@bp.app_errorhandler(CSRFError)
def csrf_failed(error: CSRFError):
    """400 with a message a person can act on; nothing was changed."""
    logger.warning("refused %s %s from %s: %s", request.method, request.path, client_address(), error.description)
    message = _("This form has expired or did not come from this kiosk's screen. Nothing was changed: reload the page and try again.")
    if is_api_request():
        return api_error(400, "csrf", message)
    return render_template("base.html", page_error=message, title=_("Not sent")), 400


# Decorators for views


def login_required(view: Callable) -> Callable:
    """For staff pages: anyone not signed in is sent to /login?next=<this page>."""

    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        if current_staff() is None:
            return not_signed_in()
        return view(*args, **kwargs)

    return wrapped


def api_auth_required(view: Callable) -> Callable:
    """For /api/ views: a signed-in session or a valid bearer token, else 401 JSON."""

    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        if current_staff() is None:
            return api_unauthorized()
        return view(*args, **kwargs)

    return wrapped


def role_required(*roles: str) -> Callable[[Callable], Callable]:
    """Only members with one of ``roles``; others get 403. Nobody signed in: as login_required (or 401 on /api/)."""

    def decorate(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapped(*args, **kwargs):
            member = current_staff()
            if member is None:
                return api_unauthorized() if is_api_request() else not_signed_in()
            if member.role not in roles:
                return forbidden(member)
            return view(*args, **kwargs)

        return wrapped

    return decorate


def not_signed_in():
    flash(_("Please sign in to continue."), "info")
    return redirect(url_for("auth.login_form", next=here()))


def api_unauthorized():
    response = api_error(401, "unauthorized", _("Sign in first, or send the header Authorization: Bearer <API token>."))
    response.headers["WWW-Authenticate"] = "Bearer"
    return response


def forbidden(member: Staff):
    logger.warning("staff %s (%s) refused %s %s: role", member.id, member.role, request.method, request.path)
    message = _("Your role may not do this. Ask a supervisor.")
    if is_api_request():
        return api_error(403, "forbidden", message)
    return render_template("base.html", page_error=message, title=_("Not allowed")), 403


def api_error(status: int, error: str, message: str):
    """The API's error body: a stable ``error`` code and a ``message`` in the user's language."""
    response = jsonify({"error": error, "message": str(message)})
    response.status_code = status
    return response


# Small helpers


def safe_next(target: str | None) -> str | None:
    """``target`` when it is a path on this site ("/queue?desk=1"), else None: no open redirects."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target or any(ord(c) < 32 or ord(c) == 127 for c in target):
        return None  # browsers drop tabs and newlines and read "\" as "/": "/\t/evil" would become "//evil"
    parts = urlsplit(target)
    return None if parts.scheme or parts.netloc else target


def here() -> str:
    """This page's path and query, to come back to after signing in or switching language.

    For a form post that is the page the form was on (its Referer, when on this site), else the sign-in page.
    """
    if request.method == "GET":
        return request.full_path.rstrip("?")
    referrer = urlsplit(request.referrer or "")
    back = urlunsplit(("", "", referrer.path, referrer.query, "")) if referrer.netloc == request.host else None
    return safe_next(back) or url_for("auth.login_form")


def is_api_request() -> bool:
    return request.path == "/api" or request.path.startswith("/api/")


def parse_id(text: str | None) -> int | None:
    return int(text) if text and text.isascii() and text.isdigit() and len(text) < 10 else None


def client_address() -> str:
    return request.remote_addr or "unknown"


def services():
    return current_app.extensions["kiosk"]

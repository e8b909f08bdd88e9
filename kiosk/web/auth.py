"""Staff sign-in with PINs and lockouts, server-side sessions, CSRF, and the decorators that guard pages and the API."""

from __future__ import annotations

import functools
import hmac
import logging
import math
from typing import Callable

from flask import Blueprint, Flask, current_app, flash, g, jsonify, redirect, render_template, request, session, url_for
from flask_babel import gettext as _, lazy_gettext
from flask_wtf.csrf import CSRFError, CSRFProtect

from staffweb import auth as staff_auth
from staffweb.auth import client_address, safe_next
from staffweb.lockouts import LockRule

from ..errors import StoreError
from ..queue.lockouts import CAP_SECONDS, carry_over_locks, clear_failures, reserve_attempt
from ..queue.sessions import Limits, end_session as end_stored_session, open_session, session_holder
from ..queue.staff import API_CLIENT, Staff, get_staff, list_staff, verify_pin

logger = logging.getLogger(__name__)

bp = Blueprint("auth", __name__)
csrf = CSRFProtect()

ADDRESS_ATTEMPTS = 10
"""Wrong PINs in a row from one client address, whatever names it tries, before it is locked too."""
ROLE_LABELS = {"supervisor": lazy_gettext("Supervisor"), "vaccinator": lazy_gettext("Vaccinator")}


def init_app(app: Flask) -> None:
    """Install sign-in, the session cookie, CSRF and the template helpers.

    Lockouts and sessions are counted on the site's clock, so a test steps them with its Ticker.
    Locks set before a reboot start again in full now (kiosk/queue/lockouts.py says why).
    """
    staff_auth.install_session_cookie(app)
    app.config["WTF_CSRF_CHECK_DEFAULT"] = False  # guard_request decides: bearer-token API calls carry no cookie
    csrf.init_app(app)
    app.register_blueprint(bp)
    app.context_processor(template_helpers)
    restarted = carry_over_locks(services_of(app).store, services_of(app).site.clock.now())
    if restarted:
        logger.warning("%d sign-in lock(s) from before a reboot start again in full", restarted)


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
    """Count the attempt under both lockouts, then check the PIN; on success start a session and go to ``next``."""
    staff_id, pin, address = parse_id(request.form.get("staff_id")), request.form.get("pin", ""), client_address()
    if staff_id is None:
        return render_login(400, _("Choose your name."), None)
    if not pin:
        return render_login(400, _("Type your PIN."), staff_id)
    try:
        return check_pin(staff_id, pin, address)
    except StoreError as exc:  # nothing counted means no PIN checked; a PIN checked and not recorded signs nobody in
        logger.error("sign-in for staff %d from %s not completed: %s", staff_id, address, exc)
        return render_login(503, _("The kiosk could not check sign-ins just now. Try again in a moment."), staff_id)


def check_pin(staff_id: int, pin: str, address: str):
    """Reserve the attempt (or refuse it while locked), then check the PIN; raises StoreError when the database refuses."""
    rules = sign_in_rules(staff_id, address)
    attempt = reserve_attempt(services().store, rules, now())
    if attempt.refused:
        logger.warning("sign-in refused for staff %d from %s: locked for %.0f s more", staff_id, address, attempt.wait)
        return render_login(429, locked_message(attempt.wait), staff_id, attempt.wait)
    member = verify_pin(services().store, staff_id, pin)
    if member is None:
        return refuse_pin(attempt.lock, staff_id, address)
    clear_failures(services().store, [rule.key for rule in rules])
    start_session(member)
    logger.info("staff %d signed in from %s", member.id, address)
    return redirect(safe_next(request.form.get("next")) or current_app.config["KIOSK_STAFF_HOME"])


def sign_in_rules(staff_id: int, address: str) -> list[LockRule]:
    """The two lockouts an attempt counts against: the staff member's and the client address's."""
    web = services().config.web
    return [
        LockRule(f"staff:{staff_id}", web.pin_attempts, web.lockout_seconds, CAP_SECONDS),
        LockRule(f"address:{address}", ADDRESS_ATTEMPTS, web.lockout_seconds, CAP_SECONDS),
    ]


def refuse_pin(lock: float, staff_id: int, address: str):
    logger.warning("sign-in failed for staff %d from %s: wrong PIN or no such active member", staff_id, address)
    if lock:
        logger.warning("sign-in for staff %d from %s locked for %.0f s", staff_id, address, lock)
        return render_login(429, locked_message(lock), staff_id, lock)
    return render_login(401, _("Wrong PIN. Try again."), staff_id)


@bp.post("/logout")
def logout():
    """End the session on the server (a copy of the cookie stops working too), keep the language, go to sign-in."""
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
    """A fresh cookie holding only a new session's id (and the language); the session itself is a row in the database."""
    end_session()
    session["sid"] = open_session(services().store, member.id, session_limits(), now())
    session.permanent = True  # the browser keeps the cookie web.session_minutes past the last request; the server decides
    g.kiosk_staff = member


def end_session() -> None:
    """Delete this cookie's session from the database and forget it in the cookie (the language stays)."""
    session_id = session.get("sid")
    if isinstance(session_id, str):
        end_stored_session(services().store, session_id)
    staff_auth.forget_session()
    g.kiosk_staff = None


def session_limits() -> Limits:
    web = services().config.web
    return Limits(idle_seconds=web.session_minutes * 60, lifetime_seconds=web.session_max_hours * 3600)


# Who is asking


def current_staff() -> Staff | None:
    """The signed-in member, ``API_CLIENT`` for a bearer-token API request, or None.

    A member disabled since signing in is signed out here, on their next request.
    """
    if "kiosk_staff" not in g:
        g.kiosk_staff = session_staff()
    return g.kiosk_staff


def session_staff() -> Staff | None:
    """The member whose live session this cookie names; a session that is over, or a member disabled since, signs out here."""
    session_id = session.get("sid")
    if not isinstance(session_id, str):
        return None
    staff_id = session_holder(services().store, session_id, session_limits(), now())
    member = get_staff(services().store, staff_id) if staff_id is not None else None
    if member is None or not member.active:
        if staff_id is not None:
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
    if request.endpoint != "static" and "sid" in session:
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


def api_auth_required(view: Callable) -> Callable:
    """For /api/ views: a signed-in session or a valid bearer token, else 401 JSON."""

    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        if current_staff() is None:
            return api_unauthorized()
        return view(*args, **kwargs)

    return wrapped


def not_signed_in():
    flash(_("Please sign in to continue."), "info")
    return redirect(url_for("auth.login_form", next=here()))


def signed_out():
    """Nobody signed in: the sign-in page, or 401 JSON on /api/."""
    return api_unauthorized() if is_api_request() else not_signed_in()


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


guards = staff_auth.Guards(current_staff, signed_out, forbidden)
login_required = guards.login_required
"""For staff pages: anyone not signed in is sent to /login?next=<this page> (on /api/: 401)."""
role_required = guards.role_required
"""Only members with one of the roles; others get 403. Nobody signed in: as login_required."""


def api_error(status: int, error: str, message: str, **detail):
    """The API's error body: a stable ``error`` code, a ``message`` in the user's language, and any ``detail``."""
    response = jsonify({"error": error, "message": str(message), **detail})
    response.status_code = status
    return response


# Small helpers


def here() -> str:
    """This page's path and query, to come back to after signing in or switching language (a form's: its Referer's)."""
    return staff_auth.here(url_for("auth.login_form"))


def is_api_request() -> bool:
    return request.path == "/api" or request.path.startswith("/api/")


def parse_id(text: str | None) -> int | None:
    return int(text) if text and text.isascii() and text.isdigit() and len(text) < 10 else None


def services():
    return services_of(current_app)


def services_of(app: Flask):
    return app.extensions["kiosk"]


def now():
    return services().site.clock.now()

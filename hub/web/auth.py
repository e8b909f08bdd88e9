"""Sign-in with names and passwords, lockouts, server-side sessions, CSRF, password change, and the role decorators.

The cookie holds a random session id (and the language and CSRF token); who is
signed in, until when, is a row in the hub database (hub/store/staff.py), so
sign-out ends the session for every copy of the cookie. Each attempt is counted
against the account's and the browser address's lockouts before its password is
checked. Logs name staff ids and addresses, never what was typed.
"""

from __future__ import annotations

import hashlib
import logging
import math
import threading

from flask import Blueprint, Flask, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _, lazy_gettext
from flask_wtf.csrf import CSRFError, CSRFProtect

from staffweb import auth as staff_auth
from staffweb.auth import client_address, safe_next

from .. import passwords
from ..errors import PasswordRuleError, StoreError
from ..store import LockRule, SessionLimits, StaffMember

logger = logging.getLogger(__name__)

bp = Blueprint("auth", __name__)
csrf = CSRFProtect()

ROLE_LABELS = {"officer": lazy_gettext("Officer"), "data": lazy_gettext("Data staff"), "admin": lazy_gettext("Administrator")}
LOCK_CAP_SECONDS = 3600.0
"""The longest sign-in lock: wrong passwords past the limit double the lock up to an hour."""
HASHING = threading.BoundedSemaphore(2)
"""Password checks at once: each takes 32 MiB for ~0.16 s, so a burst of sign-ins waits instead of eating the memory."""
RULE_MESSAGES = {
    "short": lazy_gettext("The new password needs at least 10 characters."),
    "long": lazy_gettext("The new password may have at most 256 characters."),
    "one_kind": lazy_gettext("The new password needs two kinds of characters: letters, digits, other signs."),
    "control": lazy_gettext("The new password holds a character that cannot be typed (a tab, a line break)."),
    "is_name": lazy_gettext("The new password may not be your name."),
}


def init_app(app: Flask) -> None:
    """Install the session cookie, CSRF on every POST, sign-in and the template helpers."""
    staff_auth.install_session_cookie(app)
    csrf.init_app(app)
    app.register_blueprint(bp)
    app.context_processor(lambda: {"current_staff": current_staff, "role_labels": ROLE_LABELS, "here": here()})


# Sign-in and sign-out


@bp.get("/login")
def login_form():
    """The sign-in page; a signed-in member is sent on to ``next`` or the front page."""
    if current_staff() is not None:
        return redirect(safe_next(request.args.get("next")) or url_for("home.today"))
    return render_login(200, None)


@bp.post("/login")
def login():
    """Count the attempt under both lockouts, then check the password; on success start a session and go to ``next``."""
    name, password = request.form.get("name", ""), request.form.get("password", "")
    if not name.strip() or not password:
        return render_login(400, _("Type your name and your password."))
    try:
        return check_sign_in(name, password)
    except StoreError as exc:  # nothing counted means no password checked
        logger.error("sign-in from %s not completed: %s", client_address(), exc)
        return render_login(503, _("The workspace could not check sign-ins just now. Try again in a moment."))


def check_sign_in(name: str, password: str):
    member = services().store.staff_named(name[: passwords.NAME_MAX * 2])
    rules = sign_in_rules(member, name)
    attempt = services().store.reserve_attempt(rules, now())
    if attempt.refused:
        logger.warning("sign-in refused from %s: locked for %.0f s more", client_address(), attempt.wait)
        return render_login(429, locked_message(attempt.wait), attempt.wait)
    if not password_matches(member, password):
        return refuse(member, attempt.lock)
    services().store.clear_failures([rule.key for rule in rules])
    if passwords.needs_rehash(member.password_hash):
        services().store.set_staff_password(member.id, passwords.hash_password(password), now())
    start_session(member)
    record(member.id, "sign_in", f"staff:{member.id}")
    logger.info("staff %d signed in from %s", member.id, client_address())
    return redirect(safe_next(request.form.get("next")) or url_for("home.today"))


def sign_in_rules(member: StaffMember | None, name: str) -> list[LockRule]:
    """The account's lockout (an unknown name gets one too, so a lock does not say which names exist) and the address's."""
    settings = services().settings
    account = f"staff:{member.id}" if member else "name:" + hashlib.sha256(passwords.name_key(name).encode()).hexdigest()[:16]
    return [LockRule(account, settings.attempts, settings.lockout_seconds, LOCK_CAP_SECONDS),
            LockRule(f"address:{client_address()}", settings.address_attempts, settings.lockout_seconds, LOCK_CAP_SECONDS)]


def password_matches(member: StaffMember | None, password: str) -> bool:
    """Check the password against an active account; spend the same time when there is none."""
    if len(password) > passwords.MAX_LENGTH:
        return False
    with HASHING:
        if member is None or not member.active:
            passwords.dummy_verify(password)
            return False
        return passwords.verify_password(password, member.password_hash)


def refuse(member: StaffMember | None, lock: float):
    who = f"staff {member.id}" if member else "an unknown name"
    logger.warning("sign-in failed for %s from %s", who, client_address())
    record(None, "sign_in_failed", f"staff:{member.id}" if member else None)
    if lock:
        return render_login(429, locked_message(lock), lock)
    return render_login(401, _("Wrong name or password. Try again."))


@bp.post("/logout")
def logout():
    """End the session on the server (a copy of the cookie stops working too), keep the language, go to sign-in."""
    member = current_staff()
    end_session()
    if member is not None:
        record(member.id, "sign_out", f"staff:{member.id}")
        logger.info("staff %d signed out", member.id)
    flash(_("You are signed out."), "info")
    return redirect(url_for("auth.login_form"))


def render_login(status: int, error: str | None, wait: float = 0):
    page = render_template("login.html", error=error, next=safe_next(request.values.get("next")), title=_("Sign in"),
                           name=request.form.get("name", "")[: passwords.NAME_MAX])
    return page, status, {"Retry-After": str(math.ceil(wait))} if wait else {}


def locked_message(seconds: float) -> str:
    if seconds > 90:
        return _("Too many wrong passwords. Sign-in is locked: try again in %(minutes)d minutes.",
                 minutes=math.ceil(seconds / 60))
    return _("Too many wrong passwords. Sign-in is locked: try again in %(seconds)d seconds.", seconds=math.ceil(seconds))


# Password change


@bp.get("/password")
def password_form():
    if current_staff() is None:
        return not_signed_in()
    return password_page(None, 200)


def password_page(error: str | None, status: int):
    return render_template("password.html", title=_("Change your password"), error=error), status


@bp.post("/password")
def change_password():
    """Check the current password (counted against the account's lockout), then set the new one; other sessions end."""
    member = current_staff()
    if member is None:
        return not_signed_in()
    current, new, again = (request.form.get(key, "") for key in ("current", "new", "again"))
    rule = LockRule(f"staff:{member.id}", services().settings.attempts, services().settings.lockout_seconds, LOCK_CAP_SECONDS)
    attempt = services().store.reserve_attempt([rule], now())
    if attempt.refused:
        return password_page(locked_message(attempt.wait), 429)
    if not password_matches(member, current):
        logger.warning("password change refused for staff %d from %s: wrong current password", member.id, client_address())
        return password_page(locked_message(attempt.lock), 429) if attempt.lock else password_page(_("Your current password is wrong."), 401)
    services().store.clear_failures([rule.key])
    if new != again:
        return password_page(_("The two new passwords differ."), 400)
    try:
        hashed = passwords.hash_password(passwords.check_password(new, member.name))
    except PasswordRuleError as refused:
        return password_page(RULE_MESSAGES[refused.code], 400)
    services().store.set_staff_password(member.id, hashed, now(), keep=session.get("sid"))
    record(member.id, "password_change", f"staff:{member.id}")
    flash(_("Your password is changed. Your other sessions are signed out."), "info")
    return redirect(url_for("home.today"))


# Sessions


def session_limits() -> SessionLimits:
    settings = services().settings
    return SessionLimits(idle_seconds=settings.idle_minutes * 60, lifetime_seconds=settings.max_hours * 3600)


def start_session(member: StaffMember) -> None:
    """A fresh cookie holding only a new session's id (and the language)."""
    end_session()
    session["sid"] = services().store.open_session(member.id, session_limits(), now())
    session.permanent = True
    g.hub_staff = member


def end_session() -> None:
    """End this cookie's session in the database and forget it in the cookie (the language stays)."""
    session_id = session.get("sid")
    if isinstance(session_id, str):
        services().store.end_session(session_id, now())
    staff_auth.forget_session()
    g.hub_staff = None


def current_staff() -> StaffMember | None:
    """The signed-in member, or None; a session that is over (idle, expired, member disabled) ends here."""
    if "hub_staff" not in g:
        session_id = session.get("sid")
        found = services().store.session_holder(session_id, session_limits(), now()) if isinstance(session_id, str) else None
        if found is None and "sid" in session:
            end_session()
        g.hub_staff = found
    return g.hub_staff


@bp.app_errorhandler(CSRFError)
def csrf_failed(error: CSRFError):
    """400 with a message a person can act on; nothing was changed."""
    logger.warning("refused %s %s from %s: %s", request.method, request.path, client_address(), error.description)
    message = _("This form has expired or did not come from this workspace. Nothing was changed: reload the page and try again.")
    return render_template("base.html", page_error=message, title=_("Not sent")), 400


# Decorators for views


def not_signed_in():
    flash(_("Please sign in to continue."), "info")
    return redirect(url_for("auth.login_form", next=here()))


def forbidden(member: StaffMember):
    logger.warning("staff %d (%s) refused %s %s: role", member.id, member.role, request.method, request.path)
    return render_template("base.html", page_error=_("Your role may not see this page."), title=_("Not allowed")), 403


guards = staff_auth.Guards(current_staff, not_signed_in, forbidden)
login_required = guards.login_required
"""Anyone not signed in is sent to /login?next=<this page>."""
role_required = guards.role_required
"""Only members with one of the roles; others get 403 (and the refusal is logged); nobody signed in: as login_required."""


# Small helpers


def record(staff_id: int | None, action: str, what: str | None) -> None:
    """One line of the audit log for this request (its address); a database too busy to take it is logged, not fatal."""
    try:
        services().store.audit(staff_id, action, what, client_address(), now())
    except StoreError as exc:
        logger.error("audit line %s for staff %s not written: %s", action, staff_id, exc)


def here() -> str:
    """This page's path and query, to come back to after signing in or switching language (a form's: its Referer's)."""
    return staff_auth.here("/")


def services():
    return current_app.extensions["hub"]


def now():
    return services().clock()

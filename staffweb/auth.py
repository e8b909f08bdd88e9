"""The staff session's cookie and the safe way back after signing in: the same on the kiosk's screens and in the workspace.

The cookie holds a random session id, the language and the CSRF token; who is
signed in, until when, is a row in each program's database.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from flask import Flask, has_request_context, request, session
from flask.sessions import SecureCookieSessionInterface

KEPT_ON_SIGN_OUT = ("lang",)
"""What the cookie keeps when its session ends: the language the person chose."""


class SessionCookie(SecureCookieSessionInterface):
    """Flask's signed cookie, marked ``Secure`` whenever the request came over TLS (directly or through a trusted proxy)."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return super().get_cookie_secure(app) or (has_request_context() and request.is_secure)


def install_session_cookie(app: Flask) -> None:
    """Serve the app's session with SessionCookie."""
    app.session_interface = SessionCookie()


def forget_session() -> None:
    """Empty this request's cookie but for KEPT_ON_SIGN_OUT (the caller ends the stored session)."""
    kept = {key: session[key] for key in KEPT_ON_SIGN_OUT if key in session}
    session.clear()
    session.update(kept)


def safe_next(target: str | None) -> str | None:
    """``target`` when it is a path on this site ("/queue?desk=1"), else None: no open redirects."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target or any(ord(c) < 32 or ord(c) == 127 for c in target):
        return None  # browsers drop tabs and newlines and read "\" as "/": "/\t/evil" would become "//evil"
    parts = urlsplit(target)
    return None if parts.scheme or parts.netloc else target


def here(fallback: str) -> str:
    """This page's path and query, to come back to after signing in or switching language.

    For a form post that is the page the form was on (its Referer, when on this site), else ``fallback``.
    """
    if request.method == "GET":
        return request.full_path.rstrip("?")
    referrer = urlsplit(request.referrer or "")
    back = urlunsplit(("", "", referrer.path, referrer.query, "")) if referrer.netloc == request.host else None
    return safe_next(back) or fallback


def client_address() -> str:
    """The address the request came from (the proxy's, unless a trusted proxy fix is installed)."""
    return request.remote_addr or "unknown"

"""The staff session's cookie, the safe way back after signing in, the views' guards: the same on the kiosk and the hub.

The cookie holds a random session id, the language and the CSRF token; who is
signed in, until when, is a row in each program's database. What a guard
answers a refused request (the sign-in page, a 403 page, JSON on an API) is
each program's own.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Callable
from urllib.parse import urlsplit, urlunsplit

from flask import Flask, has_request_context, request, session
from flask.sessions import SecureCookieSessionInterface
from flask.typing import ResponseReturnValue

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


@dataclass(frozen=True)
class Guards:
    """One program's view decorators, ``login_required`` and ``role_required``, built on its own sign-in and refusals."""

    current_staff: Callable[[], Any]
    """The signed-in member (with a ``role``), or None."""
    not_signed_in: Callable[[], ResponseReturnValue]
    """The answer when nobody is signed in (for a page: to sign-in, and back here after)."""
    forbidden: Callable[[Any], ResponseReturnValue]
    """The answer to a member whose role may not (a 403, the refusal logged)."""

    def login_required(self, view: Callable) -> Callable:
        """Only signed-in members; anyone else gets ``not_signed_in``."""

        @functools.wraps(view)
        def wrapped(*args, **kwargs):
            if self.current_staff() is None:
                return self.not_signed_in()
            return view(*args, **kwargs)

        return wrapped

    def role_required(self, *roles: str) -> Callable[[Callable], Callable]:
        """Only members with one of ``roles``; others get ``forbidden``; nobody signed in: as login_required."""

        def decorate(view: Callable) -> Callable:
            @functools.wraps(view)
            def wrapped(*args, **kwargs):
                member = self.current_staff()
                if member is None:
                    return self.not_signed_in()
                if member.role not in roles:
                    return self.forbidden(member)
                return view(*args, **kwargs)

            return wrapped

        return decorate

"""What every request must pass before a view sees it: no credentials in the URL, and only text the kiosk can store.

A URL ends up in access logs, browser history and proxies' logs, so a token or PIN
in a query string is refused (400), never used. Any text the kiosk would store or
echo, in the query, a form or a JSON body, must be valid Unicode without control
characters: a lone surrogate (``"\\ud800"`` in JSON) cannot be written to SQLite or
encoded into a response, so it is refused here with a 400 instead of failing later
with a 500.
"""

from __future__ import annotations

import logging
import re
from typing import Any, Iterator

from flask import Flask, current_app, render_template, request
from flask_babel import gettext as _

from .auth import api_error, client_address, is_api_request

logger = logging.getLogger(__name__)

CREDENTIAL_NAME = re.compile(
    r"(.*_)?(token|password|passwd|secret|api_?key)|key|pin|pwd|auth|authorization|bearer|session|sid",
    re.IGNORECASE,
)
"""Query parameter names that carry credentials (matched whole, ``-`` read as ``_``): token, access_token, api_key, pin..."""
UNSTORABLE = re.compile(r"[\ud800-\udfff\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
"""A lone surrogate, or a control character other than tab and line breaks."""
MIN_SEARCHED_TOKEN = 12
"""A shorter API token is only matched whole: "ab" must not refuse every query with an "ab" in it."""
MAX_DEPTH = 32
"""JSON nested deeper than this is not a form anyone sends."""


def init_app(app: Flask) -> None:
    """Check every request before any other handler."""
    app.before_request(check_request)


def check_request():
    """None when the request may go on; else the 400 answer saying what is wrong (nothing was done)."""
    if credential_in_url():
        logger.warning("refused %s %s from %s: a credential in the URL", request.method, request.path, client_address())
        return refuse("credential_in_url", _(
            "Never put a token, PIN or password in the address: it would be kept in logs and history. "
            "Send the token in the Authorization header, and the PIN in the sign-in form."))
    try:
        bad = first_unstorable(fields())
    except RecursionError:
        return refuse("bad_json", _("The request could not be read. Nothing was changed."))
    if bad is not None:
        logger.warning("refused %s %s from %s: a field with unstorable text", request.method, request.path, client_address())
        field = bad if bad and not UNSTORABLE.search(bad) else None  # a name that is itself unstorable is not echoed
        return refuse("bad_text", _(
            "A field holds characters that cannot be stored (a broken or control character). Nothing was changed: "
            "correct it and try again."), field)
    return None


def credential_in_url() -> bool:
    """True when a query parameter is named like a credential, or holds the API token or a bearer credential."""
    token = current_app.extensions["kiosk"].config.web.api_token
    for name, value in request.args.items(multi=True):
        if CREDENTIAL_NAME.fullmatch(name.replace("-", "_")):
            return True
        if holds_token(value, token) or value.lower().startswith("bearer "):
            return True
    return False


def holds_token(value: str, token: str) -> bool:
    """True when ``value`` is the API token or, for a token long enough not to occur by chance, contains it."""
    return bool(token) and (value == token or (len(token) >= MIN_SEARCHED_TOKEN and token in value))


def fields() -> Iterator[tuple[str, Any]]:
    """(name, value) of every query parameter, form field and JSON member, nested members included."""
    yield from request.args.items(multi=True)
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        yield from request.form.items(multi=True)
        if request.is_json:
            yield from members("", request.get_json(silent=True), 0)


def members(name: str, value: Any, depth: int) -> Iterator[tuple[str, Any]]:
    if depth > MAX_DEPTH:
        raise RecursionError("JSON nested too deeply")
    if isinstance(value, dict):
        for key, item in value.items():
            yield key, key
            yield from members(key, item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            yield from members(name, item, depth + 1)
    elif isinstance(value, str):
        yield name, value


def first_unstorable(found: Iterator[tuple[str, Any]]) -> str | None:
    """The name of the first field whose name or text cannot be stored, or None when all can."""
    for name, value in found:
        if UNSTORABLE.search(name) or (isinstance(value, str) and UNSTORABLE.search(value)):
            return name
    return None


def refuse(code: str, message: str, field: str | None = None):
    """The API's JSON error (naming the field when it can), or the staff screens' error page."""
    if is_api_request():
        return api_error(400, code, message, **({"field": field} if field is not None else {}))
    return render_template("base.html", page_error=message, title=_("Not sent")), 400

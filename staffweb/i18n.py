"""The staff pages' language: Vietnamese or English, chosen per session with the /lang switch, else the configured one.

Each program brings its own Flask-Babel (staffweb does not import it), its
catalogues, its configured language and the page the switch falls back to;
``current_language`` stays with each program, read from Flask-Babel.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Blueprint, Flask, abort, current_app, redirect, request, session, url_for

from . import pages
from .auth import safe_next

LANGUAGES = {"vi": "Tiếng Việt", "en": "English"}
"""Supported languages and how each names itself on the switch."""
FALLBACK = "vi"

bp = Blueprint("i18n", __name__)


@dataclass(frozen=True)
class LanguageSettings:
    """One app's language settings, in ``app.extensions["staffweb.i18n"]``."""

    configured: str
    """The language of a session that chose none (one of LANGUAGES)."""
    back_to: str
    """The endpoint the switch returns to when its form names no page to go back to."""


def init_app(app: Flask, babel: Any, translations: Path, configured: str, back_to: str) -> None:
    """Install ``babel`` (the app's ``flask_babel.Babel``) with ``translations``, the /lang route, its form and ``languages``.

    ``configured`` is the app's setting: a language not in LANGUAGES falls back to Vietnamese.
    """
    languages = LanguageSettings(configured if configured in LANGUAGES else FALLBACK, back_to)
    app.extensions["staffweb.i18n"] = languages
    babel.init_app(app, default_locale=languages.configured, default_translation_directories=str(translations),
                   locale_selector=select_locale)
    app.register_blueprint(bp)
    pages.init_app(app)  # the language switch's form, staffweb/templates/staffweb/language_switch.html
    app.context_processor(lambda: {"languages": LANGUAGES})


def select_locale() -> str:
    """The session's choice when it made one, else the configured language."""
    chosen = session.get("lang")
    return chosen if chosen in LANGUAGES else current_app.extensions["staffweb.i18n"].configured


@bp.post("/lang")
def switch_language():
    """Remember the language (form field ``lang``) in the session; go back to ``next`` (a path on this site)."""
    lang = request.form.get("lang")
    if lang not in LANGUAGES:
        abort(400, f"unknown language; choose one of {', '.join(LANGUAGES)}")
    session["lang"] = lang
    return redirect(safe_next(request.form.get("next")) or url_for(current_app.extensions["staffweb.i18n"].back_to))

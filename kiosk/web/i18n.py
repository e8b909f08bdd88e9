"""Languages of the staff screens: Flask-Babel, chosen per session between Vietnamese and English.

Mark strings with ``_("...")`` in templates and ``gettext``/``lazy_gettext`` from
flask_babel in Python, then run ``make translations`` (see babel.cfg).
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Flask, abort, current_app, redirect, request, session, url_for
from flask_babel import Babel, get_locale

from staffweb import pages

from .auth import safe_next

LANGUAGES = {"vi": "Tiếng Việt", "en": "English"}
"""Supported languages and how each names itself on the switch."""
FALLBACK = "vi"
TRANSLATIONS = Path(__file__).parent / "translations"

bp = Blueprint("i18n", __name__)
babel = Babel()


def init_app(app: Flask) -> None:
    """Install Babel (``_``, ``gettext`` and ``ngettext`` in templates), the /lang route, its form and the template helpers."""
    babel.init_app(
        app, default_locale=configured_language(app), default_translation_directories=str(TRANSLATIONS),
        locale_selector=select_locale,
    )
    app.register_blueprint(bp)
    pages.init_app(app)  # the language switch's form, staffweb/templates/staffweb/language_switch.html
    app.context_processor(lambda: {"languages": LANGUAGES, "current_language": current_language(), "in_language": in_language})


def current_language() -> str:
    """The language of this request's pages ("vi" or "en")."""
    return str(get_locale())


def in_language(english: str, vietnamese: str) -> str:
    """Pick the sentence of a pair (payload reasons, eligibility) for this request's language."""
    return vietnamese if current_language() == "vi" else english


def select_locale() -> str:
    """The session's choice when it made one, else the configured ``web.language``."""
    chosen = session.get("lang")
    return chosen if chosen in LANGUAGES else configured_language(current_app)


def configured_language(app: Flask) -> str:
    language = app.extensions["kiosk"].config.web.language
    return language if language in LANGUAGES else FALLBACK


@bp.post("/lang")
def switch_language():
    """Remember the language (form field ``lang``) in the session; go back to ``next`` (a path on this site)."""
    lang = request.form.get("lang")
    if lang not in LANGUAGES:
        abort(400, f"unknown language; choose one of {', '.join(LANGUAGES)}")
    session["lang"] = lang
    return redirect(safe_next(request.form.get("next")) or url_for("auth.login_form"))

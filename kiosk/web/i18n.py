"""Languages of the staff screens: Flask-Babel, chosen per session between Vietnamese and English (staffweb/i18n.py).

Mark strings with ``_("...")`` in templates and ``gettext``/``lazy_gettext`` from
flask_babel in Python, then run ``make translations`` (see babel.cfg).
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from flask_babel import Babel, get_locale

from staffweb import i18n as staff_i18n
from staffweb.i18n import LANGUAGES  # kept importable from here

TRANSLATIONS = Path(__file__).parent / "translations"

babel = Babel()


def init_app(app: Flask) -> None:
    """Install Babel (``_``, ``gettext`` and ``ngettext`` in templates), the /lang route, its form and the template helpers."""
    staff_i18n.init_app(app, babel, TRANSLATIONS, app.extensions["kiosk"].config.web.language, back_to="auth.login_form")
    app.context_processor(lambda: {"current_language": current_language(), "in_language": in_language})


def current_language() -> str:
    """The language of this request's pages ("vi" or "en")."""
    return str(get_locale())


def in_language(english: str, vietnamese: str) -> str:
    """Pick the sentence of a pair (payload reasons, eligibility) for this request's language."""
    return vietnamese if current_language() == "vi" else english

"""The workspace's languages: Flask-Babel, Vietnamese by default, English chosen per browser session (staffweb/i18n.py).

Mark strings with ``_("...")`` in templates and ``gettext``/``lazy_gettext`` in
Python, then run ``make translations`` (see babel.cfg); catalogues are in
hub/web/translations.
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
    staff_i18n.init_app(app, babel, TRANSLATIONS, app.extensions["hub"].settings.language, back_to="home.today")
    app.context_processor(lambda: {"current_language": current_language()})


def current_language() -> str:
    return str(get_locale())

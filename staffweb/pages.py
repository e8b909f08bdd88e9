"""The page pieces both programs' templates include: ``{% include "staffweb/language_switch.html" %}`` and the like.

The language switch, the sign-out form (sign_out.html) and the flashed messages (flashes.html).

Registered as a blueprint without routes, so its templates folder joins each
app's template search path behind the app's own templates.
"""

from __future__ import annotations

from flask import Blueprint, Flask

bp = Blueprint("staffweb", __name__, template_folder="templates")


def init_app(app: Flask) -> None:
    """Make the shared templates available to ``app``."""
    app.register_blueprint(bp)

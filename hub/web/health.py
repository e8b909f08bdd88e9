"""GET /healthz: whether the workspace can read its database, for systemd and monitoring (no data, no sign-in)."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify

from ..errors import StoreError

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """200 {"status": "ok"} while the database answers, else 503 with the reason."""
    try:
        current_app.extensions["hub"].store.ping()
    except StoreError as exc:
        return jsonify({"status": "fail", "problems": [f"database: {exc}"]}), 503
    return jsonify({"status": "ok", "problems": []})

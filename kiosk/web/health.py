"""GET /healthz: scanner, database and disk, for systemd and monitoring."""

from __future__ import annotations

import dataclasses
import shutil

from flask import Blueprint, current_app, jsonify

from ..errors import StoreError

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """200 when the kiosk can take check-ins, 503 when the database or disk cannot."""
    services = current_app.extensions["kiosk"]
    problems = []
    free_mb = shutil.disk_usage(services.store.path.parent).free // 2**20
    if free_mb < services.config.kiosk.min_free_mb:
        problems.append(f"only {free_mb} MiB free on the data disk")
    try:
        services.store.ping()
    except (StoreError, OSError) as exc:
        problems.append(f"database: {exc}")
    if not services.site.clock.now().plausible:
        problems.append("the wall clock is not set (before 2026): doses cannot be dated; set the date and time")
    scanner = scanner_report(services)
    body = {
        "status": "fail" if problems else ("ok" if scanner is None or scanner.get("state") == "running" else "degraded"),
        "problems": problems,
        "disk_free_mb": free_mb,
        "scanner": scanner,
    }
    return jsonify(body), 503 if problems else 200


def scanner_report(services) -> dict | None:
    """The scanner's health as a dict (from this process, or as `kiosk scan` last reported it), or None."""
    health = services.scanner_health() if services.scanner_health else None
    if health is None or isinstance(health, dict):
        return health
    return dataclasses.asdict(health)

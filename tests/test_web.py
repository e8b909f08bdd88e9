"""The screen server through Flask's test client: the citizen page, live events and /healthz."""

import json
import threading

import pytest

from kiosk.web import Services, create_app
from kiosk.web.live import Live


@pytest.fixture
def services(config, site):
    return Services(config, site)


@pytest.fixture
def client(services):
    return create_app(services).test_client()


def test_ok__citizen_page_is_served_with_local_assets(client):
    page = client.get("/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "CCCD" in html and "http" not in html.replace("http-equiv", "")  # no CDN: sites are offline
    script = client.get("/static/citizen.js")
    assert script.status_code == 200
    script.close()


def test_ok__healthz_reports_disk_and_scanner(client):
    response = client.get("/healthz")
    body = response.get_json()
    assert response.status_code == 200 and body["status"] == "ok" and body["disk_free_mb"] > 0


def test_fail__healthz_is_503_when_the_disk_is_nearly_full(services):
    services.config = services.config.replace("kiosk", min_free_mb=10**9)
    response = create_app(services).test_client().get("/healthz")
    assert response.status_code == 503 and "free" in response.get_json()["problems"][0]


def test_ok__live_stream_replays_the_last_message_then_follows():
    live = Live()
    live.publish({"type": "scan", "n": 1})
    stop = threading.Event()
    stream = live.stream(stop)
    assert next(stream).startswith("retry:")
    assert json.loads(next(stream)[len("data: "):]) == {"type": "scan", "n": 1}
    live.publish({"type": "scan", "n": 2})
    assert json.loads(next(stream)[len("data: "):])["n"] == 2
    stop.set()
    stream.close()
    assert not live.queues


def test_ok__a_slow_screen_drops_old_messages_instead_of_blocking():
    live = Live()
    stream = live.stream()
    next(stream)
    for n in range(500):
        live.publish({"n": n})
    assert json.loads(next(stream)[len("data: "):])["n"] > 0
    stream.close()


def test_ok__the_session_key_is_kept_beside_the_database_for_its_owner_only(config, site, tmp_path):
    """A restart of the screens keeps everyone signed in: the key made on first start is read again, never shown to others."""
    import os
    import stat
    from pathlib import Path

    config = config.replace("web", secret_key="")
    first = create_app(Services(config, site)).config["SECRET_KEY"]
    again = create_app(Services(config, site)).config["SECRET_KEY"]
    path = Path(config.kiosk.db).parent / "web-secret-key"
    assert first == again and len(first) == 64 and path.read_text().strip() == first
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert create_app(Services(config.replace("web", secret_key="set-by-the-operator"), site)).config["SECRET_KEY"] == "set-by-the-operator"

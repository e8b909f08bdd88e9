"""The kiosks page, the live front page and its stream (hub/web/fleet.py, home.py, live.py) on the Flask test client over
a real hub database, the hub's clock injected: every role sees them, no names, the doses per site and hour against
yesterday, a serious reaction with its lot's count, the stream's first events, its end, and its bound."""

from __future__ import annotations

import json
import re
import threading
from datetime import datetime, timedelta, timezone

import pytest

from hub import passwords
from hub.store import Batch
from hub.store.sqlite import open_store
from hub.web import Services, WebSettings, create_app
from hub.web.live import Feed, LiveSettings

from .hub_helpers import LAN, STAFF, dose, event, ticket
from .test_hub_fleet import status

PASSWORD = "ngaytiem2026"
NOW = datetime(2024, 5, 2, 4, 0, tzinfo=timezone.utc)
"""11:00 in Vietnam, 2 May: today is 2024-05-02, yesterday 2024-05-01."""
CHEAP = passwords.hash_password(PASSWORD, cost=passwords.Cost(n=2**4, r=1, p=1))
STAFF_NAMES = {"admin": "Phạm Minh Châu", "data": "Trần Văn Bình", "officer": "Lê Hoa"}
PEOPLE = [f"0011900{n:05d}" for n in range(20)]


def severe(kiosk: str, seq: int, dose_seq: int, id_number: str, day: str):
    aefi = {"severity": "severe", "symptoms": "Sốc phản vệ", "dose_event": f"{kiosk}:{dose_seq}"}
    payload = {"ticket": {"day": day, "number": seq}, "id_number": id_number, "aefi": aefi, "by": STAFF}
    return event(kiosk, seq, "AefiRecorded", payload, at=f"{day}T09:45:00+07:00")


@pytest.fixture
def store(tmp_path):
    with open_store(tmp_path / "hub.db") as store:
        for role, name in STAFF_NAMES.items():
            store.add_staff(name, role, CHEAP, NOW)
        store.enroll("ka", "Trạm Y tế Bến Nghé", None, NOW.isoformat())
        store.enroll("kb", "Trường THCS Tân Lập", None, NOW.isoformat())
        today = [dose("ka", n + 1, PEOPLE[n], on="2024-05-02") for n in range(5)]
        yesterday = [dose("kb", n + 1, PEOPLE[10 + n], on="2024-05-01") for n in range(3)]
        older = [dose("kb", 4, PEOPLE[15], on="2024-04-25")]
        store.commit(Batch(events=[*today, *yesterday, *older, severe("kb", 5, 1, PEOPLE[10], "2024-05-01")]),
                     (NOW - timedelta(hours=1)).isoformat())
        store.commit(Batch(statuses=[status("ka", NOW - timedelta(minutes=1), outbox=350)]), NOW.isoformat())
        yield store


@pytest.fixture
def app(store):
    app = create_app(Services(store, store.path, WebSettings(secret_key="test-secret"), lambda: NOW))
    app.extensions["hub_live"] = Feed(app.extensions["hub"], LiveSettings(
        poll_seconds=0.02, stream_seconds=0.4, heartbeat_seconds=0.1, max_streams=2))
    return app


def sign_in(client, role: str):
    html = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    assert client.post("/login", data={"csrf_token": token, "name": STAFF_NAMES[role], "password": PASSWORD}).status_code == 302


def no_personal_data(html: str) -> None:
    assert LAN["full_name"] not in html and "001190" not in html and "Sốc phản vệ" not in html
    assert "style=" not in html and "<script>" not in html


@pytest.mark.parametrize("role", ["officer", "data", "admin"])
def test_ok__every_role_sees_the_kiosks_flagged_first(app, role):
    client = app.test_client()
    sign_in(client, role)
    html = client.get("/kiosks").get_data(as_text=True)
    rows = re.findall(r'<tr data-kiosk="(\w+)" data-state="(\w+)"(?: class="flagged" data-flags="([\w ]+)")?', html)
    assert sorted(rows) == [("ka", "online", "backlog"), ("kb", "offline", "offline")]  # kb: no status, silent 1 h
    assert "Trạm Y tế Bến Nghé" in html and 'href="/kiosks"' in html and "1.4.0" in html
    no_personal_data(html)


def test_fail__the_kiosks_page_needs_a_sign_in(app):
    assert app.test_client().get("/kiosks").status_code == 302
    assert app.test_client().get("/live/stream").status_code == 302


def test_ok__the_front_page_shows_today_against_yesterday_and_the_serious_reaction(app):
    client = app.test_client()
    sign_in(client, "officer")
    html = client.get("/").get_data(as_text=True)
    assert "Việc cần làm hôm nay" in html and 'data-quarantined="0"' in html  # what it showed before stays
    assert re.search(r'data-total="today">5<', html) and re.search(r'data-total="yesterday">3<', html)
    assert re.search(r'data-site="Trạm Y tế Bến Nghé">\s*<td>[^<]+</td>\s*<td class="num" data-day="today">5</td>', html)
    assert '<li data-event="kb:5">' in html and "FK1234" in html and "(hôm qua)" in html
    assert html.count('<svg class="') == 2 and 'data-chart="hours-chart"' in html and 'data-chart="history-chart"' in html
    assert '<script src="/static/live.js" defer></script>' in html and 'data-stream="/live/stream"' in html
    assert '<li data-kiosk="kb">' in html  # offline in working hours, among the alerts
    no_personal_data(html)


def read_stream(client) -> list[str]:
    response = client.get("/live/stream", buffered=False)
    assert response.status_code == 200 and response.mimetype == "text/event-stream"
    chunks = [chunk.decode() if isinstance(chunk, bytes) else chunk for chunk in response.response]
    response.close()
    return chunks


def test_ok__the_stream_sends_every_region_then_heartbeats_and_ends(app):
    client = app.test_client()
    sign_in(client, "data")
    chunks = read_stream(client)
    assert chunks[0] == "retry: 3000\n\n" and chunks[1].startswith("data: ")
    message = json.loads(chunks[1][len("data: "):])
    assert set(message["regions"]) == {"totals", "hours", "alerts", "sites", "history"}
    assert 'data-event="kb:5"' in message["regions"]["alerts"]
    assert ": heartbeat\n\n" in chunks[2:] and all(not c.startswith("data:") for c in chunks[2:])  # nothing changed
    no_personal_data("".join(chunks))
    assert app.extensions["hub_live"].slots._value == 2  # the slot came back when the stream ended


def test_ok__a_reaction_merged_while_the_stream_is_open_is_sent_alone(app, store):
    client = app.test_client()
    sign_in(client, "officer")
    response = client.get("/live/stream", buffered=False)
    stream = iter(response.response)
    assert next(stream) == b"retry: 3000\n\n" or True
    first = next(stream)
    store.commit(Batch(events=[severe("ka", 6, 2, PEOPLE[1], "2024-05-02")]), NOW.isoformat())
    later = [chunk.decode() if isinstance(chunk, bytes) else chunk for chunk in stream]
    response.close()
    data = [json.loads(chunk[len("data: "):]) for chunk in later if chunk.startswith("data: ")]
    assert first and len(data) == 1 and set(data[0]["regions"]) == {"alerts"}
    assert 'data-event="ka:6"' in data[0]["regions"]["alerts"] and "2 phản ứng nặng" in data[0]["regions"]["alerts"]


def test_fail__more_streams_than_the_bound_are_refused_and_a_closed_one_gives_its_slot_back(app):
    """Each stream in its own thread, as the threaded server runs them."""
    app.extensions["hub_live"].settings.stream_seconds = 30
    holding, release, done = threading.Barrier(3), threading.Event(), []

    def hold() -> None:
        client = app.test_client()
        sign_in(client, "officer")
        response = client.get("/live/stream", buffered=False)
        chunks = iter(response.response)
        next(chunks)
        holding.wait(timeout=30)
        release.wait(timeout=60)  # until the third stream was tried, however slow the machine: then give the slot back
        response.close()
        done.append(True)

    client = app.test_client()
    sign_in(client, "officer")  # before the streams open: once they hold their slots, only the one request is left
    threads = [threading.Thread(target=hold, daemon=True) for _ in range(2)]
    for thread in threads:
        thread.start()
    holding.wait(timeout=30)
    try:
        refused = client.get("/live/stream", buffered=False)
        answer = refused.status_code, refused.headers.get("Retry-After")
        refused.close()  # were it let in, its stream ends here, in this thread
    finally:
        release.set()
    assert answer == (503, "30")
    for thread in threads:
        thread.join(timeout=10)
    assert done == [True, True] and app.extensions["hub_live"].slots._value == 2


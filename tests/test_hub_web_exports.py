"""hub/web/exports.py on the Flask test client over a real hub database: every role sees the same-day entry gauge (counts
only), roles that may see people download the export (XLSX, CSV) which marks its doses, download an earlier file again
(marking nothing), each download audited `export_platform` without personal data; a bad day, format or mapping file is
a message, never a 500 (the real server and Chromium: test_e2e_exports.py)."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timezone

import openpyxl
import pytest

from hub import passwords
from hub.config import ExportSettings, HubConfig
from hub.store import Batch
from hub.store.sqlite import open_store
from hub.web import Services, WebSettings, create_app

from .hub_helpers import DAY, HUNG_ID, check_in, dose, void

PASSWORD = "ngaytiem2026"
CHEAP = passwords.hash_password(PASSWORD, cost=passwords.Cost(n=2**4, r=1, p=1))
T0 = datetime(2024, 5, 1, 8, 0, tzinfo=timezone.utc)  # 15:00 in Vietnam, on the doses' day
AT = f"{DAY}T10:00:00+07:00"
STAFF = {"admin": "Nguyễn Thị Lan", "data": "Trần Văn Bình", "officer": "Lê Hoa", "seer": "Phạm Minh"}
SITES = ("Trường THCS Lê Lợi", "Nhà văn hóa khu phố 3")
TRICK = "=HYPERLINK(\"http://evil.example\",\"x\")"


@pytest.fixture
def store(tmp_path):
    with open_store(tmp_path / "hub.db") as store:
        for role, name in STAFF.items():
            store.add_staff(name, "officer" if role == "seer" else role, CHEAP, T0)
        store.grant_right(STAFF["seer"], "see_people", T0)
        store.enroll("ka", SITES[0], None, AT)
        store.enroll("kb", SITES[1], None, AT)
        store.commit(Batch(events=[check_in("ka", 1), dose("ka", 2), check_in("kb", 1, HUNG_ID, full_name=TRICK),
                                   dose("kb", 2, HUNG_ID), dose("kb", 3, HUNG_ID, number=2, on="2024-05-22")]), AT)
        yield store


def app_for(store, config: HubConfig | None = None):
    return create_app(Services(store, store.path, WebSettings(secret_key="test-secret"), lambda: T0,
                               config=config or HubConfig())).test_client()


@pytest.fixture
def client(store):
    return app_for(store)


def sign_in(client, who: str):
    html = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    assert client.post("/login", data={"csrf_token": token, "name": STAFF[who], "password": PASSWORD}).status_code == 302


def token(client) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get("/exports").get_data(as_text=True)).group(1)


def row_figures(html: str, site: str) -> list[str]:
    found = re.search(rf'<tr data-site="{site}"[^>]*>(.*?)</tr>', html, re.S).group(1)
    return re.findall(r'data-figure="\w+">([^<]*)<', found)


def download(client, fmt: str = "xlsx", day: str = DAY):
    return client.post("/exports/platform", data={"csrf_token": token(client), "day": day, "format": fmt})


@pytest.mark.parametrize("who", ["officer", "data", "admin", "seer"])
def test_ok__every_role_sees_the_gauge_of_today_without_a_name(client, who):
    sign_in(client, who)
    page = client.get("/exports")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Nhập liệu trong ngày lên Nền tảng quốc gia" in html
    assert 'value="2024-05-01"' in html  # today in Vietnam, on the hub's clock
    assert row_figures(html, "total") == ["2", "0", "2", "0"] and row_figures(html, "1") == ["1", "0", "1", "0"]
    assert SITES[0] in html and "Nguyễn Thị Lan" not in html.split("<main>")[1] and "HYPERLINK" not in html
    assert "001190012345" not in html and "<script" not in html and "style=" not in html
    assert ('action="/exports/platform"' in html) == (who != "officer")
    assert 'href="/exports"' in html  # the nav link


def test_ok__the_download_marks_its_doses_and_an_earlier_file_comes_again_unchanged(client, store):
    sign_in(client, "data")
    first = download(client)
    assert first.status_code == 200 and first.mimetype.endswith("spreadsheetml.sheet")
    assert first.headers["Content-Disposition"] == f'attachment; filename="tiem-chung-{DAY}-1.xlsx"'
    sheet = openpyxl.load_workbook(io.BytesIO(first.data)).worksheets[0]
    names = sorted(line[2].value for line in sheet.iter_rows(min_row=2))
    assert names == sorted(["Nguyễn Thị Lan", "'" + TRICK])
    html = client.get("/exports").get_data(as_text=True)
    assert row_figures(html, "total") == ["2", "2", "0", "0"] and 'data-export="1"' in html
    assert re.search(r'<button class="primary" type="submit" disabled>', html)

    store.commit(Batch(events=[void("ka", 3, 2)]), AT)
    html = client.get("/exports").get_data(as_text=True)
    assert row_figures(html, "total") == ["1", "1", "0", "1"]
    second = download(client, "csv")
    lines = list(csv.reader(io.StringIO(second.data.decode("utf-8-sig"), newline="")))
    assert second.mimetype == "text/csv" and [(line[1], line[-1]) for line in lines[1:]] == [("Hủy", "ka:2")]

    again = client.get("/exports/1")
    assert again.status_code == 200 and again.data == first.data
    assert row_figures(client.get("/exports").get_data(as_text=True), "total") == ["1", "1", "0", "0"]
    lines = [(e.action, e.record, e.staff_id) for e in store.audit_log() if e.action == "export_platform"]
    data_id = store.staff_named(STAFF["data"]).id
    assert lines == [("export_platform", f"export:{n}", data_id) for n in (1, 2, 1)]


def test_ok__nothing_to_export_is_said_and_kept_nowhere(client, store):
    sign_in(client, "admin")
    empty = download(client, "csv", "2024-06-01")
    assert empty.status_code == 303 and empty.headers["Location"].endswith("/exports?day=2024-06-01")
    assert "Không có liều nào" in client.get(empty.headers["Location"]).get_data(as_text=True)
    assert not [e for e in store.audit_log() if e.action == "export_platform"]


def test_ok__another_day_in_the_query(client):
    sign_in(client, "officer")
    html = client.get("/exports?day=2024-05-22").get_data(as_text=True)
    assert row_figures(html, "total") == ["1", "0", "1", "0"] and 'value="2024-05-22"' in html


def test_fail__an_officer_without_the_right_downloads_nothing(client, store):
    sign_in(client, "officer")
    page = client.get("/exports")
    assert download(client).status_code == 403 and client.get("/exports/1").status_code == 403
    assert not store.platform_exports(datetime(2024, 5, 1).date())
    assert page.status_code == 200


@pytest.mark.parametrize("query", ["day=2024-5-1", "day=2024-02-30", "day=%27%3B--", "day=２０２４-05-01"])
def test_fail__a_bad_day_is_a_message(client, query):
    sign_in(client, "data")
    page = client.get(f"/exports?{query}")
    assert page.status_code == 400 and "YYYY-MM-DD" in page.get_data(as_text=True)


def test_fail__a_bad_format_day_or_missing_token_changes_nothing(client, store):
    sign_in(client, "data")
    assert client.post("/exports/platform", data={"csrf_token": token(client), "day": DAY, "format": "pdf"}).status_code == 400
    assert client.post("/exports/platform", data={"csrf_token": token(client), "day": "x", "format": "csv"}).status_code == 400
    assert client.post("/exports/platform", data={"day": DAY, "format": "csv"}).status_code == 400
    assert client.get("/exports/99").status_code == 404
    assert not store.platform_exports(datetime(2024, 5, 1).date())


def test_fail__a_broken_mapping_file_is_a_message_naming_the_key(store, tmp_path):
    mapping = tmp_path / "platform.toml"
    mapping.write_text("[file]\nsheets = 1\n", encoding="utf-8")
    client = app_for(store, HubConfig(export=ExportSettings(mapping=str(mapping))))
    sign_in(client, "data")
    html = client.get("/exports").get_data(as_text=True)
    assert "file.sheets: not a key of [file]" in html and re.search(r'type="submit" disabled>', html)
    refused = download(client)
    assert refused.status_code == 303 and not store.platform_exports(datetime(2024, 5, 1).date())


def test_ok__the_page_in_english(client):
    sign_in(client, "data")
    client.post("/lang", data={"csrf_token": token(client), "lang": "en", "next": "/exports"})
    html = client.get("/exports").get_data(as_text=True)
    assert "Same-day entry into the national platform" in html and "Changed after export" in html

"""hub/web/reports.py on the Flask test client over the district of test_hub_daily_report.py: the page issues the
report at the cut-off on the workspace's injected clock, every role sees the counts, only roles that may see people
the rows behind them (audited, no personal data in the log), re-issue, downloads read back, bad input refused
(real server and Chromium: test_e2e_reports.py)."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import datetime

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub import passwords
from hub.web import Services, WebSettings, create_app

from .test_hub_daily_report import CUT, LAN, ON, SITE_A, SITE_B, TU, at, store  # noqa: F401  (store: the fixture)

PASSWORD = "ngaytiem2026"
CHEAP = passwords.hash_password(PASSWORD, cost=passwords.Cost(n=2**4, r=1, p=1))
STAFF = {"admin": "Nguyễn Thị Lan", "data": "Trần Văn Bình", "officer": "Lê Hoa"}


class Clock:
    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock():
    return Clock(at(8, 20))  # 15:20 in Vietnam, before the cut-off


@pytest.fixture
def client(store, clock):  # noqa: F811
    for role, name in STAFF.items():
        store.add_staff(name, role, CHEAP, at(0, 0))
    return create_app(Services(store, store.path, WebSettings(secret_key="test-secret"), clock)).test_client()


def sign_in(client, role: str) -> None:
    html = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    assert client.post("/login", data={"csrf_token": token, "name": STAFF[role], "password": PASSWORD}).status_code == 302


def token_of(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def cell(html: str, site: str, figure: str) -> str:
    form = html.split('id="report-form"')[1]
    row = re.search(rf'<tr data-site="{re.escape(site)}">(.*?)</tr>', form, re.S).group(1)
    found = re.search(rf'data-figure="{figure}">(.*?)</td>', row, re.S).group(1)
    return re.sub(r"<[^>]+>", "", found)


def test_ok__the_page_issues_the_report_once_the_cut_off_passes_on_the_workspace_clock(client, clock, store):  # noqa: F811
    sign_in(client, "officer")
    html = client.get("/reports/daily").get_data(as_text=True)
    assert 'data-shown="now"' in html and store.daily_report_versions(ON) == []
    clock.now = at(8, 31)
    html = client.get("/reports/daily").get_data(as_text=True)
    assert 'data-shown="1"' in html and [v["why"] for v in store.daily_report_versions(ON)] == ["cutoff"]
    assert cell(html, SITE_A, "vaccinated") == "2" and cell(html, SITE_B, "vaccinated") == "1"
    assert SITE_B in html.split('class="card late"')[1]  # what arrived after the cut, per site
    client.get("/reports/daily")
    assert len(store.daily_report_versions(ON)) == 1


def test_ok__officers_see_counts_without_links_and_may_not_list_people(client, clock):
    clock.now = at(8, 31)
    sign_in(client, "officer")
    html = client.get("/reports/daily").get_data(as_text=True)
    assert "/behind" not in html
    assert client.get("/reports/daily/2024-05-01/behind?figure=vaccinated").status_code == 403


def test_ok__the_rows_behind_a_count_are_listed_for_the_data_staff_and_audited(client, clock, store):  # noqa: F811
    clock.now = at(8, 31)
    sign_in(client, "data")
    html = client.get("/reports/daily").get_data(as_text=True)
    assert 'href="/reports/daily/2024-05-01/behind?figure=vaccinated' in html
    listed = client.get("/reports/daily/2024-05-01/behind", query_string={
        "figure": "vaccinated", "site": SITE_A, "version": "1"}).get_data(as_text=True)
    assert "Nguyễn Thị Lan" in listed and "Phạm Văn Tú" in listed and "Ngô Văn Dũng" not in listed
    assert LAN not in listed and TU not in listed  # names link to the record by ref, never by ID number
    entry = store.audit_log(limit=1)[0]
    assert (entry.action, entry.record) == ("view_report_detail", "report:2024-05-01:vaccinated")
    assert client.get("/reports/daily/2024-05-01/behind?figure=nope").status_code == 404


def test_ok__re_issuing_keeps_every_version_and_audits_it(client, clock, store):  # noqa: F811
    clock.now = at(9, 0)
    sign_in(client, "officer")
    html = client.get("/reports/daily").get_data(as_text=True)
    response = client.post("/reports/daily/2024-05-01/issue", data={"csrf_token": token_of(html), "note": "Lê Lợi có mạng lúc 15:50"})
    assert response.status_code == 302 and response.headers["Location"].endswith("version=2")
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'data-shown="2"' in html and "Lê Lợi có mạng lúc 15:50" in html and 'class="card late"' not in html
    assert cell(html, SITE_B, "present") == "2"
    assert [v["version"] for v in store.daily_report_versions(ON)] == [1, 2]
    entry = store.audit_log(limit=1)[0]
    assert (entry.action, entry.record) == ("report_issue", "report:2024-05-01:2")


def test_fail__a_note_too_long_a_future_day_or_no_token_issues_nothing(client, clock, store):  # noqa: F811
    clock.now = at(9, 0)
    sign_in(client, "officer")
    token = token_of(client.get("/reports/daily").get_data(as_text=True))
    client.post("/reports/daily/2024-05-01/issue", data={"csrf_token": token, "note": "x" * 501})
    client.post("/reports/daily/2024-05-02/issue", data={"csrf_token": token})
    assert client.post("/reports/daily/2024-05-01/issue", data={"note": "no token"}).status_code == 400
    assert [v["why"] for v in store.daily_report_versions(ON)] == ["cutoff"]  # the page's look at 16:00 issued it


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=30))
def test_fail__any_day_in_a_url_is_a_page_or_a_clear_refusal_never_a_crash(client, text):
    if client.get("/reports/daily").status_code != 200:  # the first example signs in
        sign_in(client, "officer")
    assert client.get("/reports/daily", query_string={"day": text}).status_code in (200, 400)
    assert client.get("/reports/daily/x/behind", query_string={"day": text, "figure": text, "version": text}).status_code in (403, 404)


def test_ok__the_files_read_back_as_the_page_counts(client, clock):
    clock.now = at(8, 31)
    sign_in(client, "officer")
    assert client.get("/reports/daily/2024-05-01.xlsx?version=1").status_code == 404  # not issued yet
    client.get("/reports/daily")  # 15:31: the look issues it
    book = openpyxl.load_workbook(io.BytesIO(client.get("/reports/daily/2024-05-01.xlsx?version=1").data))
    assert book.sheetnames == ["Báo cáo ngày 2024-05-01", "Theo vắc xin", "Theo nhóm tuổi", "Đến sau giờ chốt"]
    form = list(book.worksheets[0].values)
    header, by_site = form[0], {row[0]: dict(zip(form[0], row)) for row in form[1:]}
    assert by_site[SITE_A]["Số người được tiêm"] == 2 and by_site["Tổng cộng"]["Số người được tiêm"] == 4
    assert header[1] == "Số người đến (check-in)"
    late = list(book.worksheets[3].values)
    assert [row[0] for row in late[1:]] == sorted([SITE_A, SITE_B])
    text = client.get("/reports/daily/2024-05-01.csv?version=1").data.decode("utf-8")
    assert text.startswith("\ufeff") and list(csv.reader(io.StringIO(text[1:])))[-1][0] == "Tổng cộng"
    data = json.loads(client.get("/reports/daily/2024-05-01.json?version=1").data)
    assert data["as_of"] == CUT.isoformat() and len(data["arrived_after_cut"]) == 2
    assert client.get("/reports/daily/2024-05-01.pdf").status_code == 404

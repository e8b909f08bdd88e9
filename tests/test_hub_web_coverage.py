"""hub/web/coverage.py on the Flask test client over a real hub database: every role sees the counts and charts, only
the data staff and admins the outreach list and its XLSX (names), each look and export audited without personal data
(the real server and Chromium: test_e2e_coverage.py)."""

from __future__ import annotations

import io
import re
from datetime import datetime, timezone

import pytest

from hub import passwords
from hub.coverage import commune_key
from hub.roster.files import Parsed
from hub.roster.rows import Entry
from hub.store import Batch
from hub.store.sqlite import open_store
from hub.web import Services, WebSettings, create_app

from .hub_helpers import dose

PASSWORD = "ngaytiem2026"
T0 = datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc)
CHEAP = passwords.hash_password(PASSWORD, cost=passwords.Cost(n=2**4, r=1, p=1))
AT = "2026-03-02T08:00:00+07:00"
BEN_NGHE, TAN_LAP = "Phường Bến Nghé", "Xã Tân Lập"
STAFF = {"admin": "Nguyễn Thị Lan", "data": "Trần Văn Bình", "officer": "Lê Hoa"}


def person(n: int, commune: str, birth: str, name: str) -> Entry:
    return Entry(f"0011900{n:05d}", name, birth, "Nữ", commune, f"Số {n}, Đường Lê Lợi", "3", f"0901{n:06d}")


@pytest.fixture
def store(tmp_path):
    with open_store(tmp_path / "hub.db") as store:
        for role, name in STAFF.items():
            store.add_staff(name, role, CHEAP, T0)
        entries = [person(n, BEN_NGHE if n % 2 else TAN_LAP, f"{1940 + n % 70}-0{1 + n % 9}-1{n % 10}", f"Người Số {n}")
                   for n in range(250)]
        entries.append(person(999, BEN_NGHE, "1990-03-15", '=HYPERLINK("http://evil.example","bấm")'))
        store.import_roster(Parsed(entries=entries, rows=len(entries)), "list.csv", "tester", AT)
        events = [dose("ka", n + 1, e.id_number, on="2025-06-01") for n, e in enumerate(entries[:100])]
        store.commit(Batch(events=events), AT)
        yield store


@pytest.fixture
def client(store):
    return create_app(Services(store, store.path, WebSettings(secret_key="test-secret"), lambda: T0)).test_client()


def sign_in(client, role: str):
    html = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    response = client.post("/login", data={"csrf_token": token, "name": STAFF[role], "password": PASSWORD})
    assert response.status_code == 302


def text(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)))


@pytest.mark.parametrize("role", ["officer", "data", "admin"])
def test_ok__every_role_sees_the_counts_and_charts_without_a_name(client, role):
    sign_in(client, role)
    page = client.get("/coverage")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Độ bao phủ so với danh sách dân cư" in text(page)
    assert html.count('<svg class="bars') == 2 and '<title id="band-chart-title">' in html and "<desc" in html
    assert 'data-chart="commune-chart"' in html and "Tiêm ít nhất một mũi" in html  # hub/charts.py: both levels
    assert "style=" not in html and "<script" not in html
    assert 'data-commune="district"' in html and f'data-commune="{commune_key(BEN_NGHE)}"' in html
    assert "Người Số" not in html and "HYPERLINK" not in html and "001190000" not in html
    assert (f'href="/coverage/{commune_key(BEN_NGHE)}"' in html) == (role != "officer")
    assert 'href="/coverage"' in html  # the nav link


def test_ok__the_table_holds_counts_and_percentages_in_vietnamese_form(client, store):
    sign_in(client, "officer")
    html = client.get("/coverage").get_data(as_text=True)
    report = store.coverage(datetime(2026, 3, 2).date())
    total = report["district"]["total"]
    cell = re.search(r'<tbody data-commune="district".*?<tr data-band="5\+" class="total">(.*?)</tr>', html, re.S).group(1)
    assert f'{total["roster"]}' in cell and f'{total["one_dose"]["count"]}' in cell
    assert f'{total["one_dose"]["percent"]:.1f} %'.replace(".", ",") in cell


def test_ok__one_commune_alone(client):
    sign_in(client, "officer")
    page = client.get(f"/coverage?commune={commune_key(TAN_LAP)}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and f'data-commune="{commune_key(TAN_LAP)}"' in html
    assert f'data-commune="{commune_key(BEN_NGHE)}"' not in html.split("<table", 1)[1]
    assert html.count('<svg class="bars') == 1 and "Danh sách cần vận động" not in text(page)
    assert client.get("/coverage?commune=000000000000").status_code == 404


def test_fail__an_officer_gets_no_outreach_list_nor_its_spreadsheet(client, store):
    sign_in(client, "officer")
    key = commune_key(BEN_NGHE)
    assert client.get(f"/coverage/{key}").status_code == 403
    assert client.get(f"/coverage/{key}/outreach.xlsx").status_code == 403
    assert not [e for e in store.audit_log() if e.action.startswith("outreach")]


@pytest.mark.parametrize("role", ["data", "admin"])
def test_ok__the_data_staff_read_the_outreach_list_page_by_page_and_each_look_is_audited(client, store, role):
    sign_in(client, role)
    key = commune_key(BEN_NGHE)
    total, _ = store.outreach(BEN_NGHE, datetime(2026, 3, 2).date())
    first = client.get(f"/coverage/{key}")
    html = first.get_data(as_text=True)
    assert first.status_code == 200 and f"{total} người cần vận động" in text(first)
    assert html.count("<tr>") == 100 + 1 and "Trang 1 / 2" in text(first) and f'/coverage/{key}?page=2' in html
    assert "=HYPERLINK(&#34;http://evil.example&#34;,&#34;bấm&#34;)" in html  # shown as text, escaped
    second = client.get(f"/coverage/{key}?page=2")
    assert second.get_data(as_text=True).count("<tr>") == total - 100 + 1
    assert client.get(f"/coverage/{key}?page=abc").status_code == 200
    lines = [e for e in store.audit_log() if e.action == "outreach_view"]
    assert len(lines) == 3 and {e.record for e in lines} == {f"commune:{key}"}


def test_ok__the_spreadsheet_export_is_the_whole_list_neutralised_and_audited(client, store):
    import openpyxl

    sign_in(client, "data")
    key = commune_key(BEN_NGHE)
    response = client.get(f"/coverage/{key}/outreach.xlsx")
    assert response.status_code == 200 and response.mimetype.endswith("spreadsheetml.sheet")
    assert response.headers["Content-Disposition"] == f'attachment; filename="outreach-{key}-2026-03-02.xlsx"'
    book = openpyxl.load_workbook(io.BytesIO(response.data))
    rows = [[cell.value for cell in row] for row in book.worksheets[0].iter_rows()]
    total, _ = store.outreach(BEN_NGHE, datetime(2026, 3, 2).date())
    assert len(rows) == total + 1 and rows[0][1] == "Họ và tên"
    assert ["'=HYPERLINK(\"http://evil.example\",\"bấm\")"] == [r[1] for r in rows if "HYPERLINK" in str(r[1])]
    assert all(cell.data_type != "f" for row in book.worksheets[0].iter_rows() for cell in row)
    line = store.audit_log(limit=1)[0]
    assert (line.action, line.record) == ("outreach_export", f"commune:{key}")


def test_ok__the_spreadsheet_follows_the_pages_language(client):
    import openpyxl

    sign_in(client, "admin")
    html = client.get("/coverage").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    client.post("/lang", data={"csrf_token": token, "lang": "en", "next": "/coverage"})
    response = client.get(f"/coverage/{commune_key(TAN_LAP)}/outreach.xlsx")
    header = [c.value for c in next(openpyxl.load_workbook(io.BytesIO(response.data)).worksheets[0].iter_rows())]
    assert header[:2] == ["ID number", "Full name"] and header[-2:] == ["Dose due", "Due since"]
    assert "Coverage against the roster" in text(client.get("/coverage"))


def test_fail__an_unknown_commune_is_404_and_no_one_signed_in_goes_to_sign_in(client):
    assert client.get("/coverage").status_code == 302
    assert client.get(f"/coverage/{commune_key(BEN_NGHE)}").headers["Location"].startswith("/login?next=")
    sign_in(client, "data")
    assert client.get("/coverage/000000000000").status_code == 404
    assert client.get("/coverage/000000000000/outreach.xlsx").status_code == 404


def test_ok__before_any_roster_the_page_says_how_to_import_one(tmp_path):
    with open_store(tmp_path / "empty.db") as store:
        store.add_staff(STAFF["officer"], "officer", CHEAP, T0)
        client = create_app(Services(store, store.path, WebSettings(secret_key="s"), lambda: T0)).test_client()
        sign_in(client, "officer")
        page = client.get("/coverage")
    assert page.status_code == 200 and "hub roster import" in text(page) and "<svg" not in page.get_data(as_text=True)


def test_ok__while_an_import_is_worked_off_the_page_says_so(client, store):
    with store.transaction() as conn:
        conn.execute("INSERT INTO coverage_pending (id_number) VALUES ('001190000001')")
    sign_in(client, "officer")
    assert "còn 1 người chưa được tính" in text(client.get("/coverage"))

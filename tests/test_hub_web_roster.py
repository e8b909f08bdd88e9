"""hub/web/roster.py on the Flask test client over a real hub database: uploads that import, files refused whole with a
clear message in the page's language, officers and forged forms refused, re-imports that change nothing, the templates.
(The real server and Chromium: test_e2e_hub_roster.py.)"""

from __future__ import annotations

import html
import io
import re
import sqlite3
import zipfile

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from hub.roster.files import MAX_FILE_BYTES, parse_roster
from hub.roster.reasons import FILE_REASONS, ROW_REASONS
from hub.roster.template import template_xlsx
from hub.store import roster as roster_sql
from hub.store.sqlite import open_store
from hub.web.roster import NAME_MAX, UPLOAD_MAX_BYTES, clean_name

from .hub_helpers import HUNG_ID, LAN_ID
from .test_hub_web import CHEAP, T0, Clock, make_app, sign_in, text, token

HEADER = "Số CCCD,Họ và tên,Ngày sinh,Giới tính,Xã/Phường"
GOOD = [f"{LAN_ID},Nguyễn Thị Lan,15/03/1990,Nữ,Bến Nghé", f"{HUNG_ID},Trần Văn Hùng,1958,Nam,Tân Lập"]
BAD = ["12345,Người Sai Số,1990,Nam,Tân Lập", f"{LAN_ID},Nguyễn Thị Lan,15/03/1990,Nữ,Bến Nghé",
       "079231000001,Lê Văn Tương Lai,01/01/2031,Nam,Phường 1"]
"""Refused: a short ID (row 4), Lan again (row 5: duplicate_id), born after the import (row 6)."""
DATA, ADMIN, OFFICER = "Trần Văn Bình", "Nguyễn Thị Lan", "Lê Hoa"


def csv_file(*lines: str) -> bytes:
    return ("\r\n".join([HEADER, *lines]) + "\r\n").encode()


@pytest.fixture
def store(tmp_path):
    with open_store(tmp_path / "hub.db") as store:
        for name, role in ((ADMIN, "admin"), (DATA, "data"), (OFFICER, "officer")):
            store.add_staff(name, role, CHEAP, T0)
        yield store


@pytest.fixture
def app(store):
    return make_app(store, Clock())


@pytest.fixture
def client(app):
    client = app.test_client()
    assert sign_in(client, name=DATA).status_code == 302
    return client


def upload(client, data: bytes, name: str = "danh-sach.csv", **form):
    """POST the file as a browser does. The body is encoded here, in memory: the test client would spool a large one
    to a temporary file that nothing closes."""
    fields = {"csrf_token": token(client, "/roster"), "file": FileStorage(io.BytesIO(data), name), **form}
    boundary, body = encode_multipart(fields)
    return client.post("/roster/import", data=body, content_type=f"multipart/form-data; boundary={boundary}")


def imports(store) -> int:
    return len(store.roster_imports())


def error(response) -> str:
    return html.unescape(re.search(r'<p class="error" role="alert">([^<]*)</p>', response.get_data(as_text=True)).group(1))


def counts(response) -> dict[str, int]:
    return {k: int(v) for k, v in re.findall(r'data-count="(\w+)">(\d+)<', response.get_data(as_text=True))}


def refused_rows(response) -> list[tuple[int, str]]:
    """(row, reason code) of the first table of refused rows on the page."""
    table = response.get_data(as_text=True).split('<table class="refused"', 1)[1].split("</table>", 1)[0]
    return [(int(row), reason) for reason, row in re.findall(r'data-reason="(\w+)">\s*<td class="num">(\d+)<', table)]


# -- imports ------------------------------------------------------------------------------------------------------------


def test_ok__data_staff_import_a_csv_and_see_each_refused_row_with_its_number_and_reason_in_vietnamese(client, store):
    response = upload(client, csv_file(*GOOD, *BAD))
    assert response.status_code == 200
    assert counts(response) == {"rows": 5, "added": 2, "changed": 0, "unchanged": 0, "rejected": 3, "conflicts": 0}
    assert refused_rows(response) == [(4, "bad_id_number"), (5, "duplicate_id"), (6, "birth_in_future")]
    page = text(response)
    assert all(ROW_REASONS[code][0] in page for code in ("bad_id_number", "duplicate_id", "birth_in_future"))
    assert "Người Sai Số" not in page and "Tương Lai" not in page  # a refused row's cells never come back
    [done] = store.roster_imports()
    assert (done["file_name"], done["imported_by"], done["added"], done["rejected"]) == ("danh-sach.csv", DATA, 2, 3)
    [entry] = [e for e in store.audit_log() if e.action == "roster_import"]
    assert (entry.staff_name, entry.record) == (DATA, f"roster_import:{done['import_id']}")


def test_ok__the_same_file_again_adds_and_changes_nothing(client, store):
    upload(client, csv_file(*GOOD, BAD[0]))
    before = sqlite3.connect(str(store.path)).execute("SELECT * FROM roster ORDER BY id_number").fetchall()
    again = upload(client, csv_file(*GOOD, BAD[0]))
    assert counts(again) == {"rows": 3, "added": 0, "changed": 0, "unchanged": 2, "rejected": 1, "conflicts": 0}
    assert sqlite3.connect(str(store.path)).execute("SELECT * FROM roster ORDER BY id_number").fetchall() == before
    assert [(i["added"], i["unchanged"]) for i in store.roster_imports()] == [(0, 2), (2, 0)]


def test_ok__an_xlsx_upload_is_read_back_as_it_was_typed(client, store):
    import openpyxl

    book = openpyxl.load_workbook(io.BytesIO(template_xlsx()))
    rows = [[HUNG_ID, "Trần Văn Hùng", "02/11/1958", "Nam", "Tân Lập", "Thôn Đông", None, "0912 345 678"],
            [int(LAN_ID), "Nguyễn Thị Lan", "15/03/1990", "nữ", "Bến Nghé"],  # a number cell: its leading 00 are lost
            ["12345", "Ai Đó", "1990", "Nam", "Bến Nghé"]]
    for number, cells in enumerate(rows, start=2):  # typed over the template's example row, as a person would
        for column, value in enumerate(cells, start=1):
            book.active.cell(row=number, column=column, value=value)
    for column in range(6, 9):
        book.active.cell(row=3, column=column, value=None)
    out = io.BytesIO()
    book.save(out)
    response = upload(client, out.getvalue(), "danh-sach.xlsx")
    assert response.status_code == 200 and counts(response)["added"] == 2
    assert refused_rows(response) == [(4, "bad_id_number")]
    rows = sqlite3.connect(str(store.path)).execute(
        "SELECT id_number, full_name, birth_date, sex, commune, address, phone FROM roster ORDER BY id_number").fetchall()
    assert rows == [(LAN_ID, "Nguyễn Thị Lan", "1990-03-15", "Nữ", "Bến Nghé", "", ""),
                    (HUNG_ID, "Trần Văn Hùng", "1958-11-02", "Nam", "Tân Lập", "Thôn Đông", "0912 345 678")]


def test_ok__the_page_lists_the_imports_and_the_refused_rows_of_each_file_s_last_import(client, store):
    upload(client, csv_file(GOOD[0], BAD[0]), "ben-nghe.csv")
    upload(client, csv_file(GOOD[1], "036058001234,Trần Văn Hùng,1958,Nam,Tân Lập", "1,A,1990,Nam,X"), "tan-lap.csv")
    page = client.get("/roster")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert html.count('<tr data-import="') == 2 and html.index("tan-lap.csv") < html.index("ben-nghe.csv")
    assert re.findall(r'<table class="refused" data-file="([^"]+)"', html) == ["tan-lap.csv", "ben-nghe.csv"]
    assert "Các dòng bị từ chối trong lần nhập gần nhất của mỗi tệp" in text(page)


def test_fail__an_upload_while_another_import_is_under_way_is_refused_and_the_page_shows_it_being_imported(client, store):
    with open_store(store.path) as other:  # `hub roster import` in another process, or another upload
        with other.transaction("DEFERRED") as conn:
            found = roster_sql.compare(conn, parse_roster(csv_file(GOOD[1]), "tan-lap.csv", T0.date()).entries)
        with other.transaction() as conn:
            roster_sql.begin(conn, "tan-lap.csv", "hub", T0.isoformat(), 1, found, 0)
        with other.import_lock():
            response = upload(client, csv_file(GOOD[0]), "ben-nghe.csv")
            assert response.status_code == 409
            assert error(response).startswith("Một danh sách khác đang được nhập vào hệ thống. Chưa nhập gì")
            assert '<td class="state-staging">Đang nhập</td>' in response.get_data(as_text=True)
    assert [i["file_name"] for i in store.roster_imports()] == ["tan-lap.csv"]
    response = upload(client, csv_file(GOOD[0]), "ben-nghe.csv")  # it finishes the stopped one first, then imports
    assert response.status_code == 200 and counts(response)["added"] == 1
    assert [(i["file_name"], i["state"]) for i in store.roster_imports()] == [("ben-nghe.csv", "done"),
                                                                              ("tan-lap.csv", "abandoned")]
    assert "Đã dừng trước khi ghi: không giữ lại gì" in text(client.get("/roster"))


def test_ok__in_english_the_reasons_are_english(client, store):
    client.post("/lang", data={"csrf_token": token(client, "/roster"), "lang": "en", "next": "/roster"})
    response = upload(client, csv_file(GOOD[0], BAD[0]))
    assert ROW_REASONS["bad_id_number"][1] in text(response) and "Population list" in text(response)
    assert error(upload(client, b"%PDF-1.7\n", "list.pdf")) == FILE_REASONS["wrong_type"][1]


# -- files refused whole ------------------------------------------------------------------------------------------------


def zip_of(name: str, data: bytes) -> bytes:
    """A zip holding ``data`` as ``name``, the same bytes on any day (a member's default time is the clock's now)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr(zipfile.ZipInfo(name, date_time=(2026, 11, 25, 8, 0, 0)), data)
    return out.getvalue()


@pytest.mark.parametrize("name, data, code", [
    ("danh-sach.pdf", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "wrong_type"),
    ("danh-sach.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504), "wrong_type"),
    ("danh-sach.xlsx", "Số CCCD,Họ và tên\r\n".encode(), "malformed_xlsx"),
    ("danh-sach.xlsx", zip_of("hello.txt", b"not a workbook"), "malformed_xlsx"),
    ("danh-sach.xlsx", zip_of("[Content_Types].xml", b"<broken")[:-30], "malformed_xlsx"),
    ("danh-sach.csv", HEADER.encode("utf-16"), "not_utf8"),
    ("danh-sach.csv", b"S\xf4 CCCD,Ng\xe0y sinh\r\n", "not_utf8"),  # Windows-1258, as an old Excel saves it
    ("danh-sach.csv", "Số CCCD,Họ và tên,Ngày sinh\r\n001190012345,Lan,1990\r\n".encode(), "missing_column"),
    ("danh-sach.csv", b"\r\n\r\n", "empty"),
])
def test_fail__a_file_that_cannot_be_read_is_refused_whole_with_its_reason(client, store, name, data, code):
    response = upload(client, data, name)
    assert response.status_code == 400 and error(response) == FILE_REASONS[code][0]
    assert imports(store) == 0 and 'name="file"' in response.get_data(as_text=True)  # the form is there to try again


def test_fail__no_file_or_an_empty_one_says_so(client, store):
    response = client.post("/roster/import", data={"csrf_token": token(client, "/roster")}, content_type="multipart/form-data")
    assert response.status_code == 400 and error(response) == "Hãy chọn một tệp CSV hoặc XLSX để nhập."
    empty = upload(client, b"", "rong.csv")
    assert empty.status_code == 400 and error(empty) == "Tệp rong.csv trống: không có gì được nhập."
    assert imports(store) == 0


def test_fail__a_file_over_50_mb_is_refused_before_or_after_it_is_read(client, store):
    # over the request's limit: werkzeug stops at the Content-Length; under it but over 50 MiB: the roster reader refuses
    for size in (UPLOAD_MAX_BYTES + 1, MAX_FILE_BYTES + 1):
        response = upload(client, b"a" * size, "lon.csv")
        assert response.status_code == 413 and error(response) == FILE_REASONS["too_large"][0], size
    assert imports(store) == 0
    assert client.post("/login", data={"name": "x" * 70_000}).status_code == 413  # other forms keep the 64 KiB limit


# -- who may ------------------------------------------------------------------------------------------------------------


def test_fail__an_officer_is_refused_the_page_the_templates_and_the_upload(app, store, caplog):
    officer = app.test_client()
    sign_in(officer, name=OFFICER)
    for path in ("/roster", "/roster/template.csv", "/roster/template.xlsx"):
        response = officer.get(path)
        assert response.status_code == 403 and "Vai trò của bạn không được xem trang này" in text(response), path
    refused = officer.post("/roster/import", data={"csrf_token": token(officer, "/"), "file": (io.BytesIO(csv_file(*GOOD)), "a.csv")},
                           content_type="multipart/form-data")
    assert refused.status_code == 403 and imports(store) == 0
    assert "Danh sách dân cư" not in text(officer.get("/"))  # no link in the bar either
    assert "refused POST /roster/import: role" in caplog.text


def test_ok__an_admin_may_import_and_nobody_signed_in_is_sent_to_sign_in(app, store):
    admin = app.test_client()
    sign_in(admin)
    assert "Danh sách dân cư" in text(admin.get("/")) and upload(admin, csv_file(*GOOD)).status_code == 200
    stranger = app.test_client()
    assert stranger.get("/roster").headers["Location"].startswith("/login?next=")
    assert stranger.post("/roster/import").status_code == 302
    assert imports(store) == 1


def test_fail__an_upload_without_its_csrf_token_imports_nothing(client, store):
    for form in ({}, {"csrf_token": "forged"}):
        response = client.post("/roster/import", data={"file": (io.BytesIO(csv_file(*GOOD)), "a.csv"), **form},
                               content_type="multipart/form-data")
        assert response.status_code == 400 and "Chưa có gì thay đổi" in text(response)
    assert imports(store) == 0 and not [e for e in store.audit_log() if e.action == "roster_import"]


# -- the templates ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_ok__the_templates_download_and_read_back_as_one_valid_example_row(client, suffix):
    response = client.get(f"/roster/template{suffix}")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == f'attachment; filename="mau-danh-sach{suffix}"'
    parsed = parse_roster(response.data, f"t{suffix}", T0.date())
    assert (len(parsed.entries), parsed.refused) == (1, [])


# -- any bytes, any name ------------------------------------------------------------------------------------------------


@given(data=st.binary(max_size=2048) | st.sampled_from([b"PK\x03\x04" + bytes(40), "Số CCCD;Họ và tên\n".encode()]),
       name=st.text(max_size=300))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_ok__any_bytes_under_any_name_get_a_page_never_a_crash(client, store, data, name):
    before = imports(store)
    response = upload(client, data, name)
    assert response.status_code in (200, 400), response.status_code
    assert imports(store) == before + (response.status_code == 200)
    assert response.status_code == 200 or error(response)


@given(st.text(max_size=400))
def test_ok__a_kept_file_name_has_no_folder_no_control_character_and_a_bounded_length(raw):
    name = clean_name(raw)
    assert name and len(name) <= NAME_MAX and "/" not in name and "\\" not in name
    assert all(c.isprintable() for c in name)


# -- the vaccinated on no roster ------------------------------------------------------------------------------------------

def test_ok__the_vaccinated_on_no_roster_are_listed_for_the_data_staff_and_each_page_is_audited(client, store):
    from hub.store import Batch

    from .hub_helpers import check_in, dose

    store.commit(Batch(events=[check_in("ka", 1), dose("ka", 2), check_in("ka", 3, HUNG_ID, full_name="Trần Văn Hùng",
                                                                          birth_date="1958-07-02", sex="Nam"),
                               dose("ka", 4, HUNG_ID)]), "2026-03-02T08:00:00+07:00")
    upload(client, csv_file(GOOD[0]))  # Lan is on a list; Hùng is on none
    assert 'href="/roster/unrostered"' in client.get("/roster").get_data(as_text=True)
    page = client.get("/roster/unrostered")
    assert page.status_code == 200
    body = html.unescape(page.get_data(as_text=True))
    assert "Trần Văn Hùng" in body and HUNG_ID in body and LAN_ID not in body
    assert 'action="/people"' in body and "page=2" not in body
    assert [(e.action, e.record) for e in store.audit_log(limit=1)] == [("view_unrostered", "unrostered:page:1")]
    assert "Mọi người đã tiêm" in text(client.get("/roster/unrostered?page=2"))


def test_fail__an_officer_may_not_read_the_vaccinated_on_no_roster(app):
    officer = app.test_client()
    sign_in(officer, name=OFFICER)
    assert officer.get("/roster/unrostered").status_code == 403


def test_ok__hub_roster_unrostered_lists_them_on_the_command_line(store, tmp_path):
    import json
    import subprocess
    import sys
    from pathlib import Path

    from hub.store import Batch

    from .hub_helpers import check_in, dose

    store.commit(Batch(events=[check_in("ka", 1), dose("ka", 2)]), "2026-03-02T08:00:00+07:00")
    done = subprocess.run([sys.executable, "-m", "hub", "roster", "unrostered", "--db", str(store.path), "--json"],
                          cwd=Path(__file__).resolve().parent.parent, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    [person] = json.loads(done.stdout)
    assert (person["id_number"], person["doses"], person["last_dose_on"]) == (LAN_ID, 1, "2024-05-01")

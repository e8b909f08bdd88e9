"""The provincial workspace (docs/province.md "The provincial workspace"): the daily report's province shape (a total
per district, the province's counting a person once) as a property of hub/reports/daily.py, and the pages with the
district selector on the Flask test client over a real SQLite hub holding kiosks of two districts; a district hub
shows no selector; coverage by district from each district's roster upload. (The stores' district filters: tests/test_hub_store_live.py; one citizen through two districts'
kiosks with real processes: test_hub_provincial_ingest.py; real Chromium: test_e2e_province_views.py.)"""

from __future__ import annotations

import datetime
import json
import re
from datetime import timedelta

import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hub import cli as hub_cli
from hub import corrections
from hub.coverage import commune_key
from hub.kiosk_files import ImportedKiosk
from hub.reports import forms
from hub.reports.daily import DayRows, Dose, Outcome, Rules, build, for_district
from hub.store import Batch
from hub.store.sqlite import open_store
from hub.web import Services, WebSettings, create_app

from .hub_helpers import lot_dose
from .hub_stores import database
from .test_hub_fleet import status
from .test_hub_web_roster import upload
from .test_hub_web_fleet import CHEAP, NOW, PASSWORD, STAFF_NAMES, severe

DAY = datetime.date(2026, 3, 2)
RULES = Rules({"comirnaty_30": 2}, (18, 60))
SITE = "Trạm Y tế Phường 1"
"""A site's name both districts have: rows keep their district apart."""

# -- the report's shape at a province (pure) -----------------------------------------------------------------------

KIOSKS = {"ka": ("d1", SITE), "kb": ("d1", "Trường THCS"), "kc": ("d2", SITE), "kd": ("d3", "Nhà văn hóa")}
PEOPLE = ["001190000001", "001190000002", "001190000003", "001190000004"]
BORN = dict(zip(PEOPLE, ["1990-05-17", "1950-01-01", None, "2010-02-03"]))
"""Each person's birth date as the people table holds it (one per person, wherever they came)."""
ARRIVED = "2026-03-02T02:00:00+00:00"

visits = st.lists(st.tuples(st.sampled_from(sorted(KIOSKS)), st.sampled_from(PEOPLE), st.integers(1, 3), st.booleans()),
                  max_size=25)


def day_rows(found: list[tuple], only: str | None = None) -> DayRows:
    """A day of doses and check-ins at the kiosks above (those of ``only`` when given), as the store reads them."""
    doses, outcomes = [], []
    for n, (kiosk, person, number, checked_in) in enumerate(found):
        district, site = KIOSKS[kiosk]
        if only not in (None, district):
            continue
        doses.append(Dose(f"{kiosk}:{n}", site, "comirnaty_30", "FK1", number, 0, person, BORN[person], ARRIVED, None,
                          district))
        if checked_in:
            outcomes.append(Outcome(f"{kiosk}:c{n}", site, "checked_in", person, None, ARRIVED, None, district))
    sites = sorted({KIOSKS[k] for k in KIOSKS if only in (None, KIOSKS[k][0])})
    return DayRows(DAY, doses, outcomes, [], sites)


@settings(max_examples=60, deadline=None)
@given(visits)
def test_ok__a_province_s_total_adds_doses_and_counts_each_person_once(found):
    report = build(day_rows(found), None, RULES)
    sections = {entry["district"]: entry for entry in report["districts"]}
    assert sorted(sections) == ["d1", "d2", "d3"]
    assert report["total"]["doses_given"] == sum(entry["total"]["doses_given"] for entry in sections.values()) == len(found)
    assert report["total"]["vaccinated"] == len({person for _k, person, *_rest in found})
    assert report["total"]["present"] == len({person for _k, person, _n, came in found if came})
    for district, entry in sections.items():
        mine = [visit for visit in found if KIOSKS[visit[0]][0] == district]
        assert entry["total"]["vaccinated"] == len({person for _k, person, *_rest in mine})
        assert sum(entry["ages"].values()) == entry["total"]["vaccinated"]
        alone = build(day_rows(found, district), None, RULES)
        assert for_district(report, district) == alone  # an issued version narrowed = the district's rows counted
    assert sum(report["total_ages"].values()) == report["total"]["vaccinated"]
    assert [(row["district"], row["site"]) for row in report["sites"]] == [
        ("d1", "Trường THCS"), ("d1", SITE), ("d2", SITE), ("d3", "Nhà văn hóa")]


def test_ok__a_district_hub_s_report_keeps_its_shape():
    rows = DayRows(DAY, [Dose("ka:1", SITE, "comirnaty_30", "FK1", 1, 0, PEOPLE[0], None, ARRIVED, None)], [], [],
                   [(None, SITE)])
    report = build(rows, None, RULES)
    assert "districts" not in report and "total_ages" not in report
    assert report["sites"][0]["site"] == SITE and "district" not in report["sites"][0]
    assert report["total"]["vaccinated"] == 1


# -- the pages --------------------------------------------------------------------------------------------------------

TODAY = NOW.date().isoformat()
PERSON = "001190000777"


def enroll(store, districts: dict[str, list[tuple[str, str]]]) -> None:
    for district, kiosks in districts.items():
        store.import_kiosks([ImportedKiosk(kiosk, site, ()) for kiosk, site in kiosks], district, NOW.isoformat())


@pytest.fixture(params=["sqlite", "postgres"])
def province(request, tmp_path):
    """A province's hub on either store: d1 (ka, kb) and d2 (kc), ka and kc at sites of one name; doses today in
    both, one person in both districts, a serious reaction in d2, a kiosk of d2 with a backlog."""
    db = database(request, tmp_path)
    with db.open() as store:
        store.location = db.location
        for role, name in STAFF_NAMES.items():
            store.add_staff(name, role, CHEAP, NOW)
        enroll(store, {"d1": [("ka", SITE), ("kb", "Trường THCS Tân Lập")], "d2": [("kc", SITE)]})
        events = [lot_dose("ka", 1, PERSON, day=TODAY, time="08:10:00"),
                  lot_dose("ka", 2, "001190000778", day=TODAY, time="09:10:00"),
                  lot_dose("kb", 1, "001190000779", day=TODAY, time="09:20:00"),
                  lot_dose("kc", 1, PERSON, day=TODAY, time="10:05:00", number=2),
                  severe("kc", 2, 1, PERSON, TODAY)]
        store.commit(Batch(events=events), (NOW - timedelta(hours=1)).isoformat())
        store.commit(Batch(statuses=[status("kc", NOW - timedelta(minutes=1), outbox=350)]), NOW.isoformat())
        yield store


def client_of(store):
    """A client signed in as the data staff to the workspace on ``store`` (its ``location``: what --db takes)."""
    app = create_app(Services(store, store.location, WebSettings(secret_key="test-secret"), lambda: NOW))
    client = app.test_client()
    html = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    assert client.post("/login", data={"csrf_token": token, "name": STAFF_NAMES["data"], "password": PASSWORD}
                       ).status_code == 302
    return client


def options(html: str) -> list[str]:
    selector = html.split('<select id="district" name="district">')[1].split("</select>")[0]
    return re.findall(r'<option value="([^"]*)"', selector)


def chosen(html: str) -> str:
    return re.search(r'<option value="([^"]*)" selected>', html).group(1)


def test_ok__the_front_page_shows_the_province_or_one_district(province):
    client = client_of(province)
    html = client.get("/").get_data(as_text=True)
    assert options(html) == ["", "d1", "d2"] and chosen(html) == ""
    assert "Hệ thống tiêm chủng tuyến tỉnh" in html  # a province's workspace says so
    assert 'data-stream="/live/stream"' in html
    sites = re.findall(r'<tr data-site="([^"]+)" data-district="(\w+)">', html)
    assert sorted(sites) == sorted([(SITE, "d1"), (SITE, "d2"), ("Trường THCS Tân Lập", "d1")])  # one name, two rows
    one = client.get("/?district=d2").get_data(as_text=True)
    assert chosen(one) == "d2" and 'data-stream="/live/stream?district=d2"' in one
    assert re.findall(r'<tr data-site="([^"]+)" data-district="(\w+)">', one) == [(SITE, "d2")]
    assert 'data-kiosk="kc"' in one and "kc:2" in one  # d2's flagged kiosk and serious reaction
    for page in ("/kiosks", "/reports/daily", "/aefi", "/exports"):  # the menu keeps the district chosen
        assert f'href="{page}?district=d2"' in one and f'href="{page}"' in html
    d1 = client.get("/?district=d1").get_data(as_text=True)
    assert "kc:2" not in d1 and 'data-kiosk="kc"' not in d1
    assert PERSON not in html + one + d1


def test_ok__the_live_stream_of_a_district_sends_its_figures_only(province):
    client = client_of(province)
    response = client.get("/live/stream?district=d1", buffered=False)
    chunks = iter(response.response)
    assert next(chunks) == b"retry: 3000\n\n"
    first = next(chunks).decode()
    response.close()
    assert "Trường THCS Tân Lập" in first and 'data-district=\\"d2\\"' not in first and 'data-district=\\"d1\\"' in first


def test_ok__the_kiosks_page_lists_a_district_s_kiosks_with_their_district(province):
    client = client_of(province)
    html = client.get("/kiosks").get_data(as_text=True)
    assert re.findall(r'<tr data-kiosk="(\w+)"', html) and options(html) == ["", "d1", "d2"]
    assert sorted(re.findall(r'<td data-district="(\w+)">', html)) == ["d1", "d1", "d2"]
    one = client.get("/kiosks?district=d1").get_data(as_text=True)
    assert sorted(re.findall(r'<tr data-kiosk="(\w+)"', one)) == ["ka", "kb"] and chosen(one) == "d1"


def figure(html: str, row: str, name: str) -> str:
    """The count of ``name`` in the form's row that opens with ``row`` (an attribute)."""
    part = html.split('id="report-form"')[1].split(row, 1)[1].split("</tr>")[0]
    return re.search(rf'data-figure="{name}">(?:<a [^>]+>)?([\d.,]+)', part).group(1)


def test_ok__the_daily_report_has_a_section_per_district_and_counts_a_person_once_in_the_province(province):
    client = client_of(province)
    html = client.get(f"/reports/daily?day={TODAY}").get_data(as_text=True)
    assert options(html) == ["", "d1", "d2"]
    assert re.findall(r'<tbody data-district="(\w*)">', html) == ["d1", "d2"]
    assert figure(html, 'data-district-total="d1"', "vaccinated") == "3"
    assert figure(html, 'data-district-total="d2"', "vaccinated") == "1"
    assert figure(html, "data-province-total", "vaccinated") == "3"  # not 4: PERSON came to both, counted once
    assert figure(html, "data-province-total", "doses_given") == "4"
    one = client.get(f"/reports/daily?day={TODAY}&district=d2").get_data(as_text=True)
    assert chosen(one) == "d2" and "data-province-total" not in one and "<tbody data-district" not in one
    assert re.findall(r'<tr data-site="([^"]+)"><th scope="row">', one.split('id="report-form"')[1].split("</table>")[0]) == [SITE]
    behind = client.get(f"/reports/daily/{TODAY}/behind?figure=vaccinated&district=d2&version=now").get_data(as_text=True)
    assert re.findall(r'<tr data-event="([^"]+)">', behind) == ["kc:1"]
    whole = client.get(f"/reports/daily/{TODAY}/behind?figure=vaccinated&version=now").get_data(as_text=True)
    assert sorted(re.findall(r'<tr data-event="([^"]+)">', whole)) == ["ka:1", "ka:2", "kb:1", "kc:1"]
    assert "Toàn tỉnh" in whole.split('class="lead"')[1].split("</p>")[0]


def test_ok__an_issued_version_seen_for_one_district_is_its_section(province):
    client = client_of(province)
    html = client.get(f"/reports/daily?day={TODAY}").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    assert client.post(f"/reports/daily/{TODAY}/issue", data={"csrf_token": token}).status_code == 302
    issued = client.get(f"/reports/daily?day={TODAY}&version=1&district=d1").get_data(as_text=True)
    assert 'data-shown="1"' in issued and figure(issued, 'data-site=""', "vaccinated") == "3"
    csv_text = client.get(f"/reports/daily/{TODAY}.csv?version=1&district=d1").get_data(as_text=True)
    assert SITE in csv_text and "Tân Lập" in csv_text


def test_fail__a_district_the_province_does_not_have_is_not_found(province):
    client = client_of(province)
    for url in ("/?district=d9", "/kiosks?district=d9", f"/reports/daily?day={TODAY}&district=d9",
                "/live/stream?district=d9"):
        assert client.get(url).status_code == 404, url


def test_ok__a_district_hub_shows_no_selector_and_ignores_the_parameter(tmp_path):
    with open_store(tmp_path / "district.db") as store:
        store.location = store.path
        for role, name in STAFF_NAMES.items():
            store.add_staff(name, role, CHEAP, NOW)
        store.enroll("ka", SITE, None, NOW.isoformat())
        client = client_of(store)
        for url in ("/", "/kiosks", f"/reports/daily?day={TODAY}", "/?district=d1"):
            html = client.get(url).get_data(as_text=True)
            assert '<select id="district"' not in html and "data-district" not in html, url
            assert "Hệ thống tiêm chủng tuyến huyện" in html, url


def test_ok__the_clinical_pages_and_the_export_gauge_show_one_district(province):
    client = client_of(province)
    both = client.get(f"/aefi?from={TODAY}&to={TODAY}").get_data(as_text=True)
    one = client.get(f"/aefi?from={TODAY}&to={TODAY}&district=d1").get_data(as_text=True)
    assert options(both) == ["", "d1", "d2"] and "kc:2" in both and chosen(one) == "d1" and "kc:2" not in one
    assert 'href="/deferrals?district=d1"' in one and 'href="/stock?district=d1"' in one  # the tabs keep the choice
    for page in ("deferrals", "stock"):
        assert chosen(client.get(f"/{page}?district=d2").get_data(as_text=True)) == "d2"
    gauge = client.get(f"/exports?day={TODAY}").get_data(as_text=True)
    assert 'data-export-province' not in gauge and 'name="format"' in gauge
    d2 = client.get(f"/exports?day={TODAY}&district=d2").get_data(as_text=True)
    assert chosen(d2) == "d2" and "data-export-province" in d2 and 'name="format"' not in d2
    assert re.search(r'<tr data-site="total" class="total">\s*<th scope="row">[^<]+</th>\s*<td[^>]*>1<', d2)


def test_ok__a_province_s_csv_has_a_district_column_each_district_s_total_and_the_province_s(province):
    client = client_of(province)
    lines = client.get(f"/reports/daily/{TODAY}.csv?version=now").get_data(as_text=True).lstrip("\ufeff").splitlines()
    assert lines[0].startswith("Quận/huyện,Điểm tiêm,")
    cells = [line.split(",") for line in lines[1:]]
    assert [row[:2] for row in cells] == [["d1", "Trường THCS Tân Lập"], ["d1", SITE], ["d2", SITE], ["d1", "Tổng cộng"],
                                          ["d2", "Tổng cộng"], ["Tổng cộng toàn tỉnh (mỗi người tính một lần)", ""]]
    vaccinated = lines[0].split(",").index("Số người được tiêm")
    assert [row[vaccinated] for row in cells[3:]] == ["3", "1", "3"]


def test_ok__hub_report_daily_writes_one_district_s_part_or_the_province_s(province, capsys):
    code = hub_cli.main(["report", "daily", "--db", province.location, "--date", TODAY, "--district", "d2"])
    one = json.loads(capsys.readouterr().out)
    assert code == 0 and [(row["district"], row["site"]) for row in one["sites"]] == [("d2", SITE)]
    assert one["total"]["vaccinated"] == 1 and [entry["district"] for entry in one["districts"]] == ["d2"]
    assert hub_cli.main(["report", "daily", "--db", province.location, "--date", TODAY]) == 0
    whole = json.loads(capsys.readouterr().out)
    assert whole["total"]["vaccinated"] == 3 and [entry["district"] for entry in whole["districts"]] == ["d1", "d2"]
    assert hub_cli.main(["report", "daily", "--db", province.location, "--date", TODAY, "--district", "d9"]) == 2
    assert "d9" in capsys.readouterr().err


def test_ok__the_province_s_own_entries_are_named_the_province_s(province):
    province.correct(corrections.add_dose("001190000779", product="comirnaty_30", lot_number="P1", number=1, booster=None,
                                          given_on=TODAY, place="Bệnh viện tỉnh", reason="bù", evidence="giấy"),
                     staff_id=None, by="Cán bộ Mai", at=NOW.isoformat())
    html = client_of(province).get("/").get_data(as_text=True)
    assert re.search(r'<tr data-site="@hub">\s*<td>Nhập tại tuyến tỉnh</td>', html)


def test_ok__the_history_chart_names_a_district_only_where_two_sites_share_a_name(province):
    html = client_of(province).get("/").get_data(as_text=True)
    chart = html.split('data-chart="history-chart"')[1].split("</svg>")[0]
    keys = re.findall(r'<text class="key"[^>]*>([^<]+)</text>', chart)
    assert sorted(keys) == sorted([f"{SITE} (d1)", f"{SITE} (d2)", "Trường THCS Tân Lập"])


def test_ok__the_person_s_record_shows_each_dose_s_district(province):
    [match] = province.find_people(number=PERSON)
    html = client_of(province).get(f"/people/{match.ref}").get_data(as_text=True)
    doses = html.split('id="doses"')[1].split("</table>")[0]
    assert re.findall(r'<td data-district="(\w+)">', doses) == ["d1", "d2"]


def test_ok__a_province_s_workbook_has_the_district_column_on_each_sheet(province, tmp_path):
    out = tmp_path / "report.xlsx"
    assert hub_cli.main(["report", "daily", "--db", province.location, "--date", TODAY, "--format", "xlsx",
                         "--out", str(out)]) == 0
    book = openpyxl.load_workbook(out)
    for sheet in book.worksheets[:3]:
        assert [cell.value for cell in sheet[1][:2]] == ["Quận/huyện", "Điểm tiêm"], sheet.title
    form = [[cell.value for cell in row[:2]] for row in book.worksheets[0].iter_rows(min_row=2)]
    assert form[-1][0] == forms.PROVINCE_TOTAL and [row[0] for row in form[-3:-1]] == ["d1", "d2"]


def roster_csv(*people: tuple[str, str]) -> bytes:
    """A population list of these (ID number, commune), each a woman born on 15 March 1990."""
    rows = [f"{number},Nguyễn Thị Lan,15/03/1990,Nữ,{commune}" for number, commune in people]
    return ("\r\n".join(["Số CCCD,Họ và tên,Ngày sinh,Giới tính,Xã/Phường", *rows]) + "\r\n").encode()


def test_ok__the_coverage_page_shows_the_province_or_one_district_s_communes(province):
    """Each district's list is uploaded for its district (none chosen, or one the province has not: refused); "Phường 1"
    of d1 and of d2 are two rows; the selector shows the province's totals or one district's communes and due list."""
    client = client_of(province)
    d1 = roster_csv((PERSON, "Phường 1"), ("001190000778", "Phường 1"), ("001190000779", "Xã Tân Lập"))
    d2 = roster_csv(("001190000780", "Phường 1"))
    assert upload(client, d1, "d1.csv").status_code == 400 and province.roster_imports() == []
    assert upload(client, d2, "d2.csv", district="d9").status_code == 400 and province.roster_imports() == []
    assert upload(client, d1, "d1.csv", district="d1").status_code == 200
    assert upload(client, d2, "d2.csv", district="d2").status_code == 200
    assert [(i["file_name"], i["district"]) for i in province.roster_imports()] == [("d2.csv", "d2"), ("d1.csv", "d1")]
    imports = client.get("/roster").get_data(as_text=True).split('class="imports"')[1].split("</table>")[0]
    assert re.findall(r'<td data-district="(\w+)">', imports) == ["d2", "d1"]
    of_d1, of_d2 = commune_key("Phường 1", "d1"), commune_key("Phường 1", "d2")
    whole = client.get("/coverage").get_data(as_text=True)
    assert options(whole) == ["", "d1", "d2"] and "Phường 1 (d2)" in whole
    assert f'data-commune="{of_d1}"' in whole and f'data-commune="{of_d2}"' in whole and roster_figure(whole) == "4"
    one = client.get("/coverage?district=d2").get_data(as_text=True)
    assert chosen(one) == "d2" and of_d2 in one and of_d1 not in one and roster_figure(one) == "1"
    alone = client.get(f"/coverage?district=d1&commune={of_d1}").get_data(as_text=True)
    assert roster_figure(alone) == "2"
    assert roster_figure(client.get(f"/coverage?district=d2&commune={of_d1}").get_data(as_text=True)) == "1"
    due = client.get(f"/coverage/{of_d2}").get_data(as_text=True)
    assert "001190000780" in due and "001190000778" not in due and "Phường 1 (d2)" in due
    assert client.get("/coverage?district=d9").status_code == 404


def roster_figure(html: str) -> str:
    """The people on the roster aged 5 and over the page's chart counts."""
    return re.search(r'<dd data-level="roster">([^<]*)</dd>', html).group(1)


def test_ok__hub_roster_import_and_hub_coverage_take_the_district(province, tmp_path, capsys):
    first, second, due = tmp_path / "d1.csv", tmp_path / "d2.csv", tmp_path / "due.xlsx"
    first.write_bytes(roster_csv((PERSON, "Phường 1")))
    second.write_bytes(roster_csv(("001190000780", "Phường 1")))
    assert hub_cli.main(["roster", "import", str(first), "--db", province.location]) == 2
    assert "say which district" in capsys.readouterr().err
    assert hub_cli.main(["roster", "import", str(first), "--db", province.location, "--district", "d1"]) == 0
    assert hub_cli.main(["roster", "import", str(second), "--db", province.location, "--district", "d2"]) == 0
    capsys.readouterr()
    assert hub_cli.main(["coverage", "--db", province.location, "--district", "d2", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [(p["district"], p["commune"]) for p in report["communes"]] == [("d2", "Phường 1")]
    outreach = ["coverage", "outreach", "--db", province.location, "--commune", "Phường 1", "--out", str(due)]
    assert hub_cli.main(outreach) == 2 and "--district" in capsys.readouterr().err  # a name both districts have
    assert hub_cli.main([*outreach, "--district", "d2"]) == 0 and due.exists()

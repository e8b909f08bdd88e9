"""hub/roster/: reading and checking population lists (CSV and XLSX), pure; XLSX files written with openpyxl and read
back; the reason codes and their documentation."""

from __future__ import annotations

import datetime
import io
import re
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.errors import RosterDistrictError, RosterFileError
from hub.roster import columns, files, rows
from hub.roster.district import import_district
from hub.roster.files import parse_roster
from hub.roster.link import mismatch
from hub.roster.reasons import FILE_REASONS, ROW_REASONS
from hub.roster.template import template

ROOT = Path(__file__).resolve().parent.parent
TODAY = datetime.date(2026, 3, 2)
HEADER = "Số CCCD,Họ và tên,Ngày sinh,Giới tính,Xã/Phường,Địa chỉ,Nhóm ưu tiên,Số điện thoại"
LAN = "001190012345,Nguyễn Thị Lan,15/03/1990,Nữ,Bến Nghé,Số 12 Lê Lợi,1,0901234567"
LAN_ENTRY = rows.Entry("001190012345", "Nguyễn Thị Lan", "1990-03-15", "Nữ", "Bến Nghé", "Số 12 Lê Lợi", "1", "0901234567")


def csv_file(*lines: str, header: str = HEADER, bom: bool = False) -> bytes:
    return (("\ufeff" if bom else "") + "\r\n".join([header, *lines]) + "\r\n").encode("utf-8")


def xlsx_file(table: list[list[object]]) -> bytes:
    book = openpyxl.Workbook()
    for line in table:
        book.active.append(line)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def parse(data: bytes, name: str = "list.csv") -> files.Parsed:
    return parse_roster(data, name, TODAY)


def only_reason(line: str) -> str:
    parsed = parse(csv_file(line))
    assert parsed.entries == [] and len(parsed.refused) == 1, parsed
    return parsed.refused[0].reason


# -- rows that are imported ---------------------------------------------------------------------------------------------

OK_ROWS = [
    ("dd/mm/yyyy", LAN, LAN_ENTRY),
    ("iso date", LAN.replace("15/03/1990", "1990-03-15"), LAN_ENTRY),
    ("one-digit day and month", LAN.replace("15/03/1990", "5/3/1990"), LAN_ENTRY._replace(birth_date="1990-03-05")),
    ("year only", LAN.replace("15/03/1990", "1990"), LAN_ENTRY._replace(birth_date="1990")),
    ("sex without diacritics", LAN.replace(",Nữ,", ",nu,"), LAN_ENTRY),
    ("sex in English", LAN.replace(",Nữ,", ",FEMALE,"), LAN_ENTRY),
    ("old CMND", LAN.replace("001190012345", "123456789"), LAN_ENTRY._replace(id_number="123456789")),
    ("no phone", LAN.replace(",0901234567", ","), LAN_ENTRY._replace(phone="")),
    ("phone +84", LAN.replace(",0901234567", ",+84 90 123 4567"), LAN_ENTRY._replace(phone="+84 90 123 4567")),
    ("spaces in the name", LAN.replace("Nguyễn Thị Lan", "  Nguyễn  Thị Lan "), LAN_ENTRY),
    ("a formula is text", LAN.replace("Số 12 Lê Lợi", "=HYPERLINK(\"x\")"), LAN_ENTRY._replace(address="=HYPERLINK(\"x\")")),
]


@pytest.mark.parametrize(("line", "expected"), [case[1:] for case in OK_ROWS], ids=[case[0] for case in OK_ROWS])
def test_ok__a_row_is_imported(line, expected):
    assert parse(csv_file(line)).entries == [expected]


FAIL_ROWS = [
    ("short ID", LAN.replace("001190012345", "00119001234"), "bad_id_number"),
    ("letters in ID", LAN.replace("001190012345", "00119001234X"), "bad_id_number"),
    ("no ID", LAN.replace("001190012345", ""), "missing_value"),
    ("no name", LAN.replace("Nguyễn Thị Lan", ""), "missing_value"),
    ("no commune", LAN.replace("Bến Nghé", ""), "missing_value"),
    ("no date", LAN.replace("15/03/1990", ""), "missing_value"),
    ("31 February", LAN.replace("15/03/1990", "31/02/1990"), "bad_date"),
    ("month 13", LAN.replace("15/03/1990", "1990-13-01"), "bad_date"),
    ("words for a date", LAN.replace("15/03/1990", "mười lăm"), "bad_date"),
    ("born tomorrow", LAN.replace("001190012345", "001226012345").replace("15/03/1990", "03/03/2026"), "birth_in_future"),
    ("sex unknown", LAN.replace(",Nữ,", ",X,"), "bad_sex"),
    ("sex empty", LAN.replace(",Nữ,", ",,"), "missing_value"),
    ("phone with letters", LAN.replace("0901234567", "call me"), "bad_phone"),
    ("name too long", LAN.replace("Nguyễn Thị Lan", "A" * 101), "value_too_long"),
    ("control character", LAN.replace("Bến Nghé", "Bến\x07Nghé"), "bad_characters"),
    ("century digit", LAN.replace("001190012345", "001390012345"), "id_century_mismatch"),
    ("year digits", LAN.replace("001190012345", "001191012345"), "id_year_mismatch"),
    ("sex digit", LAN.replace("001190012345", "001090012345"), "id_sex_mismatch"),
    ("year-only date, year digits", LAN.replace("15/03/1990", "1991"), "id_year_mismatch"),
]


@pytest.mark.parametrize(("line", "reason"), [case[1:] for case in FAIL_ROWS], ids=[case[0] for case in FAIL_ROWS])
def test_fail__a_row_is_refused_with_its_reason(line, reason):
    assert only_reason(line) == reason


def test_fail__a_repeated_id_keeps_the_first_row_and_refuses_the_later_ones():
    parsed = parse(csv_file(LAN, LAN.replace("Lan", "Lam"), LAN))
    assert parsed.entries == [LAN_ENTRY]
    assert parsed.refused == [rows.Refused(3, "duplicate_id", "001190012345"), rows.Refused(4, "duplicate_id", "001190012345")]
    assert parsed.rows == 3


def test_ok__a_refused_row_keeps_its_id_only_when_valid():
    parsed = parse(csv_file(LAN.replace("Bến Nghé", ""), LAN.replace("001190012345", "12")))
    assert parsed.refused == [rows.Refused(2, "missing_value", "001190012345"), rows.Refused(3, "bad_id_number", None)]


# -- headers ------------------------------------------------------------------------------------------------------------

HEADERS = [
    ("Vietnamese", HEADER),
    ("no diacritics, lower case", "so cccd,ho va ten,ngay sinh,gioi tinh,xa/phuong,dia chi,nhom uu tien,so dien thoai"),
    ("English", "id_number,Full Name,Date of Birth,Sex,Commune,Address,Priority group,Phone"),
    ("shuffled, extra STT", "STT,Phone,Sex,Full name,ID number,Ward,Date of birth,Address,Priority group"),
]


@pytest.mark.parametrize("header", [h for _, h in HEADERS], ids=[n for n, _ in HEADERS])
def test_ok__headers_in_vietnamese_or_english(header):
    found = columns.find_columns(header.split(","))
    assert set(columns.REQUIRED) <= set(found)


def test_ok__a_title_above_the_header_is_skipped_and_bom_and_semicolons_are_read():
    data = ("\ufeffDANH SÁCH TIÊM CHỦNG;;;\r\n" + HEADER.replace(",", ";") + "\r\n" + LAN.replace(",", ";") + "\r\n").encode()
    parsed = parse(data)
    assert parsed.entries == [LAN_ENTRY] and parsed.refused == []


def test_fail__a_missing_required_column_refuses_the_file():
    with pytest.raises(RosterFileError, match="required column") as caught:
        parse(csv_file(LAN, header=HEADER.replace("Giới tính", "Ghi chú")))
    assert caught.value.code == "missing_column" and "sex" in str(caught.value)


# -- files that cannot be read ------------------------------------------------------------------------------------------

BAD_FILES = [
    ("windows-1258 text", HEADER.encode("utf-8") + b"\r\n" + "Nguyễn".encode("utf-16-le") + b"\xff\r\n", "list.csv", "not_utf8"),
    ("utf-16", ("\ufeff" + HEADER).encode("utf-16"), "list.csv", "not_utf8"),
    ("old xls", b"\xd0\xcf\x11\xe0" + b"\x00" * 100, "list.xls", "wrong_type"),
    ("pdf", b"%PDF-1.4 ...", "list.pdf", "wrong_type"),
    ("xlsx that is not a zip", b"hello", "list.xlsx", "malformed_xlsx"),
    ("a zip that is no workbook", b"PK\x03\x04" + b"\x00" * 60, "list.xlsx", "malformed_xlsx"),
    ("no header", b"a,b,c\r\n1,2,3\r\n", "list.csv", "empty"),
    ("nothing", b"", "list.csv", "empty"),
]


@pytest.mark.parametrize(("data", "name", "code"), [c[1:] for c in BAD_FILES], ids=[c[0] for c in BAD_FILES])
def test_fail__a_file_that_cannot_be_read_is_refused_whole(data, name, code):
    with pytest.raises(RosterFileError) as caught:
        parse(data, name)
    assert caught.value.code == code and isinstance(caught.value, ValueError)


def test_fail__a_file_over_50_mib_is_refused_before_it_is_read(tmp_path):
    big = tmp_path / "big.csv"
    with big.open("wb") as out:
        out.truncate(files.MAX_FILE_BYTES + 1)
    with pytest.raises(RosterFileError) as caught:
        files.read_roster(big, TODAY)
    assert caught.value.code == "too_large"


def test_fail__too_many_rows(monkeypatch):
    monkeypatch.setattr(files, "MAX_ROWS", 2)
    with pytest.raises(RosterFileError) as caught:
        parse(csv_file(LAN, LAN, LAN))
    assert caught.value.code == "too_large"


# -- XLSX ----------------------------------------------------------------------------------------------------------------


def test_ok__an_xlsx_written_by_openpyxl_is_read_back():
    table = [HEADER.split(","), LAN.split(","), ["036058001234", "Trần Văn Hùng", datetime.datetime(1958, 11, 2), "Nam", "Tân Lập"]]
    parsed = parse(xlsx_file(table), "list.xlsx")
    assert parsed.entries == [LAN_ENTRY, rows.Entry("036058001234", "Trần Văn Hùng", "1958-11-02", "Nam", "Tân Lập", "", "", "")]


def test_ok__xlsx_row_numbers_are_the_sheets_with_a_title_and_a_blank_row_above_the_header():
    table = [["DANH SÁCH ĐỐI TƯỢNG TIÊM CHỦNG"], [], HEADER.split(","), LAN.split(","), [],
             LAN.replace("Nguyễn Thị Lan", "").split(",")]
    parsed = parse(xlsx_file(table), "list.xlsx")
    assert parsed.entries == [LAN_ENTRY] and parsed.refused == [rows.Refused(6, "missing_value", "001190012345")]


XLSX_IDS = [
    ("11 digits: one zero lost", 36058001234, "036058001234"),
    ("10 digits: two zeros lost", 1190012345, "001190012345"),
    ("9 digits: a CMND", 123456789, "123456789"),
    ("a float", 1190012345.0, "001190012345"),
]


@pytest.mark.parametrize(("cell", "expected"), [c[1:] for c in XLSX_IDS], ids=[c[0] for c in XLSX_IDS])
def test_ok__an_id_in_a_number_cell_gets_its_leading_zeros_back(cell, expected):
    assert rows.read_id(cell) == expected


@pytest.mark.parametrize("cell", [12345678, 1234567, 1.5, -1190012345, True], ids=str)
def test_fail__an_id_in_a_number_cell_that_cannot_be_read_back(cell):
    assert rows.read_id(cell) in ("!id_stored_as_number", "!bad_id_number")


def test_ok__a_year_in_a_number_cell_and_an_excel_date():
    assert rows.read_date(1958, TODAY) == "1958"
    assert rows.read_date(datetime.datetime(1990, 3, 15), TODAY) == "1990-03-15"
    assert rows.read_date(datetime.time(10, 0), TODAY) == "!bad_date"
    assert rows.read_date(datetime.date(1850, 1, 1), TODAY) == "!bad_date"


def test_ok__a_formula_is_never_evaluated():
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(HEADER.split(","))
    sheet.append(["001190012345", "=1+1", "15/03/1990", "Nữ", "+Bến Nghé", "-1", "@SUM(A1)", ""])
    out = io.BytesIO()
    book.save(out)
    parsed = parse(out.getvalue(), "list.xlsx")
    # openpyxl saved "=1+1" as a formula with no cached value: data_only reads it as empty, never as 2
    assert parsed.refused == [rows.Refused(2, "missing_value", "001190012345")]


def test_ok__the_template_reads_back_as_its_example(tmp_path):
    for suffix in (".xlsx", ".csv"):
        parsed = parse(template(suffix), f"template{suffix}")
        assert len(parsed.entries) == 1 and parsed.refused == [], suffix
    assert template(".csv").startswith("\ufeff".encode())
    with pytest.raises(ValueError):
        template(".pdf")


# -- hypothesis: classes of bad input ------------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2000), st.sampled_from(["x.csv", "x.xlsx", "x.txt", "x"]))
def test_fail__garbage_bytes_are_refused_or_read_never_crash(data, name):
    try:
        parsed = parse(data, name)
    except RosterFileError:
        return
    assert parsed.rows == len(parsed.entries) + len(parsed.refused)


CELL = st.one_of(
    st.none(), st.text(max_size=30), st.integers(min_value=-10**13, max_value=10**13),
    st.floats(allow_nan=True, allow_infinity=True), st.booleans(), st.dates(), st.datetimes(),
    st.sampled_from(["=1+1", "+84", "-", "@x", "=cmd|' /C calc'!A0", "x" * 5000]),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(CELL, max_size=10), max_size=8))
def test_fail__random_cells_give_an_entry_or_a_known_reason(table):
    parsed = files.check_rows(enumerate([HEADER.split(","), *table], start=1), TODAY)
    assert parsed.rows == len(parsed.entries) + len(parsed.refused)
    assert all(r.reason in ROW_REASONS for r in parsed.refused)
    for entry in parsed.entries:
        assert re.fullmatch(r"[0-9]{9}|[0-9]{12}", entry.id_number) and entry.sex in ("Nam", "Nữ")
        assert re.fullmatch(r"[0-9]{4}(-[0-9]{2}-[0-9]{2})?", entry.birth_date)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(st.one_of(st.none(), st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=20),
                                   st.integers(min_value=0, max_value=10**12), st.dates()), min_size=5, max_size=8),
                max_size=5))
def test_fail__random_xlsx_cells_written_and_read_back(table):
    parsed = parse(xlsx_file([HEADER.split(","), *table]), "x.xlsx")
    assert parsed.rows == len(parsed.entries) + len(parsed.refused)


def test_fail__a_huge_cell_refuses_its_row_only():
    parsed = parse(csv_file(LAN.replace("Số 12 Lê Lợi", "x" * 100_000), LAN.replace("001190012345", "036058001234")
                            .replace("15/03/1990", "1958").replace(",Nữ,", ",Nam,")))
    assert [r.reason for r in parsed.refused] == ["value_too_long"] and len(parsed.entries) == 1


def test_fail__a_cell_over_the_csv_modules_limit_refuses_the_file():
    with pytest.raises(RosterFileError) as caught:
        parse(csv_file(LAN.replace("Số 12 Lê Lợi", "x" * 1_000_000)))
    assert caught.value.code == "malformed_csv"


def test_ok__row_numbers_count_records_not_lines():
    parsed = parse(csv_file(LAN.replace("Số 12 Lê Lợi", '"Số 12\nLê Lợi"'), LAN.replace("Bến Nghé", "")))
    assert parsed.refused == [rows.Refused(3, "missing_value", "001190012345")]


# -- linking --------------------------------------------------------------------------------------------------------------

PERSON = {"id_number": "001190012345", "full_name": "Nguyễn Thị Lan", "birth_date": "1990-03-15", "sex": "Nữ"}


@pytest.mark.parametrize("entry", [
    {"full_name": "NGUYỄN  THỊ LAN", "birth_date": "1990-03-15", "sex": "Nữ"},
    {"full_name": "Nguyễn Thị Lan", "birth_date": "1990", "sex": "Nữ"},
], ids=["case and spacing", "year only"])
def test_ok__a_roster_entry_that_agrees(entry):
    assert mismatch(PERSON, entry) is None


@pytest.mark.parametrize(("entry", "fields"), [
    ({"full_name": "Nguyễn Thị Lam", "birth_date": "1990-03-15", "sex": "Nữ"}, ["full_name"]),
    ({"full_name": "Nguyễn Thị Lan", "birth_date": "1991", "sex": "Nam"}, ["birth_date", "sex"]),
], ids=["name", "year and sex"])
def test_fail__a_roster_entry_that_disagrees_is_a_roster_mismatch(entry, fields):
    found = mismatch(PERSON, entry)
    assert found["kind"] == "roster_mismatch" and f'"fields":{fields}'.replace("'", '"').replace(" ", "") in found["detail"]


# -- the reasons are documented --------------------------------------------------------------------------------------------

ROSTER_DOC = (ROOT / "docs" / "roster.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("code", sorted({**ROW_REASONS, **FILE_REASONS}))
def test_ok__every_reason_code_is_documented_in_both_languages(code):
    vietnamese, english = {**ROW_REASONS, **FILE_REASONS}[code]
    assert f"| `{code}` | {vietnamese} | {english} |" in ROSTER_DOC


# -- the district of an import (hub/roster/district.py) ----------------------------------------------------------------

PROVINCE = ["d1", "d2"]


@pytest.mark.parametrize(("asked", "districts", "expected"), [
    (None, [], ""), ("", [], ""), ("d2", PROVINCE, "d2"), ("d1", ["d1"], "d1"),
], ids=["district_hub", "district_hub_empty", "province", "province_of_one_district_so_far"])
def test_ok__an_import_s_district(asked, districts, expected):
    assert import_district(asked, districts) == expected


@pytest.mark.parametrize(("asked", "districts", "code"), [
    (None, PROVINCE, "district_needed"), ("", PROVINCE, "district_needed"), ("d9", PROVINCE, "unknown_district"),
    ("D1", PROVINCE, "unknown_district"), ("d1", [], "not_a_province"),
], ids=["none", "empty", "unknown", "other_case", "at_a_district_hub"])
def test_fail__an_import_s_district_is_refused(asked, districts, code):
    with pytest.raises(RosterDistrictError) as refused:
        import_district(asked, districts)
    assert refused.value.code == code and isinstance(refused.value, ValueError)


def test_ok__a_file_read_for_a_district_keeps_it_on_every_entry_and_nothing_else_changes():
    parsed = parse_roster(f"{HEADER}\r\n{LAN}\r\n".encode(), "a.csv", datetime.date(2026, 3, 2))
    placed = parsed.in_district("d2")
    assert [e.district for e in parsed.entries] == [""] and [e.district for e in placed.entries] == ["d2"]
    assert parsed.entries == [LAN_ENTRY] and placed.entries == [LAN_ENTRY._replace(district="d2")]
    assert placed.rows == parsed.rows == 1

"""hub/reports/export.py, hub/reports/platform.py and hub/store/exports.py: the mapping file checked key by key, each
dose's class (Decision 43/QĐ-BYT), every cell neutral in XLSX and CSV read back, and the tracking of each dose through
the real store: exported, voided by a kiosk's EventVoided after export (changed after export), carried as voided by the
next export; corrections and roster entries changing a row; nothing exported twice. The store's tests run on SQLite and
on PostgreSQL."""

from __future__ import annotations

import csv
import io
from datetime import date

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from hub.corrections import add_dose, correct_identity
from hub.reports import export
from hub.reports.platform import DEFAULT_MAPPING, FIELDS, MappingError, build_mapping, load_mapping
from hub.roster.files import Parsed
from hub.roster.rows import Entry
from hub.store import Batch
from hub.store.sqlite import open_store
from vaccines.catalogue import load_catalogue

from .hub_helpers import DAY, HUNG_ID, LAN_ID, check_in, dose, void
from .hub_stores import both_stores

CATALOGUE = load_catalogue()
MAPPING = load_mapping()
AT = f"{DAY}T10:00:00+07:00"
SITE = "Trường THCS Lê Lợi"


def mapping_text(**replace: str) -> str:
    """The packaged mapping with some lines replaced (old line -> new line)."""
    text = DEFAULT_MAPPING.read_text(encoding="utf-8")
    for old, new in replace.items():
        assert old in text
        text = text.replace(old, new)
    return text


# -- the mapping file --------------------------------------------------------------------------------------------------


def test_ok__the_packaged_mapping_names_every_column_and_a_code_per_catalogue_product():
    assert [c.field for c in MAPPING.columns][:3] == ["row", "action", "full_name"]
    assert set(FIELDS) <= {c.field for c in MAPPING.columns}
    assert set(CATALOGUE.products) <= set(MAPPING.products)
    assert MAPPING.date("2024-05-01") == "01/05/2024" and MAPPING.date("1990") == "1990" and MAPPING.date(None) == ""


@pytest.mark.parametrize("old, new, key", [
    ('date_format = "DD/MM/YYYY"', 'date_format = "DD/MM"', "file.date_format"),
    ('csv_bom = true', 'csv_bom = "yes"', "file.csv_bom"),
    ('csv_delimiter = ","', 'csv_delimiter = ",;"', "file.csv_delimiter"),
    ('sheet = "Danh sach tiem"', 'sheet = "a/b"', "file.sheet"),
    ('province = ""', 'provinces = ""', "place.provinces"),
    ('voided = "Hủy"', '', "actions.voided: missing"),
    ('field = "full_name"', 'field = "fullname"', "columns[3].field"),
    ('header = "Họ và tên"', 'header = "STT"', "columns[3].header"),
    ('header = "Họ và tên"', 'header = "  "', "columns[3].header"),
    ('header = "Họ và tên"', 'header = 3', "columns[3].header"),
    ('vaxzevria = "AstraZeneca"', 'vaxzevria = 1', "products.vaxzevria"),
    ('[place]', '[places]', "[places]"),
])
def test_fail__a_broken_mapping_names_the_key(tmp_path, old, new, key):
    path = tmp_path / "platform.toml"
    path.write_text(mapping_text(**{old: new}), encoding="utf-8")
    with pytest.raises(MappingError) as caught:
        load_mapping(path)
    assert key in str(caught.value) and str(path) in str(caught.value)


@pytest.mark.parametrize("content, says", [
    (b"[file\n", "not valid TOML"), (b"\xff\xfe", "not UTF-8"), (b"", "[file]: missing"),
])
def test_fail__an_unreadable_mapping_says_why(tmp_path, content, says):
    path = tmp_path / "platform.toml"
    path.write_bytes(content)
    with pytest.raises(MappingError, match=says.replace("[", r"\[").replace("]", r"\]")):
        load_mapping(path)
    with pytest.raises(MappingError, match="cannot read"):
        load_mapping(tmp_path / "missing.toml")


def test_ok__a_district_reorders_renames_and_recodes_without_code():
    mapping = build_mapping({
        "file": {"date_format": "YYYY-MM-DD", "sheet": "Sheet1", "csv_delimiter": ";", "csv_bom": False},
        "place": {"province": "Tỉnh Lâm Đồng", "district": "Huyện Đức Trọng"},
        "actions": {"new": "N", "changed": "U", "voided": "D"},
        "dose_classes": {"primary": "P{n}", "additional": "A", "booster": "B{n}"},
        "products": {"comirnaty_30": "PFZ"},
        "columns": [{"header": "Vaccine", "field": "product"}, {"header": "Given", "field": "given_on"},
                    {"header": "Province", "field": "province"}, {"header": "Kind", "field": "dose_class"},
                    {"header": "Op", "field": "action"}],
    })
    built = export.build([row()], "csv", mapping, CATALOGUE)
    assert built.content.decode("utf-8").splitlines() == ["Vaccine;Given;Province;Kind;Op",
                                                          "PFZ;2024-05-01;Tỉnh Lâm Đồng;P1;N"]


# -- classification ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("product, number, booster, expected", [
    ("comirnaty_30", 1, 0, ("primary", 1)),
    ("comirnaty_30", 2, None, ("primary", 2)),
    ("comirnaty_30", 3, 0, ("additional", None)),
    ("comirnaty_30", 3, None, ("additional", None)),
    ("comirnaty_30", 3, 1, ("booster", 1)),
    ("comirnaty_30", 4, 2, ("booster", 2)),
    ("vaxzevria", 2, 0, ("primary", 2)),
    ("unknown_product", 5, 0, ("primary", 5)),
])
def test_ok__each_dose_has_its_class(product, number, booster, expected):
    assert export.dose_class(product, number, booster, CATALOGUE) == expected


def test_ok__the_class_is_written_as_the_mapping_says():
    lines = export.lines([(row(dose_number=n, booster=b), "new") for n, b in ((2, 0), (3, 0), (3, 1))], MAPPING, CATALOGUE)
    column = [c.field for c in MAPPING.columns].index("dose_class")
    assert [line[column] for line in lines] == ["Mũi cơ bản 2", "Mũi bổ sung", "Mũi nhắc lại 1"]


# -- every cell neutral ------------------------------------------------------------------------------------------------


def row(**values) -> dict:
    """A dose as the store's platform_rows give it."""
    return {"event_id": "ka:2", "id_number": LAN_ID, "full_name": "Nguyễn Thị Lan", "birth_date": "1990-03-15",
            "sex": "Nữ", "phone": "0901234567", "commune": "Phường Bến Nghé", "product": "comirnaty_30",
            "lot_number": "FK1234", "given_on": DAY, "given_at": f"{DAY}T09:30:00+07:00", "dose_number": 1,
            "booster": 0, "site": SITE, "voided": False, "exported_digest": None, "export_id": None, **values}


def unsafe(text: str) -> bool:
    return text.startswith(("=", "+", "-", "@", "\t", "\r", "\n"))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.text(min_size=1, max_size=30), min_size=5, max_size=5), st.sampled_from(export.FORMATS))
def test_ok__any_text_in_a_cell_comes_out_neutral(texts, fmt):
    name, phone, commune, lot, site = texts
    built = export.build([row(full_name=name, phone=phone, commune=commune, lot_number=lot, site=site)], fmt, MAPPING,
                         CATALOGUE)
    cells = read_back(built.content, fmt)[1]
    assert not [cell for cell in cells if isinstance(cell, str) and unsafe(cell)]
    for text in texts:  # each kept, apostrophe aside, as a string (never a formula)
        shown = export.xlsx.neutral(text)
        assert shown in cells


def read_back(content: bytes, fmt: str) -> list[list]:
    if fmt == "xlsx":
        sheet = openpyxl.load_workbook(io.BytesIO(content)).worksheets[0]
        return [[cell.value if cell.value is not None else "" for cell in line] for line in sheet.iter_rows()]
    text = content.decode("utf-8-sig")
    return [[cell for cell in line] for line in csv.reader(io.StringIO(text, newline=""))]


def test_ok__an_xlsx_cell_is_never_a_formula():
    built = export.build([row(full_name='=HYPERLINK("http://evil.example","x")', lot_number="+1")], "xlsx", MAPPING,
                         CATALOGUE)
    sheet = openpyxl.load_workbook(io.BytesIO(built.content)).worksheets[0]
    assert sheet.title == "Danh sach tiem"
    assert [c.data_type for c in sheet[2] if isinstance(c.value, str)] == ["s"] * sum(isinstance(c.value, str) for c in sheet[2])
    assert "'=HYPERLINK(\"http://evil.example\",\"x\")" in [c.value for c in sheet[2]]


def test_ok__the_csv_is_utf8_with_a_bom_and_numbers_stay_numbers():
    content = export.build([row(), row(event_id="ka:3", given_at=f"{DAY}T09:00:00+07:00")], "csv", MAPPING,
                           CATALOGUE).content
    assert content.startswith(b"\xef\xbb\xbf")
    lines = read_back(content, "csv")
    assert lines[0][:3] == ["STT", "Thao tác", "Họ và tên"] and [line[0] for line in lines[1:]] == ["1", "2"]
    assert [line[-1] for line in lines[1:]] == ["ka:3", "ka:2"]  # by site, then time given


def test_fail__an_unknown_format_is_refused():
    with pytest.raises(ValueError, match="pdf"):
        export.build([row()], "pdf", MAPPING, CATALOGUE)


# -- tracking through the real store -----------------------------------------------------------------------------------


def enrolled(store):
    store.enroll("ka", SITE, None, AT)
    store.enroll("kb", "Nhà văn hóa khu phố 3", None, AT)
    return store


db = both_stores()


@pytest.fixture
def store(db):
    with db.open() as store:
        yield enrolled(store)


@pytest.fixture
def sqlite_store(tmp_path):
    with open_store(tmp_path / "hub.db") as store:
        yield enrolled(store)


def run_export(store, fmt: str = "csv", day: str = DAY):
    return store.export_platform(date.fromisoformat(day), lambda rows: export.build(rows, fmt, MAPPING, store.catalogue),
                                 by="tester", staff_id=None, at=AT)


def status(store, day: str = DAY) -> dict:
    return export.gauge(store.platform_rows(date.fromisoformat(day)))


def figures(counts: dict) -> tuple:
    return counts["doses"], counts["exported"], counts["not_exported"], counts["changed"]


def test_ok__export_void_status_and_the_next_export_carries_the_void(store):
    store.commit(Batch(events=[check_in("ka", 1), dose("ka", 2), check_in("kb", 1, HUNG_ID), dose("kb", 2, HUNG_ID),
                               dose("kb", 3, HUNG_ID, on="2024-05-02", number=2)]), AT)
    gauge = status(store)
    assert [s["site"] for s in gauge["sites"]] == ["Nhà văn hóa khu phố 3", SITE]
    assert figures(gauge["total"]) == (2, 0, 2, 0) and gauge["total"]["pending"] == 2

    export_id, built = run_export(store)
    assert sorted((e, a) for e, a, _ in built.lines) == [("ka:2", "new"), ("kb:2", "new")]
    assert figures(status(store)["total"]) == (2, 2, 0, 0)
    assert run_export(store) is None  # nothing left: nothing kept

    store.commit(Batch(events=[void("ka", 3, 2)]), AT)  # the kiosk voids Lan's dose after it went out
    gauge = status(store)
    assert figures(gauge["sites"][1]) == (0, 0, 0, 1) and figures(gauge["total"]) == (1, 1, 0, 1)

    second_id, second = run_export(store, "xlsx")
    assert second_id == export_id + 1 and [(e, a) for e, a, _ in second.lines] == [("ka:2", "voided")]
    sheet = read_back(second.content, "xlsx")
    assert sheet[1][1] == "Hủy" and sheet[1][-1] == "ka:2" and len(sheet) == 2
    assert figures(status(store)["total"]) == (1, 1, 0, 0) and status(store)["total"]["pending"] == 0
    kept = store.platform_exports(date.fromisoformat(DAY))
    assert [(e["id"], e["format"], e["rows"], e["actions"]) for e in kept] == [
        (second_id, "xlsx", 1, {"voided": 1}), (export_id, "csv", 2, {"new": 2})]
    first = store.platform_export(export_id)
    assert first["content"] == built.content and first["made_by"] == "tester" and first["mapping"] == MAPPING.digest
    assert store.platform_export(999) is None


def test_ok__m018_keeps_every_export_as_it_was(sqlite_store):
    """A hub database as migration 15 left it (an export line and a latest-export row per dose, digests in hex text):
    after the next open the same doses are exported and up to date, each export keeps its rows per action, and a void
    after the migration still goes out."""
    import hashlib
    import sqlite3

    store = sqlite_store

    store.commit(Batch(events=[check_in("ka", 1), dose("ka", 2), check_in("kb", 1, HUNG_ID), dose("kb", 2, HUNG_ID)]), AT)
    export_id, _built = run_export(store)
    hexes = {row["event_id"]: hashlib.sha256(repr(tuple(row[k] for k in export.CONTENT)).encode()).hexdigest()
             for row in store.platform_rows(date.fromisoformat(DAY))}
    store.close()
    conn = sqlite3.connect(str(store.path), isolation_level=None)
    conn.execute("CREATE TABLE export_rows (export_id INTEGER NOT NULL, event_id TEXT NOT NULL, action TEXT NOT NULL, "
                 "digest TEXT NOT NULL, PRIMARY KEY (export_id, event_id)) WITHOUT ROWID")
    conn.execute("CREATE TABLE dose_exports (event_id TEXT PRIMARY KEY, export_id INTEGER NOT NULL, digest TEXT NOT NULL) "
                 "WITHOUT ROWID")
    for event_id, digest in hexes.items():
        conn.execute("INSERT INTO export_rows VALUES (?, ?, 'new', ?)", (export_id, event_id, digest))
        conn.execute("INSERT INTO dose_exports VALUES (?, ?, ?)", (event_id, export_id, digest))
    conn.execute("DROP TABLE export_lines")
    for column in ("new_rows", "changed_rows", "voided_rows"):
        conn.execute(f"ALTER TABLE exports DROP COLUMN {column}")
    conn.execute("ALTER TABLE roster_imports DROP COLUMN district")  # migration 22's
    for statement in ("DROP INDEX coverage_people_by_birth", "DROP INDEX coverage_people_due",  # migration 21's
                      "ALTER TABLE coverage_people DROP COLUMN district", "ALTER TABLE roster DROP COLUMN district",
                      "CREATE INDEX coverage_people_by_birth ON coverage_people (birth_date, commune, level)",
                      "CREATE INDEX coverage_people_due ON coverage_people (commune, due_on, due_until) "
                      "WHERE due_on IS NOT NULL"):
        conn.execute(statement)
    conn.execute("DROP INDEX kiosks_by_district")  # migration 20's, on the column 19 adds: the next open makes both
    conn.execute("ALTER TABLE kiosks DROP COLUMN district")  # migration 19's, after 18
    conn.execute("PRAGMA user_version = 17")
    conn.close()
    with open_store(store.path) as migrated:
        assert figures(status(migrated)["total"]) == (2, 2, 0, 0)
        assert [e["actions"] for e in migrated.platform_exports(date.fromisoformat(DAY))] == [{"new": 2}]
        migrated.commit(Batch(events=[void("ka", 3, 2)]), AT)
        assert [(e, a) for e, a, _ in run_export(migrated)[1].lines] == [("ka:2", "voided")]


def test_ok__a_dose_voided_while_its_export_is_built_goes_out_again(db, store):
    """The export reads and builds without the write lock: a void merged meanwhile (by `hub run`, another process) marks
    nothing wrong. The dose is marked with the row the file holds, so it shows as changed after export."""
    store.commit(Batch(events=[check_in("ka", 1), dose("ka", 2)]), AT)

    def build_while_voided(rows):
        with db.open() as merging:
            merging.commit(Batch(events=[void("ka", 3, 2)]), AT)
        return export.build(rows, "csv", MAPPING, store.catalogue)

    _export_id, built = store.export_platform(date.fromisoformat(DAY), build_while_voided, by="tester", staff_id=None,
                                              at=AT)
    assert [(e, a) for e, a, _ in built.lines] == [("ka:2", "new")]
    assert figures(status(store)["total"]) == (0, 0, 0, 1)
    assert [(e, a) for e, a, _ in run_export(store)[1].lines] == [("ka:2", "voided")]


def test_ok__a_dose_voided_before_any_export_is_never_exported(store):
    store.commit(Batch(events=[check_in("ka", 1), dose("ka", 2), void("ka", 3, 2)]), AT)
    assert figures(status(store)["total"]) == (0, 0, 0, 0)
    assert run_export(store) is None


def test_ok__a_correction_or_a_roster_entry_after_export_makes_the_dose_changed(store):
    store.commit(Batch(events=[check_in("ka", 1), dose("ka", 2)]), AT)
    run_export(store)
    fixed = correct_identity(LAN_ID, full_name="Nguyễn Thị Lan Anh", birth_date="1990-03-15", sex="Nữ", old_id="",
                             reason="typo", evidence="CCCD seen")
    store.correct(fixed, staff_id=None, by="tester", at=AT)
    assert figures(status(store)["total"]) == (1, 0, 0, 1)
    _id, built = run_export(store)
    assert [a for _e, a, _d in built.lines] == ["changed"] and "Nguyễn Thị Lan Anh" in built.content.decode("utf-8")

    entry = Entry(LAN_ID, "Nguyễn Thị Lan Anh", "1990-03-15", "Nữ", "Phường Bến Nghé", "Số 1", "3", "0901234567")
    store.import_roster(Parsed(entries=[entry], rows=1), "list.csv", "tester", AT)
    assert figures(status(store)["total"]) == (1, 0, 0, 1)  # the phone and commune are in the row now
    _id, built = run_export(store)
    assert "0901234567" in built.content.decode("utf-8") and "Phường Bến Nghé" in built.content.decode("utf-8")


def test_ok__only_the_day_asked_for_and_the_districts_doses_by_their_place(store):
    store.commit(Batch(events=[check_in("ka", 1), dose("ka", 2), dose("ka", 3, number=2, on="2024-05-22")]), AT)
    added = add_dose(LAN_ID, product="comirnaty_30", lot_number="FK9", number=3, booster=1, given_on=DAY,
                     place="Bệnh viện Quận 1", reason="paper card", evidence="card seen")
    store.correct(added, staff_id=None, by="tester", at=AT)
    gauge = status(store)
    assert {s["site"]: s["doses"] for s in gauge["sites"]} == {SITE: 1, "Bệnh viện Quận 1": 1}
    _id, built = run_export(store)
    lines = read_back(built.content, "csv")
    site, kind = [c.field for c in MAPPING.columns].index("site"), [c.field for c in MAPPING.columns].index("dose_class")
    assert sorted((line[site], line[kind]) for line in lines[1:]) == [("Bệnh viện Quận 1", "Mũi nhắc lại 1"),
                                                                       (SITE, "Mũi cơ bản 1")]
    assert figures(status(store, "2024-05-22")["total"]) == (1, 0, 1, 0)


def test_ok__the_operator_page_documents_every_key_and_field():
    from pathlib import Path

    from hub.reports.platform import OPEN_SECTIONS, SECTIONS

    page = (Path(__file__).resolve().parent.parent / "docs" / "exports.md").read_text(encoding="utf-8")
    for section, keys in SECTIONS.items():
        assert f"### [{section}]" in page
        assert not [key for key in keys if f"| `{key}` |" not in page], section
    assert all(f"### [{section}]" in page for section in OPEN_SECTIONS) and "### [[columns]]" in page
    assert not [field for field, says in FIELDS.items() if f"| `{field}` | {says} |" not in page]


# -- the long-list XLSX writer (hub/xlsx.py stream_workbook) ------------------------------------------------------------

awkward = st.one_of(st.none(), st.booleans(), st.integers(-10**12, 10**12),
                    st.text(st.characters(codec="utf-8"), max_size=25),
                    st.sampled_from(["=1+1", " lề trái", "a & b <c>", "\ud800x", "\ufffe", "x\r\ny", "\t=2", "@A1", "1", 1, True]))


@settings(max_examples=80, deadline=None)
@given(st.lists(st.lists(awkward, min_size=3, max_size=3), max_size=8))
def test_ok__the_stream_writer_holds_any_value_as_neutral_text_or_a_number(rows):
    import zipfile
    from xml.etree import ElementTree

    data = export.xlsx.stream_workbook(export.xlsx.Sheet("Danh sách & <1>", ["Họ tên", "=x", "n"], rows, (20, 8, 6)))
    with zipfile.ZipFile(io.BytesIO(data)) as book:
        for name in book.namelist():  # every part is well-formed XML
            ElementTree.fromstring(book.read(name))
    sheet = openpyxl.load_workbook(io.BytesIO(data)).worksheets[0]
    assert sheet.title == "Danh sách & <1>"
    back = [[cell for cell in line] for line in sheet.iter_rows()]
    assert [c.value for c in back[0]] == ["Họ tên", "'=x", "n"]
    for written, line in zip(rows, back[1:]):
        for value, cell in zip(written, line):
            expected = export.xlsx.neutral(value)
            if isinstance(expected, str):
                expected = expected.replace("\ud800", "\ufffd").replace("\ufffe", "\ufffd")
                assert cell.data_type == "s" and (cell.value or "") == expected
            else:
                assert cell.data_type == "n" and cell.value == expected
    assert len(back) == len(rows) + 1


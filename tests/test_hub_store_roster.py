"""hub/store/roster.py on a real hub database: one-transaction, idempotent imports; roster_mismatch conflicts that follow
both the roster and the merge; people vaccinated on no roster; `hub roster` run as a process."""

from __future__ import annotations

import datetime
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from hub.roster.files import parse_roster
from hub.store import Batch
from hub.store import roster as roster_sql
from hub.store.sqlite import open_store

from .hub_helpers import HUNG_ID, LAN_ID, check_in, dose

ROOT = Path(__file__).resolve().parent.parent
TODAY = datetime.date(2026, 3, 2)
AT = "2026-03-02T08:00:00+07:00"
HEADER = "Số CCCD,Họ và tên,Ngày sinh,Giới tính,Xã/Phường"
LAN = f"{LAN_ID},Nguyễn Thị Lan,15/03/1990,Nữ,Bến Nghé"
HUNG = f"{HUNG_ID},Trần Văn Hùng,1958,Nam,Tân Lập"
BAD = "12345,Nobody,1990,Nam,Tân Lập"


def csv(*lines: str) -> bytes:
    return ("\r\n".join([HEADER, *lines]) + "\r\n").encode()


def load(store, *lines: str, name: str = "list.csv"):
    return store.import_roster(parse_roster(csv(*lines), name, TODAY), name, "tester", AT)


def counts(done) -> tuple:
    return done.added, done.changed, done.unchanged, done.rejected


def table(path, sql: str) -> list[tuple]:
    conn = sqlite3.connect(str(path))
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


@pytest.fixture
def path(tmp_path):
    return tmp_path / "hub.db"


@pytest.fixture
def hub(path):
    with open_store(path) as store:
        store.enroll("ka", "site-1", None, AT)
        yield store


def test_ok__an_import_then_the_same_file_again_changes_nothing(hub, path):
    assert counts(load(hub, LAN, HUNG, BAD)) == (2, 0, 0, 1)
    before = table(path, "SELECT * FROM roster ORDER BY id_number")
    again = load(hub, LAN, HUNG, BAD)
    assert counts(again) == (0, 0, 2, 1) and again.rows == 3
    assert table(path, "SELECT * FROM roster ORDER BY id_number") == before  # not even updated_at moves
    assert table(path, "SELECT added, changed, unchanged, rejected FROM roster_imports ORDER BY id") == [(2, 0, 0, 1), (0, 0, 2, 1)]


def test_ok__an_updated_list_reports_added_changed_unchanged(hub, path):
    load(hub, LAN)
    done = load(hub, LAN.replace("Bến Nghé", "Phường 1"), HUNG)
    assert counts(done) == (1, 1, 0, 0)
    assert table(path, f"SELECT commune, import_id FROM roster WHERE id_number = '{LAN_ID}'") == [("Phường 1", done.import_id)]


def test_ok__entries_of_other_files_stay(hub, path):
    load(hub, LAN, name="ben-nghe.csv")
    load(hub, HUNG, name="tan-lap.csv")
    assert len(table(path, "SELECT * FROM roster")) == 2


def test_ok__refused_rows_kept_per_file_without_personal_data(hub, path):
    load(hub, LAN, BAD, LAN.replace("Nguyễn Thị Lan", ""), name="a.csv")
    assert hub.roster_rejections("a.csv") == [
        {"file_name": "a.csv", "row": 3, "reason": "bad_id_number", "id_number": None, "import_id": 1},
        {"file_name": "a.csv", "row": 4, "reason": "missing_value", "id_number": LAN_ID, "import_id": 1},
    ]
    load(hub, LAN, name="a.csv")
    assert hub.roster_rejections("a.csv") == []  # the last import of each file counts
    dump = "\n".join(line for line in sqlite3.connect(str(path)).iterdump() if "roster_rejections" in line)
    assert "Nobody" not in dump


def test_ok__the_imports_newest_first_and_at_most_so_many_refused_rows_per_file(hub):
    load(hub, LAN, BAD, BAD.replace("12345", "123"), name="a.csv")
    load(hub, HUNG, BAD, name="b.csv")
    assert [(i["file_name"], i["imported_by"], i["added"], i["rejected"]) for i in hub.roster_imports()] == [
        ("b.csv", "tester", 1, 1), ("a.csv", "tester", 1, 2)]
    assert [i["file_name"] for i in hub.roster_imports(limit=1)] == ["b.csv"]
    assert [(r["file_name"], r["row"]) for r in hub.roster_rejections(per_file=1)] == [("a.csv", 3), ("b.csv", 3)]
    assert len(hub.roster_rejections()) == 3


def test_fail__an_import_that_fails_half_way_leaves_nothing(hub, path, monkeypatch):
    def broken(conn):
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(roster_sql, "relink", broken)  # after the entries and the import's row are written
    with pytest.raises(Exception):
        load(hub, LAN, HUNG)
    assert table(path, "SELECT count(*) FROM roster") == [(0,)]
    assert table(path, "SELECT count(*) FROM roster_imports") == [(0,)]


def test_ok__a_concurrent_import_between_stage_and_apply_is_compared_again(hub, path, tmp_path):
    first = parse_roster(csv(LAN, HUNG), "a.csv", TODAY)
    with hub.transaction("DEFERRED") as conn:
        staged_at = roster_sql.stage(conn, first.entries)
    with open_store(path) as other:  # another process imports Lan first
        load(other, LAN)
    with hub.transaction() as conn:
        done = roster_sql.apply(conn, staged_at, "a.csv", "tester", AT, first.rows, first.refused)
    assert counts(done) == (1, 0, 1, 0)


# -- linking ------------------------------------------------------------------------------------------------------------


def roster_conflicts(path) -> list[tuple]:
    return [(n, json.loads(d)["fields"]) for n, d in table(
        path, "SELECT id_number, detail FROM conflicts WHERE kind = 'roster_mismatch' ORDER BY id_number")]


def test_ok__a_roster_entry_that_differs_from_the_merged_person_is_a_conflict(hub, path):
    hub.commit(Batch(events=[check_in("ka", 1)]), AT)  # Lan, born 1990-03-15
    done = load(hub, LAN.replace("Lan", "Lam"), HUNG)
    assert done.conflicts == 1 and roster_conflicts(path) == [(LAN_ID, ["full_name"])]
    assert hub.stats()["conflicts"]["by_kind"]["roster_mismatch"] == 1
    # the merge derives Lan again for a new event: the roster's conflict stays
    hub.commit(Batch(events=[dose("ka", 2)]), AT)
    assert roster_conflicts(path) == [(LAN_ID, ["full_name"])]
    # the corrected list resolves it
    load(hub, LAN, HUNG)
    assert roster_conflicts(path) == []


def test_ok__a_person_merged_after_the_roster_is_linked_by_the_merge(hub, path):
    load(hub, LAN.replace("15/03/1990", "1990"))  # year only: agrees with 1990-03-15
    load(hub, HUNG.replace("Nam", "Nữ").replace(HUNG_ID, "036158001234"), name="b.csv")
    hub.commit(Batch(events=[check_in("ka", 1), check_in("ka", 2, "036158001234", full_name="Trần Văn Hùng",
                                                         birth_date="1958-11-02", sex="Nam")]), AT)
    assert roster_conflicts(path) == [("036158001234", ["sex"])]


def test_ok__people_vaccinated_on_no_roster(hub):
    hub.commit(Batch(events=[check_in("ka", 1), dose("ka", 2), check_in("ka", 3, HUNG_ID, full_name="Trần Văn Hùng",
                                                                       birth_date="1958-11-02", sex="Nam"),
                             dose("ka", 4, HUNG_ID)]), AT)
    assert [p["id_number"] for p in hub.unrostered()] == sorted([LAN_ID, HUNG_ID])
    load(hub, LAN)
    assert [(p["id_number"], p["doses"]) for p in hub.unrostered()] == [(HUNG_ID, 1)]


# -- `hub roster` as a process --------------------------------------------------------------------------------------------


def hub_cli(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hub", *argv], cwd=ROOT, capture_output=True, text=True, timeout=60)


def test_ok__hub_roster_import_as_a_process(tmp_path, path):
    file = tmp_path / "ben-nghe.csv"
    file.write_bytes(csv(LAN, BAD, LAN))
    done = hub_cli("roster", "import", str(file), "--db", str(path))
    assert done.returncode == 0, done.stderr
    assert "3 rows, 1 added, 0 changed, 0 unchanged, 2 rejected" in done.stdout
    assert "row 3: bad_id_number: The ID number must be exactly 12 digits" in done.stdout
    assert "row 4: duplicate_id:" in done.stdout
    again = json.loads(hub_cli("roster", "import", str(file), "--db", str(path), "--json").stdout)
    assert (again["added"], again["changed"], again["unchanged"], again["rejected"]) == (0, 0, 1, 2)
    assert again["refused"][0] == {"row": 3, "reason": "bad_id_number", "id_number": None,
                                   "en": "The ID number must be exactly 12 digits (or 9 digits for an old CMND).",
                                   "vi": "Số CCCD phải có đúng 12 chữ số (hoặc 9 chữ số đối với CMND cũ)."}
    for secret in ("Nguyễn", "Nobody", LAN_ID):
        assert secret not in done.stderr, f"{secret!r} reached the log"


def test_fail__hub_roster_import_of_a_file_that_cannot_be_read_exits_2(tmp_path, path):
    file = tmp_path / "list.xlsx"
    file.write_bytes(b"not a workbook")
    done = hub_cli("roster", "import", str(file), "--db", str(path))
    assert done.returncode == 2 and "XLSX file cannot be read" in done.stderr
    assert not path.exists()  # refused before the database is opened
    as_json = hub_cli("roster", "import", str(file), "--db", str(path), "--json")
    assert as_json.returncode == 2 and json.loads(as_json.stdout)["error"] == "malformed_xlsx"


def test_ok__hub_roster_template_as_a_process_reads_back(tmp_path, path):
    for suffix in (".xlsx", ".csv"):
        out = tmp_path / f"template{suffix}"
        assert hub_cli("roster", "template", "--out", str(out)).returncode == 0
        done = json.loads(hub_cli("roster", "import", str(out), "--db", str(path), "--json").stdout)
        assert done["rejected"] == 0 and done["added"] + done["unchanged"] == 1

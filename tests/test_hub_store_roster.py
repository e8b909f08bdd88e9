"""hub/store/roster.py on a real hub database: imports in short transactions that survive a kill, idempotent; roster_mismatch conflicts that follow
both the roster and the merge; people vaccinated on no roster; `hub roster` run as a process."""

from __future__ import annotations

import datetime
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.roster import write_roster
from hub.errors import RosterImportBusy
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


# -- in chunks, across crashes and processes --------------------------------------------------------------------------


def staged_whole(store, parsed, name: str = "list.csv") -> int:
    """What import_roster does up to the import's being ready to apply, through the same functions; its id."""
    with store.transaction("DEFERRED") as conn:
        found = roster_sql.compare(conn, parsed.entries)
    with store.transaction() as conn:
        import_id = roster_sql.begin(conn, name, "tester", AT, parsed.rows, found, len(parsed.refused))
    store.stage_import(import_id, name, found.changes, parsed.refused)
    return import_id


def many(count: int) -> list[str]:
    """count valid roster lines (CCCD digits agreeing with 1990 and the sex)."""
    return [f"{LAN_ID[:6]}{n:06d},Người Thứ {n},01/01/1990,Nữ,Bến Nghé" for n in range(count)]


def test_ok__an_import_writes_in_transactions_of_a_chunk(hub, path, monkeypatch):
    monkeypatch.setattr(roster_sql, "CHUNK", 3)
    monkeypatch.setattr(roster_sql, "APPLY_CHUNK", 3)
    begun = []
    hub.conn.set_trace_callback(lambda sql: begun.append(sql) if sql == "BEGIN IMMEDIATE" else None)
    done = load(hub, *many(10), BAD, BAD.replace("12345", "123"))
    hub.conn.set_trace_callback(None)
    assert counts(done) == (10, 0, 0, 2)
    # begin, 4 staging chunks, 1 refused chunk, ready, 4 apply chunks + the one that finds none left, finish
    assert len(begun) >= 1 + 4 + 1 + 1 + 5 + 1
    assert table(path, "SELECT count(*), min(import_id) FROM roster") == [(10, done.import_id)]
    assert table(path, "SELECT count(*) FROM roster_staged") == [(0,)]
    assert table(path, "SELECT state, conflicts FROM roster_imports") == [("done", 0)]


def test_ok__an_import_killed_while_staging_never_happened(path):
    with open_store(path) as store:
        load(store, LAN, BAD, name="a.csv")  # a first import of a.csv, with a refused row
        staged_whole(store, parse_roster(csv(HUNG, BAD, BAD.replace("12345", "77")), "a.csv", TODAY), "a.csv")
        with store.transaction() as conn:  # as if killed before it was marked ready
            conn.execute("UPDATE roster_imports SET state = 'staging' WHERE id = 2")
    assert table(path, "SELECT count(*) FROM roster_staged") == [(1,)]
    with open_store(path) as store:  # the next open drops what it wrote
        assert [(i["import_id"], i["state"]) for i in store.roster_imports()] == [(2, "abandoned"), (1, "done")]
        assert [r["row"] for r in store.roster_rejections("a.csv")] == [3]  # still the first import's
    assert table(path, "SELECT id_number FROM roster") == [(LAN_ID,)]
    assert table(path, "SELECT count(*) FROM roster_staged") == [(0,)]
    assert table(path, "SELECT count(*) FROM roster_rejections") == [(1,)]


def test_ok__an_import_killed_while_applying_is_finished_by_the_next_open(path, monkeypatch):
    monkeypatch.setattr(roster_sql, "APPLY_CHUNK", 2)
    with open_store(path) as store:
        store.commit(Batch(events=[check_in("ka", 1)]), AT)  # Lan, whose roster entry will differ
        import_id = staged_whole(store, parse_roster(csv(LAN.replace("Lan", "Lam"), HUNG, *many(3)), "b.csv", TODAY), "b.csv")
        with store.transaction() as conn:
            roster_sql.apply(conn, import_id, AT, store.catalogue)  # one chunk of three, then killed
    assert table(path, "SELECT count(*) FROM roster") == [(2,)]
    with open_store(path) as store:
        assert [(i["state"], i["added"]) for i in store.roster_imports()] == [("done", 5)]
        assert store.stats()["conflicts"]["by_kind"]["roster_mismatch"] == 1
        assert store.coverage(TODAY)["pending"] == 0  # every entry counted
    assert table(path, "SELECT count(*) FROM roster") == [(5,)]
    assert table(path, "SELECT count(*) FROM roster_staged") == [(0,)]


def test_fail__a_second_import_while_one_is_under_way_is_refused_and_writes_nothing(hub, path, tmp_path):
    file = tmp_path / "list.csv"
    file.write_bytes(csv(LAN))
    with open_store(path) as other:  # another process, or another upload in `hub web`
        with other.import_lock() as held:
            assert held
            with pytest.raises(RosterImportBusy, match="another roster import"):
                load(hub, LAN)
            done = hub_cli("roster", "import", str(file), "--db", str(path))
            assert done.returncode == 2 and "another roster import into this database is under way" in done.stderr
    assert table(path, "SELECT count(*) FROM roster_imports") == [(0,)]
    assert counts(load(hub, LAN)) == (1, 0, 0, 0)  # once it has finished


def test_ok__a_store_opened_while_another_process_imports_leaves_its_import_alone(path):
    with open_store(path) as store:
        import_id = staged_whole(store, parse_roster(csv(LAN), "a.csv", TODAY), "a.csv")
        with store.import_lock():  # the importing process is alive, between two chunks
            with open_store(path) as web:
                assert [i["state"] for i in web.roster_imports()] == ["applying"]
        store.apply_import(import_id, AT)
        assert [i["state"] for i in store.roster_imports()] == ["done"]


PHASES = {
    "staging": "SELECT count(*) FROM roster_imports WHERE state = 'staging'",
    "applying": "SELECT count(*) FROM roster_imports WHERE state = 'applying'",
    "half_applied": "SELECT count(*) FROM roster_imports WHERE state = 'applying' AND EXISTS (SELECT 1 FROM roster)",
}


def killed_in(phase: str, file: Path, path: Path) -> bool:
    """Run `hub roster import` and SIGKILL it as soon as a reader sees it in ``phase``; whether it was seen."""
    process = subprocess.Popen([sys.executable, "-m", "hub", "roster", "import", str(file), "--db", str(path)],
                               cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    reader = sqlite3.connect(str(path), timeout=10)
    try:
        while process.poll() is None:
            if reader.execute(PHASES[phase]).fetchone()[0]:
                os.kill(process.pid, signal.SIGKILL)
                process.wait()
                return True
            time.sleep(0.002)
        return False
    finally:
        reader.close()


@pytest.mark.parametrize("phase", PHASES)
def test_ok__an_import_killed_in_any_phase_is_all_there_or_not_at_all(tmp_path, path, phase):
    """`hub roster import` of 30,000 rows killed (SIGKILL) while it stages, as it starts applying, and with part of the
    file applied: the next open leaves the roster with every row of the file or none, and no staged row, coverage
    queue or unfinished import behind."""
    file = write_roster(tmp_path / "big.csv", 30_000)
    open_store(path).close()
    assert any(killed_in(phase, file, path) for _ in range(3)), f"the import was never seen {phase}"
    with open_store(path) as store:
        states = [i["state"] for i in store.roster_imports()]
        assert store.coverage(TODAY)["pending"] == 0
    assert states[0] == ("abandoned" if phase == "staging" else "done"), states
    assert table(path, "SELECT count(*) FROM roster") == [(0 if phase == "staging" else 30_000,)]
    assert table(path, "SELECT count(*) FROM roster_staged") == [(0,)]
    again = json.loads(hub_cli("roster", "import", str(file), "--db", str(path), "--json").stdout)
    assert again["added"] == (30_000 if phase == "staging" else 0)
    assert table(path, "SELECT count(*) FROM coverage_people") == [(30_000,)]


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

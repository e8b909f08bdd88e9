"""hub/store/roster.py on a real hub database: imports in short transactions that survive a kill, idempotent; roster_mismatch conflicts that follow
both the roster and the merge; people vaccinated on no roster; `hub roster` run as a process. The store's tests run on a
SQLite file and on a PostgreSQL database alike."""

from __future__ import annotations

import datetime
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest

from bench.roster import write_roster
from hub.errors import RosterImportBusy
from hub.roster.files import parse_roster, read_roster
from hub.store import Batch
from hub.store import roster as roster_sql
from hub.store.postgres import PostgresStore
from hub.store.postgres import commit as pg_commit
from hub.store.sqlite import open_store

from .hub_helpers import HUNG_ID, LAN_ID, check_in, dose
from .hub_stores import PostgresDb, SqliteDb, apply_part, both_stores, queries, staged_whole
from .polling import wait_until

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


@pytest.fixture
def path(tmp_path):
    return tmp_path / "hub.db"


db = both_stores()


@pytest.fixture
def hub(db):
    with db.open() as store:
        store.enroll("ka", "site-1", None, AT)
        yield store


@pytest.fixture
def sqlite_hub(path):
    with open_store(path) as store:
        store.enroll("ka", "site-1", None, AT)
        yield store


def test_ok__an_import_then_the_same_file_again_changes_nothing(hub, db):
    assert counts(load(hub, LAN, HUNG, BAD)) == (2, 0, 0, 1)
    before = db.rows("SELECT * FROM roster ORDER BY id_number")
    again = load(hub, LAN, HUNG, BAD)
    assert counts(again) == (0, 0, 2, 1) and again.rows == 3
    assert db.rows("SELECT * FROM roster ORDER BY id_number") == before  # not even updated_at moves
    assert db.rows("SELECT added, changed, unchanged, rejected FROM roster_imports ORDER BY id") == [(2, 0, 0, 1), (0, 0, 2, 1)]


def test_ok__an_updated_list_reports_added_changed_unchanged(hub, db):
    load(hub, LAN)
    done = load(hub, LAN.replace("Bến Nghé", "Phường 1"), HUNG)
    assert counts(done) == (1, 1, 0, 0)
    assert db.rows(f"SELECT commune, import_id FROM roster WHERE id_number = '{LAN_ID}'") == [("Phường 1", done.import_id)]


def test_ok__entries_of_other_files_stay(hub, db):
    load(hub, LAN, name="ben-nghe.csv")
    load(hub, HUNG, name="tan-lap.csv")
    assert len(db.rows("SELECT * FROM roster")) == 2


def test_ok__refused_rows_kept_per_file_without_personal_data(hub, db):
    load(hub, LAN, BAD, LAN.replace("Nguyễn Thị Lan", ""), name="a.csv")
    assert hub.roster_rejections("a.csv") == [
        {"file_name": "a.csv", "row": 3, "reason": "bad_id_number", "id_number": None, "import_id": 1},
        {"file_name": "a.csv", "row": 4, "reason": "missing_value", "id_number": LAN_ID, "import_id": 1},
    ]
    load(hub, LAN, name="a.csv")
    assert hub.roster_rejections("a.csv") == []  # the last import of each file counts
    assert "Nobody" not in repr(db.rows("SELECT * FROM roster_rejections"))


def test_ok__the_imports_newest_first_and_at_most_so_many_refused_rows_per_file(hub):
    load(hub, LAN, BAD, BAD.replace("12345", "123"), name="a.csv")
    load(hub, HUNG, BAD, name="b.csv")
    assert [(i["file_name"], i["imported_by"], i["added"], i["rejected"]) for i in hub.roster_imports()] == [
        ("b.csv", "tester", 1, 1), ("a.csv", "tester", 1, 2)]
    assert [i["file_name"] for i in hub.roster_imports(limit=1)] == ["b.csv"]
    assert [(r["file_name"], r["row"]) for r in hub.roster_rejections(per_file=1)] == [("a.csv", 3), ("b.csv", 3)]
    assert len(hub.roster_rejections()) == 3


# -- in chunks, across crashes and processes --------------------------------------------------------------------------


def staged(store, parsed, name: str = "list.csv") -> int:
    """A parsed file staged whole, ready to apply, as import_roster stages it; the import's id."""
    return staged_whole(store, parsed.entries, parsed.refused, parsed.rows, name, AT)


def many(count: int) -> list[str]:
    """count valid roster lines (CCCD digits agreeing with 1990 and the sex)."""
    return [f"{LAN_ID[:6]}{n:06d},Người Thứ {n},01/01/1990,Nữ,Bến Nghé" for n in range(count)]


def test_ok__an_import_writes_in_transactions_of_a_chunk(sqlite_hub, path, monkeypatch):
    hub = sqlite_hub
    monkeypatch.setattr(roster_sql, "CHUNK", 3)
    monkeypatch.setattr(roster_sql, "APPLY_CHUNK", 3)
    begun = []
    hub.conn.set_trace_callback(lambda sql: begun.append(sql) if sql == "BEGIN IMMEDIATE" else None)
    done = load(hub, *many(10), BAD, BAD.replace("12345", "123"))
    hub.conn.set_trace_callback(None)
    assert counts(done) == (10, 0, 0, 2)
    # begin, 4 staging chunks, 1 refused chunk, ready, 4 apply chunks + the one that finds none left, finish
    assert len(begun) >= 1 + 4 + 1 + 1 + 5 + 1
    assert SqliteDb(path).rows("SELECT count(*), min(import_id) FROM roster") == [(10, done.import_id)]
    assert SqliteDb(path).rows("SELECT count(*) FROM roster_staged") == [(0,)]
    assert SqliteDb(path).rows("SELECT state, conflicts FROM roster_imports") == [("done", 0)]


def test_ok__an_import_killed_while_staging_never_happened(db):
    with db.open() as store:
        load(store, LAN, BAD, name="a.csv")  # a first import of a.csv, with a refused row
        staged(store, parse_roster(csv(HUNG, BAD, BAD.replace("12345", "77")), "a.csv", TODAY), "a.csv")
        with queries(store) as conn:  # as if killed before it was marked ready
            conn.execute("UPDATE roster_imports SET state = 'staging' WHERE id = 2")
    assert db.rows("SELECT count(*) FROM roster_staged") == [(1,)]
    with db.open() as store:  # the next open drops what it wrote
        assert [(i["import_id"], i["state"]) for i in store.roster_imports()] == [(2, "abandoned"), (1, "done")]
        assert [r["row"] for r in store.roster_rejections("a.csv")] == [3]  # still the first import's
    assert db.rows("SELECT id_number FROM roster") == [(LAN_ID,)]
    assert db.rows("SELECT count(*) FROM roster_staged") == [(0,)]
    assert db.rows("SELECT count(*) FROM roster_rejections") == [(1,)]


def test_ok__an_import_killed_while_applying_is_finished_by_the_next_open(db, monkeypatch):
    monkeypatch.setattr(roster_sql, "APPLY_CHUNK", 2)
    with db.open() as store:
        store.commit(Batch(events=[check_in("ka", 1)]), AT)  # Lan, whose roster entry will differ
        import_id = staged(store, parse_roster(csv(LAN.replace("Lan", "Lam"), HUNG, *many(3)), "b.csv", TODAY), "b.csv")
        apply_part(store, import_id, AT)  # one chunk of three, then killed
    assert db.rows("SELECT count(*) FROM roster") == [(2,)]
    with db.open() as store:
        assert [(i["state"], i["added"]) for i in store.roster_imports()] == [("done", 5)]
        assert store.stats()["conflicts"]["by_kind"]["roster_mismatch"] == 1
        assert store.coverage(TODAY)["pending"] == 0  # every entry counted
    assert db.rows("SELECT count(*) FROM roster") == [(5,)]
    assert db.rows("SELECT count(*) FROM roster_staged") == [(0,)]


@contextmanager
def import_lock(store):
    """Hold the store's roster-import lock, as an import under way in another process does; whether it was free."""
    if isinstance(store, PostgresStore):
        with store.import_session() as session:
            yield session is not None
    else:
        with store.import_lock() as held:
            yield held


def test_fail__a_second_import_while_one_is_under_way_is_refused_and_writes_nothing(hub, db):
    with db.open() as other:  # another process, or another upload in `hub web`
        with import_lock(other) as held:
            assert held
            with pytest.raises(RosterImportBusy, match="another roster import"):
                load(hub, LAN)
    assert db.rows("SELECT count(*) FROM roster_imports") == [(0,)]
    assert counts(load(hub, LAN)) == (1, 0, 0, 0)  # once it has finished


def test_fail__hub_roster_import_while_one_is_under_way_exits_2(sqlite_hub, path, tmp_path):
    file = tmp_path / "list.csv"
    file.write_bytes(csv(LAN))
    with sqlite_hub.import_lock() as held:
        assert held
        done = hub_cli("roster", "import", str(file), "--db", str(path))
        assert done.returncode == 2 and "another roster import into this database is under way" in done.stderr
    assert SqliteDb(path).rows("SELECT count(*) FROM roster_imports") == [(0,)]


def test_ok__a_store_opened_while_another_process_imports_leaves_its_import_alone(db):
    with db.open() as store:
        import_id = staged(store, parse_roster(csv(LAN), "a.csv", TODAY), "a.csv")
        with import_lock(store):  # the importing process is alive, between two chunks
            with db.open() as web:
                assert [i["state"] for i in web.roster_imports()] == ["applying"]
        while apply_part(store, import_id, AT):
            pass
        with queries(store) as conn:
            roster_sql.finish(conn, import_id)
        assert [i["state"] for i in store.roster_imports()] == ["done"]


PHASES = {
    "staging": "SELECT count(*) FROM roster_imports WHERE state = 'staging'",
    "applying": "SELECT count(*) FROM roster_imports WHERE state = 'applying'",
    "half_applied": "SELECT count(*) FROM roster_imports WHERE state = 'applying' AND EXISTS (SELECT 1 FROM roster)",
}


IMPORTER = ("import sys, pathlib; from hub.roster.files import read_roster; from hub.store.postgres import open_store; "
            "from tests.test_hub_store_roster import AT, TODAY; file = pathlib.Path(sys.argv[2]); "
            "open_store(sys.argv[1]).import_roster(read_roster(file, TODAY), file.name, 'tester', AT)")
"""An import into a PostgreSQL database in a process of its own (`hub roster import` opens SQLite files only)."""


def killed_in(phase: str, file: Path, db) -> bool:
    """Run an import in a process of its own (`hub roster import` on SQLite) and SIGKILL it as soon as a reader sees it
    in ``phase``; whether it was seen."""
    if db.name == "postgres":
        command, reader = [sys.executable, "-c", IMPORTER, db.url, str(file)], psycopg.connect(db.url, autocommit=True)
    else:
        command, reader = [sys.executable, "-m", "hub", "roster", "import", str(file), "--db", str(db.path)], \
            sqlite3.connect(str(db.path), timeout=10)
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
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
def test_ok__an_import_killed_in_any_phase_is_all_there_or_not_at_all(tmp_path, db, phase):
    """An import of 30,000 rows in a process of its own killed (SIGKILL) while it stages, as it starts applying, and
    with part of the file applied: the next open leaves the roster with every row of the file or none, and no staged
    row, coverage queue or unfinished import behind; the import lock died with the process."""
    file = write_roster(tmp_path / "big.csv", 30_000)
    db.open().close()
    assert any(killed_in(phase, file, db) for _ in range(3)), f"the import was never seen {phase}"
    with db.open() as store:
        states = [i["state"] for i in store.roster_imports()]
        assert store.coverage(TODAY)["pending"] == 0
        assert states[0] == ("abandoned" if phase == "staging" else "done"), states
        assert db.rows("SELECT count(*) FROM roster") == [(0 if phase == "staging" else 30_000,)]
        assert db.rows("SELECT count(*) FROM roster_staged") == [(0,)]
        again = store.import_roster(read_roster(file, TODAY), file.name, "tester", AT)
    assert again.added == (30_000 if phase == "staging" else 0)
    assert db.rows("SELECT count(*) FROM coverage_people") == [(30_000,)]


def test_ok__on_postgresql_a_roster_part_waits_for_its_peoples_locks(pg_url, monkeypatch):
    """A part of an import reads its people's merged rows, then writes their conflicts and coverage rows: it takes the
    merge's lock of each person first. While a worker's commit of Lan is under way (not yet committed), the part waits
    for her lock and writes nothing; once the worker commits, the part reads her merged name and finds the conflict
    with her entry. (Without the lock neither would see the other's rows: no conflict at all.)"""
    monkeypatch.setattr(roster_sql, "APPLY_CHUNK", 2)
    db = PostgresDb(pg_url)
    with db.open() as store, psycopg.connect(pg_url, autocommit=True) as worker:
        import_id = staged(store, parse_roster(csv(LAN.replace("Lan", "Lam"), HUNG), "a.csv", TODAY), "a.csv")
        with worker.transaction():
            pg_commit.write(worker, Batch(events=[check_in("ka", 1)]), AT, store.catalogue)  # holds Lan's lock
            part = threading.Thread(target=apply_part, args=(store, import_id, AT))
            part.start()
            wait_until(lambda: db.row("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")[0],
                       what="the part waiting for a person's lock")
            assert db.rows("SELECT count(*) FROM roster") == [(0,)]
        part.join(timeout=30)
        assert not part.is_alive()
    assert db.rows("SELECT count(*) FROM roster") == [(2,)]
    assert roster_conflicts(db) == [(LAN_ID, ["full_name"])]


# -- linking ------------------------------------------------------------------------------------------------------------


def roster_conflicts(db) -> list[tuple]:
    return [(n, json.loads(d)["fields"]) for n, d in db.rows(
        "SELECT id_number, detail FROM conflicts WHERE kind = 'roster_mismatch' ORDER BY id_number")]


def test_ok__a_roster_entry_that_differs_from_the_merged_person_is_a_conflict(hub, db):
    hub.commit(Batch(events=[check_in("ka", 1)]), AT)  # Lan, born 1990-03-15
    done = load(hub, LAN.replace("Lan", "Lam"), HUNG)
    assert done.conflicts == 1 and roster_conflicts(db) == [(LAN_ID, ["full_name"])]
    assert hub.stats()["conflicts"]["by_kind"]["roster_mismatch"] == 1
    opened = db.rows("SELECT opened_at FROM conflicts WHERE kind = 'roster_mismatch'")
    assert opened == [("2026-03-02T01:00:00+00:00",)]  # the roster entry's time made it one, in hub time (UTC)
    # the merge derives Lan again for a new event: the roster's conflict stays, with its opening time
    hub.commit(Batch(events=[dose("ka", 2)]), "2026-03-02T09:00:00+07:00")
    assert roster_conflicts(db) == [(LAN_ID, ["full_name"])]
    assert db.rows("SELECT opened_at FROM conflicts WHERE kind = 'roster_mismatch'") == opened
    # the corrected list resolves it
    load(hub, LAN, HUNG)
    assert roster_conflicts(db) == []


def test_ok__a_person_merged_after_the_roster_is_linked_by_the_merge(hub, db):
    load(hub, LAN.replace("15/03/1990", "1990"))  # year only: agrees with 1990-03-15
    load(hub, HUNG.replace("Nam", "Nữ").replace(HUNG_ID, "036158001234"), name="b.csv")
    hub.commit(Batch(events=[check_in("ka", 1), check_in("ka", 2, "036158001234", full_name="Trần Văn Hùng",
                                                         birth_date="1958-11-02", sex="Nam")]), AT)
    assert roster_conflicts(db) == [("036158001234", ["sex"])]


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

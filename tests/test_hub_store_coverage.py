"""hub/store/coverage.py on real hub databases: the rows and counts kept by ``refresh`` through any sequence of roster
imports, dose batches and voids equal a recomputation from scratch; the report is exact on any day; the outreach list;
the first build after the migration; `hub coverage` as a command. The store's tests run on SQLite and on PostgreSQL."""

from __future__ import annotations

import dataclasses
import datetime
import io
import json
import sqlite3
import threading
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from hub import cli
from hub.coverage import BANDS, DoseFact, birth_day, commune_key, level, next_due
from hub.roster.files import Parsed
from hub.roster.rows import Entry
from hub.store import Batch
from hub.store import coverage as coverage_sql
from hub.store import roster as roster_sql
from hub.store.migrations import MIGRATIONS, m021_roster_district
from hub.store import sqlite as sqlite_store
from hub.store.postgres import migrations as pg_migrations
from hub.store.sqlite import open_store
from vaccines.catalogue import load_catalogue
from vaccines.eligibility import age_on

from .hub_helpers import check_in, dose, void
from .hub_stores import PostgresDb, SqliteDb, apply_part, both_stores, queries, staged_whole

CATALOGUE = load_catalogue()
D = datetime.date
AT = "2026-03-02T08:00:00+07:00"
PEOPLE = [f"0011900{n:05d}" for n in range(8)]
COMMUNES = ["Phường Bến Nghé", "Xã Tân Lập", "=Xã lạ"]
PRODUCTS = ["comirnaty_30", "spikevax", "abdala", "comirnaty_10"]


def entry(id_number: str, commune: str, birth: str, name: str = "Nguyễn Thị Lan", district: str = "") -> Entry:
    return Entry(id_number, name, birth, "Nữ", commune, "Số 1", "1", "0901234567", district)


def import_entries(store, entries: list[Entry], name: str = "list.csv"):
    return store.import_roster(Parsed(entries=entries, rows=len(entries)), name, "tester", AT)


def expected_rows(db, catalogue=CATALOGUE) -> dict[str, tuple]:
    """Every rostered person's row computed from scratch: the roster, the live doses and the pure rules."""
    doses: dict[str, list[DoseFact]] = {}
    for id_number, *facts in db.rows(
            "SELECT id_number, product, dose_number, booster, given_on FROM doses WHERE voided_by IS NULL"):
        doses.setdefault(id_number, []).append(DoseFact(*facts))
    rows = {}
    for id_number, district, commune, birth_date in db.rows("SELECT id_number, district, commune, birth_date FROM roster"):
        mine = doses.get(id_number, [])
        birth = birth_day(birth_date)
        due = next_due(birth, mine, catalogue)
        given = len({d.number for d in mine})
        rows[id_number] = (id_number, district, commune, birth.isoformat(), level(mine, catalogue), given, due and due.number,
                           due and due.booster, due and due.on.isoformat(), due and due.until and due.until.isoformat())
    return rows


def kept(db) -> tuple[dict[str, tuple], dict[tuple, int]]:
    rows = {row[0]: tuple(row) for row in db.rows(f"SELECT {', '.join(coverage_sql.COLUMNS)} FROM coverage_people")}
    counts = {tuple(row[:4]): row[4] for row in db.rows(
        "SELECT district, commune, birth_year, level, people FROM coverage_counts WHERE people <> 0")}
    return rows, counts


def assert_as_if_from_scratch(db, catalogue=CATALOGUE) -> None:
    rows, counts = kept(db)
    expected = expected_rows(db, catalogue)
    assert rows == expected
    assert counts == dict(Counter((r[1], r[2], int(r[3][:4]), r[4]) for r in expected.values()))
    assert db.row("SELECT count(*) FROM coverage_counts WHERE people < 0")[0] == 0


db = both_stores()


birth_dates = st.one_of(
    st.dates(D(1935, 1, 1), D(2023, 12, 31)).map(datetime.date.isoformat),
    st.sampled_from(["2008-02-29", "2020-02-29", "1960-02-29", "1957", "2019"]),
)
imports = st.lists(st.tuples(st.sampled_from(PEOPLE), st.sampled_from(COMMUNES), birth_dates, st.sampled_from(["", "d2"])),
                   max_size=6).map(lambda items: ("import", list({
                       person: entry(person, commune, birth, district=district)
                       for person, commune, birth, district in items}.values())))
doses = st.lists(st.tuples(st.sampled_from(PEOPLE + ["036058001234"]), st.integers(1, 4), st.sampled_from(PRODUCTS),
                           st.dates(D(2021, 6, 1), D(2024, 12, 31))), min_size=1, max_size=5).map(lambda items: ("doses", items))
voids = st.integers(0, 50).map(lambda n: ("void", n))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(steps=st.lists(st.one_of(imports, doses, voids), min_size=1, max_size=8))
def test_ok__kept_rows_and_counts_equal_a_recomputation_after_any_imports_doses_and_voids(db, steps):
    db.reset()  # each example starts from an empty database
    with db.open() as store:
        seq, given = 0, []
        for n, (kind, what) in enumerate(steps):
            if kind == "import":
                import_entries(store, what, f"list-{n}.csv")
            elif kind == "doses":
                batch = []
                for person, number, product, day in what:
                    seq += 1
                    batch.append(dose("ka", seq, person, number=number, product=product, on=day.isoformat()))
                    given.append((seq, person))
                store.commit(Batch(events=batch), AT)
            elif given:
                target, person = given[what % len(given)]
                seq += 1
                store.commit(Batch(events=[void("ka", seq, target, person)]), AT)
            assert_as_if_from_scratch(db)
        before = kept(db)
        store.rebuild_coverage()
        assert kept(db) == before


def brute_force(db, on: datetime.date) -> Counter:
    """(commune, band index, level) -> people, by each person's age on the day (eligibility.age_on)."""
    found: Counter = Counter()
    for commune, birth_date, level_ in db.rows("SELECT commune, birth_date, level FROM coverage_people"):
        birth = D.fromisoformat(birth_date)
        age = age_on(birth, on) if birth <= on else -1
        band = next((i for i, b in enumerate(BANDS) if b.min_age <= age and (b.max_age is None or age <= b.max_age)), -1)
        found[(commune, band, level_)] += 1
    return found


def fill_district(db):
    """A small district: 600 people in three communes born on every kind of day, a third of them vaccinated."""
    start = D(1950, 2, 20)
    entries = [entry(f"0012000{n:05d}", COMMUNES[n % 3], (start + datetime.timedelta(days=n * 41)).isoformat()
                     if n % 10 else str(1950 + n % 70)) for n in range(600)]
    vaccinated = entries[::3]
    entries.append(entry("001200099999", COMMUNES[0], "2008-02-29"))
    with db.open() as store:
        import_entries(store, entries)
        events = [dose("ka", n + 1, e.id_number, number=1, on="2024-01-15") for n, e in enumerate(vaccinated)]
        events += [dose("ka", len(events) + n + 1, e.id_number, number=2, on="2024-02-15") for n, e in enumerate(vaccinated[::2])]
        store.commit(Batch(events=events), AT)
    return db


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def district(request, tmp_path_factory):
    """The district on each store (on PostgreSQL in a database of its own: the tests' database is emptied per test)."""
    if request.param == "postgres":
        return fill_district(PostgresDb(request.getfixturevalue("pg_cluster").create_database()))
    return fill_district(SqliteDb(tmp_path_factory.mktemp("district") / "hub.db"))


@pytest.fixture(scope="module")
def sqlite_district(tmp_path_factory):
    """The district in a SQLite file, for `hub coverage`, which opens SQLite files only."""
    return fill_district(SqliteDb(tmp_path_factory.mktemp("district") / "hub.db")).path


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(on=st.one_of(st.dates(D(2000, 1, 1), D(2080, 12, 31)), st.sampled_from([D(2024, 2, 29), D(2026, 2, 28), D(2026, 3, 1)])))
def test_ok__the_report_counts_every_person_in_the_band_of_their_age_that_day(district, on):
    with district.open() as store:
        report = store.coverage(on)
    truth = brute_force(district, on)
    for place in report["communes"]:
        for i, cell in enumerate(place["bands"]):
            by_level = [truth[(place["commune"], i, lv)] for lv in range(5)]
            assert cell["roster"] == sum(by_level)
            assert [cell[name]["count"] for name in report["levels"]] == [sum(by_level[n:]) for n in range(1, 5)]
        assert place["under_5"] == sum(n for (c, band, _), n in truth.items() if c == place["commune"] and band == -1)
    assert report["district"]["total"]["roster"] + sum(p["under_5"] for p in report["communes"]) == 601


def test_ok__percentages_are_of_the_cells_roster_and_one_commune_alone(district):
    with district.open() as store:
        whole = store.coverage(D(2026, 3, 2))
        alone = store.coverage(D(2026, 3, 2), COMMUNES[1])
        assert store.coverage_communes() == [("", "=Xã lạ"), ("", "Phường Bến Nghé"), ("", "Xã Tân Lập")]
    place = next(p for p in whole["communes"] if p["commune"] == COMMUNES[1])
    assert alone["communes"] == [place] and alone["commune"] == COMMUNES[1]
    total = whole["district"]["total"]
    assert total["one_dose"]["count"] == 200  # every third person, every sixth with a second dose
    assert total["one_dose"]["percent"] == round(100 * total["one_dose"]["count"] / total["roster"], 1)
    assert total["primary"]["count"] == 100 and total["booster_1"]["count"] == 0
    assert place["key"] == commune_key(COMMUNES[1])


def test_ok__the_outreach_list_holds_who_is_due_longest_waiting_first(district):
    with district.open() as store:
        total, rows = store.outreach(COMMUNES[0], D(2026, 3, 2))
        page_total, page = store.outreach(COMMUNES[0], D(2026, 3, 2), limit=10, offset=10)
        early_total, _ = store.outreach(COMMUNES[0], D(2024, 2, 1))
    assert page_total == total and page == rows[10:20]
    assert [r["due_on"] for r in rows] == sorted(r["due_on"] for r in rows)
    assert all(r["due_on"] <= "2026-03-02" for r in rows) and {r["due_number"] for r in rows} <= {1, 2, 3}
    assert all(r["full_name"] == "Nguyễn Thị Lan" and r["address"] == "Số 1" for r in rows)
    assert early_total < total  # the second doses were not due yet on 1 February 2024
    leap = next(r for r in rows if r["id_number"] == "001200099999")
    assert leap["due_on"] == "2013-03-01" and leap["level"] == 0


def test_ok__at_a_province_each_district_counts_its_own_communes_and_the_province_sums_them(db):
    """Two districts' lists with a commune's name in common: two places, each district read alone, the province the sum
    of both; a person listed again by the other district's import moves to it."""
    day, shared = D(2026, 3, 2), COMMUNES[0]
    with db.open() as store:
        import_entries(store, [entry(PEOPLE[0], shared, "1990-03-15", district="d1"),
                               entry(PEOPLE[1], COMMUNES[1], "1990-03-15", district="d1")], "d1.csv")
        import_entries(store, [entry(PEOPLE[2], shared, "1980-03-15", district="d2"),
                               entry(PEOPLE[3], shared, "2000-03-15", district="d2")], "d2.csv")
        store.commit(Batch(events=[dose("ka", 1, PEOPLE[0]), dose("ka", 2, PEOPLE[2])]), AT)
        places = store.coverage_communes()
        assert places == [("d1", shared), ("d1", COMMUNES[1]), ("d2", shared)]
        assert store.coverage_communes("d2") == [("d2", shared)]
        province, d1, d2 = (store.coverage(day, district=d) for d in (None, "d1", "d2"))
        one = store.coverage(day, shared, "d2")
        due_d2 = {r["id_number"] for r in store.outreach(shared, day, district="d2")[1]}
        due_d1 = {r["id_number"] for r in store.outreach(shared, day, district="d1")[1]}
        assert store.outreach(shared, day)[0] == 0  # no district's: a province's places all have one
        import_entries(store, [entry(PEOPLE[0], shared, "1990-03-15", district="d2")], "d2-more.csv")
        moved = store.coverage(day, district="d2")
    assert [(p["district"], p["commune"]) for p in province["communes"]] == places
    assert [(p["district"], p["commune"]) for p in d2["communes"]] == [("d2", shared)] and d2["only_district"] == "d2"
    assert (d1["district"]["total"]["roster"], d2["district"]["total"]["roster"], province["district"]["total"]["roster"]) == (2, 2, 4)
    assert (d1["district"]["total"]["one_dose"]["count"], province["district"]["total"]["one_dose"]["count"]) == (1, 2)
    assert one["communes"] == d2["communes"] and one["communes"][0]["key"] == commune_key(shared, "d2")
    assert commune_key(shared, "d1") != commune_key(shared, "d2") and commune_key(shared, "") == commune_key(shared)
    assert PEOPLE[3] in due_d2 <= {PEOPLE[2], PEOPLE[3]} and due_d1 <= {PEOPLE[0]}
    assert moved["district"]["total"]["roster"] == 3 and moved["district"]["total"]["one_dose"]["count"] == 2
    assert db.row(f"SELECT district FROM roster WHERE id_number = '{PEOPLE[0]}'") == ("d2",)
    assert_as_if_from_scratch(db)


def test_ok__migration_21_gives_what_the_roster_and_coverage_held_before_it_no_district(db, monkeypatch, request):
    """A database from before the roster had a district: its entries, coverage rows and counts get district '' and read
    as before, and a part of an import staged then (entries without a district) is applied when the store opens."""
    if db.name == "postgres":  # the tests' shared database is at the newest version already
        db = PostgresDb(request.getfixturevalue("pg_cluster").create_database())
    monkeypatch.setattr(sqlite_store, "MIGRATIONS", MIGRATIONS[:MIGRATIONS.index(m021_roster_district)])
    monkeypatch.setattr(pg_migrations, "MIGRATIONS",
                        pg_migrations.MIGRATIONS[:pg_migrations.MIGRATIONS.index(pg_migrations.ROSTER_DISTRICT)])
    with db.open() as store:
        with queries(store) as conn:
            conn.execute("INSERT INTO roster (id_number, full_name, birth_date, sex, commune, address, priority_group, "
                         "phone, import_id, created_at, updated_at) VALUES (?, 'Lan', '1990-03-15', 'Nữ', ?, '', '', '', "
                         "1, ?, ?)", (PEOPLE[0], COMMUNES[0], AT, AT))
            conn.execute("INSERT INTO coverage_people (id_number, commune, birth_date, level, doses, due_number, "
                         "due_booster, due_on, due_until) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                         (PEOPLE[0], COMMUNES[0], *coverage_sql.facts("1990-03-15", None, CATALOGUE)))
            conn.execute("INSERT INTO coverage_counts (commune, birth_year, level, people) VALUES (?, 1990, 0, 1)",
                         (COMMUNES[0],))
            import_id = conn.execute(  # as the store wrote an import's row then: no district
                "INSERT INTO roster_imports (file_name, imported_by, imported_at, rows, added, changed, unchanged, "
                "rejected, state, conflicts) VALUES ('old.csv', 'tester', ?, 1, 1, 0, 0, 0, 'staging', 0) RETURNING id",
                (AT,)).fetchone()[0]
            roster_sql.stage(conn, import_id, 0, [entry(PEOPLE[1], COMMUNES[1], "1985-01-01")[:8]])
            roster_sql.ready(conn, import_id)
    monkeypatch.undo()
    with db.open() as store:
        assert store.coverage_communes() == [("", COMMUNES[0]), ("", COMMUNES[1])]
        report = store.coverage(D(2026, 3, 2))
    assert report["district"]["total"]["roster"] == 2 and report["communes"][0]["key"] == commune_key(COMMUNES[0])
    assert db.rows("SELECT DISTINCT district FROM roster") == [("",)]
    assert db.rows("SELECT file_name, district FROM roster_imports") == [("old.csv", "")]  # migration 22
    assert_as_if_from_scratch(db)


def test_ok__people_on_no_roster_have_no_row_and_an_entry_brings_their_doses_in(db):
    with db.open() as store:
        store.commit(Batch(events=[dose("ka", 1, PEOPLE[0]), dose("ka", 2, PEOPLE[0], number=2, on="2024-06-01")]), AT)
        assert db.row("SELECT count(*) FROM coverage_people")[0] == 0
        import_entries(store, [entry(PEOPLE[0], COMMUNES[0], "1990-03-15")])
        report = store.coverage(D(2026, 3, 2))
    assert report["district"]["total"]["primary"] == {"count": 1, "percent": 100.0}


def test_ok__an_abdala_series_left_at_66_is_due_no_more(db):
    with db.open() as store:
        import_entries(store, [entry(PEOPLE[0], COMMUNES[0], "1960-05-01")])
        store.commit(Batch(events=[dose("ka", 1, PEOPLE[0], product="abdala", on="2021-08-01")]), AT)
        assert store.outreach(COMMUNES[0], D(2026, 4, 30))[0] == 1
        assert store.outreach(COMMUNES[0], D(2026, 5, 1))[0] == 0


def test_ok__the_first_open_after_migration_8_builds_the_tables_from_what_is_there(tmp_path):
    path = tmp_path / "hub.db"
    conn = sqlite3.connect(str(path), isolation_level=None)
    conn.execute("BEGIN")
    for number, step in enumerate(MIGRATIONS[:6], start=1):  # a hub database as issue 12's roster left it
        step(conn)
        conn.execute(f"PRAGMA user_version = {number}")
    conn.execute("INSERT INTO roster VALUES (?, 'Lan', '1990-03-15', 'Nữ', 'Bến Nghé', '', '', '', 1, ?, ?)", (PEOPLE[0], AT, AT))
    conn.execute("INSERT INTO doses (event_id, id_number, kiosk, product, lot_number, dose_number, booster, given_at, given_on) "
                 "VALUES ('ka:1', ?, 'ka', 'comirnaty_30', 'X', 1, 0, ?, '2024-01-01')", (PEOPLE[0], AT))
    conn.execute("COMMIT")
    conn.close()
    with open_store(path) as store:
        report = store.coverage(D(2026, 3, 2))
        assert report["built_at"] is not None and report["catalogue"]
    assert report["district"]["total"]["one_dose"]["count"] == 1


def test_ok__an_import_killed_half_way_through_its_apply_is_counted_right_when_the_store_next_opens(db, monkeypatch):
    entries = [entry(person, COMMUNES[n % 2], f"19{50 + n}-06-01") for n, person in enumerate(PEOPLE)]
    monkeypatch.setattr(roster_sql, "APPLY_CHUNK", 3)
    with db.open() as store:
        store.commit(Batch(events=[dose("ka", 1, PEOPLE[0])]), AT)
        import_id = staged_whole(store, entries, [], len(entries), "list.csv", AT)
        apply_part(store, import_id, AT)
        # the importing process dies here: 3 of the 8 entries are in, with their coverage rows
        report = store.coverage(D(2026, 3, 2))
        assert report["district"]["total"]["roster"] == 3
        assert_as_if_from_scratch(db)
    with db.open() as store:
        report = store.coverage(D(2026, 3, 2))
    assert report["pending"] == 0 and report["district"]["total"]["roster"] == len(PEOPLE)
    assert report["district"]["total"]["one_dose"]["count"] == 1
    assert_as_if_from_scratch(db)


def test_ok__a_rebuild_with_another_catalogue_killed_half_way_is_finished_when_the_store_next_opens(db, monkeypatch):
    """The rebuild queues the roster a QUEUE_CHUNK per transaction behind a cursor kept in the database: killed after
    part of it, the next open goes on from the cursor, and the tables end as a count from scratch with the new
    catalogue gives."""
    entries = [entry(person, COMMUNES[n % 2], f"19{50 + n}-06-01") for n, person in enumerate(PEOPLE)]
    with db.open() as store:
        import_entries(store, entries)
        store.commit(Batch(events=[dose("ka", 1, PEOPLE[0]), dose("ka", 2, PEOPLE[0], number=2)]), AT)
    fewer = load_catalogue()
    fewer = dataclasses.replace(fewer, products={key: dataclasses.replace(product, primary_doses=1)
                                                 for key, product in fewer.products.items()})
    monkeypatch.setattr(coverage_sql, "QUEUE_CHUNK", 3)
    with db.open(fewer) as store:
        with queries(store) as conn:
            assert coverage_sql.rebuild(conn, fewer, AT) == len(PEOPLE)
        with queries(store) as conn:
            assert coverage_sql.requeue(conn, 3) == 3  # then killed, with 3 queued and 5 still behind the cursor
        assert store.coverage(D(2026, 3, 2))["pending"] == len(PEOPLE)
    with db.open(fewer) as store:
        report = store.coverage(D(2026, 3, 2))
    assert report["pending"] == 0 and report["catalogue"] == coverage_sql.fingerprint(fewer)
    assert_as_if_from_scratch(db, fewer)


def test_ok__workers_committing_while_a_roster_import_applies_leave_coverage_and_conflicts_right(db, monkeypatch):
    """Two hub workers (a store each) merge check-ins and doses of the very people a roster import is writing, part
    after part, at the same time: every coverage row and count ends as a count from scratch gives, and a person holds
    a roster conflict exactly when their merged name differs from their entry's (the steps lock the person first)."""
    monkeypatch.setattr(roster_sql, "APPLY_CHUNK", 4)
    people = [f"0011900{n:05d}" for n in range(40)]
    entries = [entry(person, COMMUNES[n % 3], "1990-03-15", "Nguyễn Thị Lan" if n % 4 else "Nguyễn Thị Lam")
               for n, person in enumerate(people)]

    def merge(kiosk: str, mine: list[str]) -> None:
        with db.open() as worker:
            for n, person in enumerate(mine):
                worker.commit(Batch(events=[check_in(kiosk, 2 * n + 1, person, birth_date="1990-03-15"),
                                            dose(kiosk, 2 * n + 2, person)]), AT)

    with db.open() as store:
        workers = [threading.Thread(target=merge, args=(kiosk, people[start::2])) for kiosk, start in (("ka", 0), ("kb", 1))]
        for worker in workers:
            worker.start()
        import_entries(store, entries)
        for worker in workers:
            worker.join()
    assert_as_if_from_scratch(db)
    differ = db.rows("SELECT p.id_number FROM people p JOIN roster r ON r.id_number = p.id_number "
                     "WHERE p.full_name <> r.full_name ORDER BY 1")
    assert len(differ) == 10 and db.rows(
        "SELECT id_number FROM conflicts WHERE kind = 'roster_mismatch' ORDER BY 1") == differ


def run_cli(capsys, *args: str) -> tuple[int, str]:
    status = cli.main(["--log-level", "WARNING", *args])
    return status, capsys.readouterr().out


def test_ok__hub_coverage_prints_the_table_and_json_for_a_day(sqlite_district, capsys):
    status, text = run_cli(capsys, "coverage", "--db", str(sqlite_district), "--as-of", "2026-03-02")
    assert status == 0 and "coverage as of 2026-03-02" in text and "Phường Bến Nghé" in text and "(district)" in text
    status, text = run_cli(capsys, "coverage", "--db", str(sqlite_district), "--as-of", "2026-03-02", "--json",
                           "--commune", COMMUNES[2])
    report = json.loads(text)
    assert status == 0 and report["commune"] == COMMUNES[2] and [p["commune"] for p in report["communes"]] == [COMMUNES[2]]
    with open_store(sqlite_district) as store:
        assert report == json.loads(json.dumps(store.coverage(D(2026, 3, 2), COMMUNES[2])))


@pytest.mark.parametrize("args, message", [
    (["--as-of", "02/03/2026"], "expected a day as YYYY-MM-DD"),
    (["--commune", "Nowhere"], "no one on the roster in the commune 'Nowhere'"),
])
def test_fail__hub_coverage_refuses_a_bad_day_or_commune(sqlite_district, capsys, args, message):
    assert cli.main(["coverage", "--db", str(sqlite_district), *args]) == 2
    assert message in capsys.readouterr().err


def test_ok__hub_coverage_outreach_writes_the_list_and_audits_it_without_names(sqlite_district, tmp_path, capsys):
    import openpyxl

    out = tmp_path / "list.xlsx"
    status, text = run_cli(capsys, "coverage", "outreach", "--db", str(sqlite_district), "--commune", COMMUNES[2], "--out", str(out),
                           "--as-of", "2026-03-02")
    assert status == 0 and "people of =Xã lạ to reach as of 2026-03-02" in text
    book = openpyxl.load_workbook(io.BytesIO(out.read_bytes()))
    assert [c.value for c in next(book.worksheets[1].iter_rows(min_row=2))] == ["Xã/Phường", "'=Xã lạ"]
    with open_store(sqlite_district) as store:
        total, _ = store.outreach(COMMUNES[2], D(2026, 3, 2))
        line = store.audit_log(limit=1)[0]
    assert book.worksheets[0].max_row == total + 1
    assert (line.action, line.record, line.staff_id) == ("outreach_export", f"commune:{commune_key(COMMUNES[2])}", None)


def test_ok__hub_coverage_rebuild_recomputes_the_same(sqlite_district, capsys):
    before = kept(SqliteDb(sqlite_district))
    status, text = run_cli(capsys, "coverage", "rebuild", "--db", str(sqlite_district))
    assert status == 0 and "coverage rebuilt for 601 people" in text
    assert kept(SqliteDb(sqlite_district)) == before

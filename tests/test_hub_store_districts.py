"""A province's reads of one district, on both stores (tests/hub_stores.py): the clinical pages' (adverse reactions
and their lots, deferrals due and recorded, refusals, stock and wastage, lots in use) and the export's gauge rows keep
the chosen district's kiosks only, and all districts together are the whole; the filter is served by the index
kiosks_by_district. (The live page's and the kiosks page's: tests/test_hub_store_live.py; the daily report's:
tests/test_hub_provincial.py.)"""

from __future__ import annotations

from datetime import date

import psycopg
import pytest

from hub.kiosk_files import ImportedKiosk
from hub.store import Batch, daily, live
from hub.store.kiosks import in_district
from hub.store.postgres.dialect import Connection

from .hub_helpers import HUNG_ID, LAN_ID, aefi, deferred, lot_dose, lot_event, refused
from .hub_stores import AT, PostgresDb, both_stores
from .test_hub_store_coverage import entry, import_entries

DAY = "2026-03-02"
D = date(2026, 3, 2)
MAI_ID = "079185000111"

db = both_stores()


def at_kiosk(kiosk: str, person: str) -> list:
    """A day at a kiosk: its lot opened, a dose, a severe reaction, a deferral due back on the day, a refusal, a waste."""
    return [lot_event("LotOpened", kiosk, 1, day=DAY, lot=f"L-{kiosk}"),
            lot_dose(kiosk, 2, person, day=DAY, lot=f"L-{kiosk}"),
            aefi(kiosk, 3, 2, person, day=DAY, severity="severe"),
            deferred(kiosk, 4, MAI_ID, day="2026-02-23", return_on=DAY),
            refused(kiosk, 5, HUNG_ID, day=DAY),
            lot_event("DosesWasted", kiosk, 6, day=DAY, lot=f"L-{kiosk}", doses=2, reason="vỡ lọ")]


@pytest.fixture
def province(db):
    with db.open() as store:
        store.import_kiosks([ImportedKiosk("ka", "Trạm Y tế Phường 1", ())], "d1", AT)
        store.import_kiosks([ImportedKiosk("kc", "Trạm Y tế Phường 1", ())], "d2", AT)
        store.commit(Batch(events=[*at_kiosk("ka", LAN_ID), *at_kiosk("kc", LAN_ID)]), AT)
        yield store


def kiosks_of(rows: list[dict], key: str = "kiosk") -> list[str]:
    return sorted(row[key] for row in rows)


def test_ok__the_clinical_reads_keep_one_district_s_kiosks(province):
    listed = province.aefi_list(D, D, {"district": "d2"}, names=False, limit=50)
    assert kiosks_of(listed) == ["kc"] and kiosks_of(province.aefi_list(D, D, {}, names=False, limit=50)) == ["ka", "kc"]
    assert [(lot["lot_number"], lot["given"]) for lot in province.aefi_lots(D, D, "d1")] == [("L-ka", 1)]
    assert len(province.aefi_lots(D, D)) == 2
    found = province.deferrals(D, names=False, district="d1")
    assert kiosks_of(found["due"]) == ["ka"] and found["recorded"] == []
    assert kiosks_of(province.deferrals(D, names=False)["due"]) == ["ka", "kc"]
    assert [row["refused"] for row in province.refusal_counts(D, D, "d2")] == [1]
    assert sum(row["refused"] for row in province.refusal_counts(D, D)) == 2
    stock = province.stock(D, D, "d2")
    assert {lot["lot_number"] for row in stock for lot in row["lots"]} == {"L-kc"}
    assert sum(row["wasted"] for row in stock) == 2 and sum(row["wasted"] for row in province.stock(D, D)) == 4
    assert [lot["lot_number"] for lot in province.lots_in_use(D, D, "d1")] == ["L-ka"]
    assert province.aefi_list(D, D, {"district": "d9"}, names=False, limit=50) == []
    assert province.clinical_sites("d1") == ["Trạm Y tế Phường 1"] and province.clinical_sites("d9") == []


def test_ok__the_export_gauge_rows_of_one_district(province):
    assert [row["event_id"] for row in province.platform_rows(D, "d1")] == ["ka:2"]
    assert sorted(row["event_id"] for row in province.platform_rows(D)) == ["ka:2", "kc:2"]


def test_ok__the_district_filter_reads_the_district_s_kiosks_on_their_index(db):
    """SQLite's plan and PostgreSQL's (with sequential scans off, as on a province's big tables) both name the index."""
    with db.open():
        pass
    sql = "SELECT kiosk FROM kiosks WHERE district = 'd1'"
    if isinstance(db, PostgresDb):
        with psycopg.connect(db.location, autocommit=True) as conn:
            conn.execute("SET enable_seqscan = off")  # a tiny table: the planner would scan it whole
            plan = " ".join(row[0] for row in conn.execute(f"EXPLAIN {sql}"))
    else:
        plan = " ".join(str(row) for row in db.rows(f"EXPLAIN QUERY PLAN {sql}"))
    assert "kiosks_by_district" in plan


def test_ok__coverage_counts_a_person_vaccinated_in_two_districts_once(province):
    """Coverage is per rostered person (coverage_people's key is the ID number): LAN's doses at d1's and d2's kiosks
    make one person with a dose, not two."""
    import_entries(province, [entry(LAN_ID, "Phường Bến Nghé", "1990-03-15"), entry(HUNG_ID, "Phường Bến Nghé", "1985-01-02")])
    report = province.coverage(D)
    assert report["district"]["total"]["roster"] == 2
    assert report["district"]["total"]["one_dose"] == {"count": 1, "percent": 50.0}


PLANS = {
    "the live counts": (live.PER_HOUR + in_district("c.kiosk", "d1")[0], ("PRIMARY KEY", "dose_counts_pkey")),
    "the report's doses": (daily.DOSES.format(where=in_district("d.kiosk", "d1")[0]), ("doses_by_day",) * 2),
    "the report's lot events": (daily.DISCARDS.format(where=in_district("l.kiosk", "d1")[0]), ("lot_events_by_day",) * 2),
    "the report's outcomes": (daily.OUTCOMES.format(where=in_district("o.kiosk", "d1")[0]), ("outcomes_by_kind",) * 2),
}
"""A district's reads and the index each starts from, on SQLite and on PostgreSQL (with sequential scans off: the
tests' tables are tiny, a province's are not)."""


@pytest.mark.parametrize("read", sorted(PLANS))
def test_ok__a_district_s_day_is_read_on_the_day_and_kiosk_indexes(province, db, read):
    sql, (sqlite_index, postgres_index) = PLANS[read]
    if isinstance(db, PostgresDb):
        with psycopg.connect(db.location, autocommit=True) as conn:
            conn.execute("SET enable_seqscan = off")
            plan = " ".join(row[0] for row in Connection(conn).execute("EXPLAIN " + sql, (DAY, "d1")))
        assert postgres_index in plan and "kiosks_by_district" in plan, plan
    else:
        plan = " ".join(str(row) for row in db.rows("EXPLAIN QUERY PLAN " + sql.replace("?", "'x'", 1).replace("?", "'d1'")))
        assert sqlite_index in plan and "kiosks_by_district" in plan, plan

"""The daily report counts exactly what the hub merged by its cut: kiosk events through the real Ingest (signatures,
duplicates absorbed) into a real SQLite store and a real PostgreSQL one (the same tests on both), a hub-side void and an
added dose, a kiosk back online after the cut-off; the cut-off issued on an injected clock; every cell of every version
checked."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import wire
from hub import corrections, daily
from hub.config import ReportSettings
from hub.ingest import Ingest
from hub.reports.daily import FIGURES, band_labels
from hub.store import Batch
from hub.store.sqlite import open_store

from .hub_stores import PostgresDb, SqliteDb, both_stores
from .keys import enroll, signer

DAY = "2024-05-01"
ON = datetime.date(2024, 5, 1)
UTC = datetime.timezone.utc
SITE_A, SITE_B, PLACE = "Trạm Y tế Phường 1", "Trường THCS Lê Lợi", "Bệnh viện huyện"
STAFF = {"staff_id": 7, "name": "Y tá Hoa"}
LOT = {"product": "comirnaty_30", "lot_number": "L1", "expiry": "2025-01-31"}
PEOPLE = {  # id_number: (name, birth date)
    "001190012345": ("Nguyễn Thị Lan", "1990-03-15"), "036058001234": ("Trần Văn Hùng", "1958-01-02"),
    "001210000111": ("Lê Thị Mai", "2010-06-01"), "001185000222": ("Phạm Văn Tú", "1985-09-09"),
    "001170000333": ("Đỗ Văn Bình", "1970-01-01"), "001180000444": ("Vũ Thị An", "1980-02-02"),
    "001175000555": ("Hoàng Văn Cường", "1975-03-03"), "001192000666": ("Ngô Văn Dũng", "1992-04-04"),
    "001188000777": ("Bùi Văn Sơn", "1988-05-05"), "001199000888": ("Đặng Văn Long", "1999-06-06"),
}
LAN, HUNG, MAI, TU, BINH, AN, CUONG, DUNG, SON, LONG = PEOPLE
SETTINGS = ReportSettings()
CUT = datetime.datetime(2024, 5, 1, 8, 30, tzinfo=UTC)
"""15:30 in Vietnam."""


def message(kiosk: str, seq: int, kind: str, payload: dict[str, Any]) -> tuple[str, bytes]:
    body = wire.envelope(kiosk, seq, kind, boot="b1", at=f"{DAY}T09:{seq:02d}:00+07:00", clock_synced=True,
                         payload={**payload, "by": STAFF})
    return wire.topic(kiosk, wire.EVENT), signer(kiosk).sign(body)


def about(seq: int, person: str) -> dict[str, Any]:
    return {"ticket": {"day": DAY, "number": seq}, "id_number": person}


def check_in(kiosk: str, seq: int, person: str):
    name, born = PEOPLE[person]
    return message(kiosk, seq, wire.CHECK_IN_EVENT, {**about(seq, person), "source": "camera",
                                                     "person": {"full_name": name, "birth_date": born, "sex": "Nữ"}})


def dose(kiosk: str, seq: int, person: str, number: int, booster: int | None = 0):
    given = {**LOT, "number": number, "booster": booster, "given_at": f"{DAY}T09:{seq:02d}:30+07:00"}
    return message(kiosk, seq, wire.DOSE_EVENT, {**about(seq, person), "dose": given})


def void(kiosk: str, seq: int, person: str, target: int):
    return message(kiosk, seq, wire.VOID_EVENT, {**about(seq, person), "voids": f"{kiosk}:{target}", "reason": "nhầm"})


def refused(kiosk: str, seq: int, person: str, code: str | None):
    return message(kiosk, seq, "VaccinationRefused", {**about(seq, person), "reason": "lý do",
                                                       **({"reason_code": code} if code else {})})


def aefi(kiosk: str, seq: int, person: str, severity: str, dose_seq: int):
    return message(kiosk, seq, "AefiRecorded", {**about(seq, person), "aefi": {
        "severity": severity, "symptoms": "sốt nhẹ" if severity != "severe" else "khó thở", "dose_event": f"{kiosk}:{dose_seq}"}})


def lot(kiosk: str, seq: int, kind: str, **extra):
    return message(kiosk, seq, kind, {"lot": {**LOT, "doses_per_vial": 6}, **extra})


BEFORE_CUT_A = [  # ka, merged at 08:00Z
    check_in("ka", 1, LAN), dose("ka", 2, LAN, 1), check_in("ka", 3, HUNG),
    message("ka", 4, "PersonDeferred", {**about(4, HUNG), "reason": "sốt", "return_on": "2024-05-08"}),
    check_in("ka", 5, MAI), dose("ka", 6, MAI, 2), check_in("ka", 7, TU), dose("ka", 8, TU, 3, booster=1),
    check_in("ka", 9, BINH), refused("ka", 10, BINH, "contraindicated"), check_in("ka", 11, AN),
    refused("ka", 12, AN, None), check_in("ka", 13, CUONG), refused("ka", 14, CUONG, "referred"),
    aefi("ka", 15, LAN, "mild", 2), aefi("ka", 16, TU, "severe", 8),
    lot("ka", 17, "LotOpened"), lot("ka", 18, "VialOpened", vials_opened=1), lot("ka", 19, "DosesWasted", doses=1, reason="vỡ"),
    check_in("ka", 20, DUNG), dose("ka", 21, DUNG, 1), void("ka", 22, DUNG, 21),
]
BEFORE_CUT_B = [check_in("kb", 1, SON), dose("kb", 2, SON, 1)]  # kb, merged at 08:05Z
AFTER_CUT = [  # 08:50Z: kb back online, ka closes its lot
    check_in("kb", 3, LONG), dose("kb", 4, LONG, 1), void("kb", 5, SON, 2),
    lot("ka", 23, "LotClosed", vials_opened=1, given=3, wasted=4),
]


def at(hour: int, minute: int) -> datetime.datetime:
    return datetime.datetime(2024, 5, 1, hour, minute, tzinfo=UTC)


def feed(store, messages, when: datetime.datetime) -> None:
    """Through the real Ingest, as `hub run`'s worker merges a batch received at ``when``."""
    ingest = Ingest(store, wall=lambda: when.isoformat())
    ingest.receive_all(list(messages))
    ingest.flush()


def fill_district(opened) -> None:
    """Two kiosks' day through the real Ingest (a duplicate absorbed), a hub void and an added dose before the cut,
    a kiosk back online and a lot closed after it."""
    enroll(opened, "ka", SITE_A)
    enroll(opened, "kb", SITE_B)
    feed(opened, BEFORE_CUT_A + [BEFORE_CUT_A[1]], at(8, 0))  # a duplicate delivery, absorbed
    feed(opened, BEFORE_CUT_B, at(8, 5))
    opened.correct(corrections.void_dose(MAI, target="ka:6", reason="tiêm nhầm người", resolves=None),
                   staff_id=None, by="Trần Thị Bình", at=at(8, 10).isoformat())
    opened.correct(corrections.add_dose(CUONG, product="comirnaty_30", lot_number="P9", number=2, booster=None,
                                        given_on=DAY, place=PLACE, reason="nhập bù", evidence="phiếu giấy"),
                   staff_id=None, by="Trần Thị Bình", at=at(8, 20).isoformat())
    feed(opened, AFTER_CUT, at(8, 50))


def build_district(path) -> None:
    """The district's day in a SQLite file."""
    with open_store(path) as opened:
        fill_district(opened)


db = both_stores()


@pytest.fixture
def keyed_db(db):
    """The database of a test whose kiosks sign their events (the real Ingest verifies them): the store keeps keys."""
    return db


@pytest.fixture
def day_store(db):
    """The district's day on each store."""
    with db.open() as opened:
        fill_district(opened)
        yield opened


@pytest.fixture
def store(tmp_path):
    """The district's day in a SQLite file, for the report page's tests (tests/test_hub_web_reports.py)."""
    build_district(tmp_path / "hub.db")
    with open_store(tmp_path / "hub.db") as opened:
        yield opened


def row(report: dict, site: str) -> dict[str, int]:
    return next(r for r in report["sites"] if r["site"] == site)


def expect(**figures: int) -> dict[str, int]:
    return {figure: figures.get(figure, 0) for figure in FIGURES}


AT_CUT = {
    SITE_A: expect(present=8, referred=1, refused=1, deferred=1, contraindicated=1, vaccinated=2, dose_1=1, dose_3=1,
                   primary_1=1, booster_1=1, doses_given=2, doses_discarded=1, doses_used=3, reactions_common=1,
                   aefi_serious=1),
    SITE_B: expect(present=1, vaccinated=1, dose_1=1, primary_1=1, doses_given=1, doses_used=1),
    PLACE: expect(vaccinated=1, dose_2=1, primary_2=1, doses_given=1, doses_used=1),
}
AFTER = {
    SITE_A: {**AT_CUT[SITE_A], "doses_discarded": 4, "doses_used": 6},
    SITE_B: expect(present=2, vaccinated=1, dose_1=1, primary_1=1, doses_given=1, doses_used=1),
    PLACE: AT_CUT[PLACE],
}


def test_ok__the_cut_off_version_counts_every_cell_as_merged_by_15_30(day_store):
    assert daily.issue_at_cutoff(day_store, SETTINGS, at(8, 29)) is None  # 15:29: not yet
    assert daily.issue_at_cutoff(day_store, SETTINGS, at(8, 45)) == 1
    assert daily.issue_at_cutoff(day_store, SETTINGS, at(8, 46)) is None  # once a day, whoever looks
    issued = day_store.daily_report_version(ON, 1)
    assert (issued["cut_at"], issued["issued_at"], issued["issued_by"], issued["why"]) == (
        CUT.isoformat(), at(8, 45).isoformat(), daily.CUTOFF_BY, "cutoff")
    report = issued["report"]
    assert [r["site"] for r in report["sites"]] == sorted([SITE_A, SITE_B, PLACE])
    for site, figures in AT_CUT.items():
        assert row(report, site) == {"site": site, **figures}, site
    assert report["total"] == {f: sum(AT_CUT[s][f] for s in AT_CUT) for f in FIGURES}


def test_ok__what_arrived_after_the_cut_is_listed_and_a_reissue_counts_it(day_store):
    daily.issue_at_cutoff(day_store, SETTINGS, at(8, 45))
    late = daily.arrived_after(day_store.day_rows(ON), CUT.isoformat())
    assert late == sorted([
        {"site": SITE_A, "doses": 0, "outcomes": 0, "discards": 1, "voids": 0, "last_at": at(8, 50).isoformat()},
        {"site": SITE_B, "doses": 1, "outcomes": 1, "discards": 0, "voids": 1, "last_at": at(8, 50).isoformat()},
    ], key=lambda site: site["site"])
    assert daily.reissue(day_store, SETTINGS, ON, at(9, 0), "Lê Văn Hùng", note="Lê Lợi online lúc 15:50") == 2
    second = day_store.daily_report_version(ON, 2)
    assert (second["why"], second["issued_by"], second["report"]["note"]) == ("reissue", "Lê Văn Hùng", "Lê Lợi online lúc 15:50")
    for site, figures in AFTER.items():
        assert row(second["report"], site) == {"site": site, **figures}, site
    assert day_store.daily_report_version(ON, 1)["report"] == daily.report(day_store, ON, SETTINGS, as_of=CUT) | {"note": ""}
    assert daily.arrived_after(day_store.day_rows(ON), second["cut_at"]) == []


def test_ok__by_product_and_age_band(day_store):
    report = daily.report(day_store, ON, SETTINGS, as_of=CUT)
    bands = dict(zip(["site", *band_labels(SETTINGS.age_bands), "unknown"], [None] * 8))
    assert {r["site"]: {k: v for k, v in r.items() if v and k != "site"} for r in report["by_age"]} == {
        SITE_A: {"18-49": 2}, SITE_B: {"18-49": 1}, PLACE: {"18-49": 1}}
    assert set(report["age_bands"]) == set(bands) - {"site"}
    products = {(r["site"], r["product"]): r for r in report["by_product"]}
    assert products[(SITE_A, "comirnaty_30")]["doses_discarded"] == 1
    assert products[(SITE_A, "comirnaty_30")]["booster_1"] == 1


def test_ok__the_rows_behind_a_figure_are_the_ones_it_counts(day_store):
    rows, rules = day_store.day_rows(ON), daily.rules(day_store, SETTINGS)
    from hub.reports.daily import behind
    assert sorted(r.id_number for r in behind(rows, CUT, rules, SITE_A, "vaccinated")) == sorted([LAN, TU])
    assert [r.event_id for r in behind(rows, CUT, rules, SITE_B, "dose_1")] == ["kb:2"]
    assert [r.event_id for r in behind(rows, None, rules, SITE_B, "dose_1")] == ["kb:4"]
    assert sorted(r.id_number for r in behind(rows, CUT, rules, None, "present")) == sorted(
        [LAN, HUNG, MAI, TU, BINH, AN, CUONG, DUNG, SON])
    assert [(r.event_id, r.doses) for r in behind(rows, None, rules, SITE_A, "doses_discarded")] == [("ka:19", 1), ("ka:23", 3)]


def test_ok__a_store_with_no_kiosk_heard_reports_its_sites_with_zeros(db):
    with db.open() as empty:
        enroll(empty, "kz", "Điểm tiêm lưu động")
        report = daily.report(empty, ON, SETTINGS)
    assert report["sites"] == [{"site": "Điểm tiêm lưu động", **expect()}]


def test_ok__both_stores_read_the_same_day_and_keep_the_same_versions(tmp_path, pg_url):
    """The same events committed straight to a SQLite file and to a PostgreSQL database (parsed, not verified: no keys
    needed): the day's rows, the report as of the cut and after, and the versions issued are the same."""
    found = []
    for db in (SqliteDb(tmp_path / "hub.db"), PostgresDb(pg_url)):
        with db.open() as opened:
            opened.enroll("ka", SITE_A, None, at(7, 0).isoformat())
            opened.enroll("kb", SITE_B, None, at(7, 0).isoformat())
            for messages, when in ((BEFORE_CUT_A, at(8, 0)), (BEFORE_CUT_B, at(8, 5)), (AFTER_CUT, at(8, 50))):
                opened.commit(Batch(events=[wire.parse_event(*m) for m in messages]), when.isoformat())
            issued = [daily.issue_at_cutoff(opened, SETTINGS, at(8, 45)), daily.issue_at_cutoff(opened, SETTINGS, at(8, 46)),
                      daily.reissue(opened, SETTINGS, ON, at(9, 0), "Lê Văn Hùng", note="muộn")]
            rows = opened.day_rows(ON)  # in no promised order
            found.append((sorted(rows.doses), sorted(rows.outcomes), rows.lots, rows.sites, daily.report(opened, ON, SETTINGS, as_of=CUT),
                          daily.report(opened, ON, SETTINGS), issued, opened.daily_report_versions(ON),
                          opened.daily_report_version(ON, 2), opened.daily_report_days()))
    assert found[0] == found[1]
    assert found[0][6] == [1, None, 2]
    assert row(found[0][4], SITE_A) == {"site": SITE_A, **AT_CUT[SITE_A], "vaccinated": 3, "dose_2": 1, "primary_2": 1,
                                        "doses_given": 3, "doses_used": 4}  # Mai's dose: the hub did not void it here


# -- the property: a report cut at T counts what a hub that had merged only the events received by T would count ------

EVENTS = BEFORE_CUT_A + BEFORE_CUT_B + AFTER_CUT


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(range(len(EVENTS))), min_size=1, max_size=len(EVENTS) + 6),
       st.integers(0, len(EVENTS) + 6))
@example(picks=[EVENTS.index(AFTER_CUT[3]), EVENTS.index(BEFORE_CUT_A[18])], split=1)  # closed before the cut, waste after
def test_ok__a_report_cut_at_any_moment_equals_the_hub_that_had_merged_only_that_far(keyed_db, tmp_path_factory, picks,
                                                                                     split):
    """Any order, duplicates and batch boundaries: counting as of the cut equals counting everything on a hub that
    received only the events before the cut (``db``'s engine; the early hub is a SQLite file)."""
    folder = tmp_path_factory.mktemp("cut")
    early, late = picks[:split], picks[split:]
    keyed_db.reset()
    with keyed_db.open() as whole, open_store(folder / "early.db") as part:
        for opened in (whole, part):
            enroll(opened, "ka", SITE_A)
            enroll(opened, "kb", SITE_B)
        feed(whole, [EVENTS[i] for i in early], at(8, 0))
        feed(whole, [EVENTS[i] for i in late], at(9, 0))
        feed(part, [EVENTS[i] for i in early], at(8, 0))
        assert daily.report(whole, ON, SETTINGS, as_of=at(8, 30))["sites"] == daily.report(part, ON, SETTINGS)["sites"]


# -- hub report ---------------------------------------------------------------------------------------------------------


def hub(capsys, *argv: str) -> tuple[int, str, str]:
    from hub.cli import main

    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_ok__hub_report_writes_issues_and_lists_the_versions(tmp_path, capsys):
    import json

    import openpyxl

    build_district(tmp_path / "hub.db")
    db = str(tmp_path / "hub.db")
    with open_store(db) as opened:
        daily.issue_at_cutoff(opened, SETTINGS, at(8, 45))
    status, out, _ = hub(capsys, "report", "daily", "--db", db, "--date", DAY, "--version", "1")
    report = json.loads(out)
    assert status == 0 and report["as_of"] == CUT.isoformat() and len(report["arrived_after_cut"]) == 2
    assert hub(capsys, "report", "daily", "--db", db, "--date", DAY, "--format", "xlsx", "--out", str(tmp_path / "r.xlsx"))[0] == 0
    form = list(openpyxl.load_workbook(tmp_path / "r.xlsx").worksheets[0].values)
    assert dict(zip(form[0], form[-1]))["Số người được tiêm"] == sum(AFTER[s]["vaccinated"] for s in AFTER)
    status, out, _ = hub(capsys, "report", "issue", "--db", db, "--date", DAY, "--note", "bổ sung", "--json")
    assert status == 0 and json.loads(out) == {"day": DAY, "version": 2}
    status, out, _ = hub(capsys, "report", "versions", "--db", db, "--date", DAY, "--json")
    assert [(v["version"], v["why"], v["issued_by"]) for v in json.loads(out)] == [
        (1, "cutoff", daily.CUTOFF_BY), (2, "reissue", "command line")]
    with open_store(db) as opened:
        assert (opened.audit_log(limit=1)[0].action, opened.audit_log(limit=1)[0].record) == ("report_issue", f"report:{DAY}:2")


@pytest.mark.parametrize("argv, says", [
    (["daily", "--date", "01/05/2024"], "give the day as YYYY-MM-DD"),
    (["daily", "--date", DAY, "--format", "xlsx"], "needs --out"),
    (["daily", "--date", DAY, "--version", "9"], "no version 9"),
    (["issue", "--date", DAY, "--note", "x" * 501], "at most 500"),
])
def test_fail__hub_report_refuses_bad_arguments_with_a_message(tmp_path, capsys, argv, says):
    with open_store(tmp_path / "hub.db"):
        pass
    status, _, err = hub(capsys, "report", argv[0], "--db", str(tmp_path / "hub.db"), *argv[1:])
    assert status == 2 and says in err


def test_fail__a_settings_file_with_an_unknown_key_is_refused_naming_it(tmp_path, capsys):
    (tmp_path / "hub.toml").write_text('[report]\ncutof = "15:30"\n', encoding="utf-8")
    status, _, err = hub(capsys, "report", "daily", "--db", str(tmp_path / "hub.db"), "--date", DAY,
                         "--config", str(tmp_path / "hub.toml"))
    assert status == 2 and "report.cutof: not a setting" in err


def test_ok__the_cut_off_watch_issues_once_on_its_clock_and_survives_a_failing_database(day_store):
    moments = iter([at(8, 0), at(8, 31), at(8, 32)])
    watch = daily.CutoffWatch(lambda: day_store, SETTINGS, clock=lambda: next(moments))
    assert [watch.look(day_store) for _ in range(3)] == [None, 1, None]


def test_ok__m012_fills_in_the_reports_tables_from_the_events_already_merged(tmp_path):
    """A hub database as issue 12 left it: the events and doses of a day, merged before the reports' tables existed."""
    import sqlite3

    from hub.store.migrations import MIGRATIONS

    path = tmp_path / "hub.db"
    conn = sqlite3.connect(str(path), isolation_level=None)
    for number, step in enumerate(MIGRATIONS[:11], start=1):
        step(conn)
        conn.execute(f"PRAGMA user_version = {number}")
    old = [wire.parse_event(*message("ka", seq, kind, payload)) for seq, kind, payload in (
        (1, "PersonDeferred", {**about(1, HUNG), "reason": "sốt", "return_on": "2024-05-08"}),
        (2, "LotOpened", {"lot": {**LOT, "doses_per_vial": 6}}),
        (3, wire.DOSE_EVENT, {**about(3, LAN), "dose": {**LOT, "number": 1, "booster": 0, "given_at": f"{DAY}T09:03:30+07:00"}}),
        (4, wire.VOID_EVENT, {**about(4, HUNG), "voids": "ka:1", "reason": "nhầm"}))]
    conn.executemany("INSERT INTO events (event_id, kiosk, seq, type, boot, at, clock_synced, id_number, body, received_at) "
                     "VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?, ?)",
                     [(e.id, e.kiosk, e.seq, e.type, e.boot, e.at, e.payload.get("id_number"), e.body, at(8, 0).isoformat())
                      for e in old])
    conn.execute("INSERT INTO voids (target_id, void_id) VALUES ('ka:1', 'ka:4')")
    conn.execute("INSERT INTO doses (event_id, id_number, kiosk, product, lot_number, dose_number, booster, given_at, "
                 f"given_on) VALUES ('ka:3', '{LAN}', 'ka', 'comirnaty_30', 'L1', 1, 0, '{DAY}T09:03:30+07:00', '{DAY}')")
    conn.close()
    with open_store(path) as opened:
        rows = opened.day_rows(ON)
    assert [(o.event_id, o.kind, o.voided) for o in rows.outcomes] == [("ka:1", "deferred", at(8, 0).isoformat())]
    assert [(d.event_id, d.arrived) for d in rows.doses] == [("ka:3", at(8, 0).isoformat())]
    assert rows.lots == []  # a lot opened wastes nothing


# -- the report's discards and the stock page's wastage: one rule -------------------------------------------------------

LOT_STEPS = st.lists(st.one_of(
    st.builds(lambda n: ("DosesWasted", {"doses": n, "reason": "vỡ"}), st.integers(1, 6)),
    st.builds(lambda vials, wasted: ("LotClosed", {"vials_opened": vials, "given": 1, "wasted": wasted}),
              st.integers(1, 4), st.integers(0, 12)),
    st.just(("LotOpened", {})), st.just(("VialOpened", {"vials_opened": 1})), st.just(("void", {}))), max_size=10)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(LOT_STEPS)
def test_ok__the_report_discards_what_the_stock_page_counts_wasted(keyed_db, steps):
    """Any day of a lot's events at a site (wastes, closings with their totals, reopenings, a waste voided): the daily
    report's doses discarded equal the stock page's doses wasted for that site and day."""
    messages, wastes = [lot("ka", 1, "LotOpened")], []
    for seq, (kind, extra) in enumerate(steps, start=2):
        if kind == "void":
            if wastes:
                messages.append(void("ka", seq, LAN, wastes.pop()))
            continue
        messages.append(lot("ka", seq, kind, **extra))
        if kind == "DosesWasted":
            wastes.append(seq)
    keyed_db.reset()
    with keyed_db.open() as opened:
        enroll(opened, "ka", SITE_A)
        feed(opened, messages, at(8, 0))
        report = daily.report(opened, ON, SETTINGS)
        stock = [r for r in opened.stock(ON, ON) if r["site"] == SITE_A]
        assert row(report, SITE_A)["doses_discarded"] == sum(r["wasted"] for r in stock)

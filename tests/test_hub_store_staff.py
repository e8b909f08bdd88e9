"""hub/store/staff.py through both stores (SQLite, PostgreSQL: tests/hub_stores.py): accounts, sessions, lockouts (atomic
across connections, and across a reopen), the audit log."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from hub.errors import StaffError
from hub.store import LockRule, SessionLimits

from .hub_stores import at_once, both_stores

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=timezone.utc)
LIMITS = SessionLimits(idle_seconds=1800, lifetime_seconds=12 * 3600)
HASH = "scrypt$n=16,r=1,p=1$AAAAAAAA$AAAAAAAA"


db = both_stores()


@pytest.fixture
def store(db):
    with db.open() as store:
        yield store


def test_ok__an_account_is_found_by_its_name_in_any_case(store):
    added = store.add_staff("Nguyễn Thị Lan", "data", HASH, T0)
    assert store.staff_named("NGUYỄN THỊ LAN") == added and added.active and added.role == "data"
    assert [m.name for m in store.list_staff()] == ["Nguyễn Thị Lan"]


def test_fail__a_second_account_with_the_same_name(store):
    store.add_staff("Nguyễn Thị Lan", "data", HASH, T0)
    with pytest.raises(StaffError, match="already"):
        store.add_staff("nguyễn  thị lan", "admin", HASH, T0)
    assert len(store.list_staff()) == 1


def test_fail__a_role_the_schema_does_not_know(store):
    with pytest.raises(Exception):
        store.add_staff("Lan", "supervisor", HASH, T0)
    assert store.list_staff() == []


def test_ok__a_session_lasts_while_used_and_ends_idle_or_expired(store):
    member = store.add_staff("Lan", "officer", HASH, T0)
    sid = store.open_session(member.id, LIMITS, T0)
    assert store.session_holder(sid, LIMITS, T0 + timedelta(minutes=29)) == member
    assert store.session_holder(sid, LIMITS, T0 + timedelta(minutes=58)) == member  # seen at 29 min
    assert store.session_holder(sid, LIMITS, T0 + timedelta(minutes=89)) is None  # 31 min idle
    assert store.session_holder(sid, LIMITS, T0 + timedelta(minutes=90)) is None  # ended stays ended
    busy = store.open_session(member.id, LIMITS, T0)
    for minute in range(0, 12 * 60, 20):
        assert store.session_holder(busy, LIMITS, T0 + timedelta(minutes=minute)) == member
    assert store.session_holder(busy, LIMITS, T0 + timedelta(hours=12)) is None


def test_ok__sign_out_disable_and_a_new_password_end_sessions(store):
    lan = store.add_staff("Lan", "data", HASH, T0)
    binh = store.add_staff("Bình", "admin", HASH, T0)
    signed_out = store.open_session(lan.id, LIMITS, T0)
    store.end_session(signed_out, T0)
    assert store.session_holder(signed_out, LIMITS, T0) is None
    here, elsewhere = store.open_session(lan.id, LIMITS, T0), store.open_session(lan.id, LIMITS, T0)
    store.set_staff_password(lan.id, HASH, T0, keep=here)
    assert store.session_holder(here, LIMITS, T0) is not None and store.session_holder(elsewhere, LIMITS, T0) is None
    admin = store.open_session(binh.id, LIMITS, T0)
    assert store.disable_staff("Lan", T0).disabled_at is not None
    assert store.session_holder(here, LIMITS, T0) is None and store.session_holder(admin, LIMITS, T0) is not None
    with pytest.raises(StaffError):
        store.disable_staff("Nobody", T0)


def test_ok__a_lock_after_n_wrong_attempts_that_outlives_a_reopen(db):
    rule = LockRule("staff:1", attempts=3, first_seconds=300, cap_seconds=3600)
    with db.open() as store:
        assert [store.reserve_attempt([rule], T0).lock for _ in range(3)] == [0, 0, 300]
    with db.open() as store:
        refused = store.reserve_attempt([rule], T0 + timedelta(seconds=100))
        assert refused.refused and refused.wait == 200
        assert store.reserve_attempt([rule], T0 + timedelta(seconds=301)).lock == 600  # the 4th wrong one doubles it
        store.clear_failures([rule.key])
        assert not store.reserve_attempt([rule], T0 + timedelta(seconds=302)).refused


def test_ok__attempts_racing_in_threads_are_counted_one_by_one(db):
    rule = LockRule("address:10.0.0.5", attempts=5, first_seconds=600, cap_seconds=3600)
    # four connections, as four processes (or hub web servers) would have
    results = at_once(db, [lambda store: store.reserve_attempt([rule], T0)] * 40, connections=4)
    assert sum(not r.refused for r in results) == 5 and sum(r.refused for r in results) == 35


def test_ok__the_audit_log_newest_first_with_names(store):
    lan = store.add_staff("Lan", "admin", HASH, T0)
    store.audit(None, "staff_add", f"staff:{lan.id}", None, T0)
    for minute in range(5):
        store.audit(lan.id, "sign_in", f"staff:{lan.id}", "10.0.0.5", T0 + timedelta(minutes=minute))
    log = store.audit_log(limit=3)
    assert [e.at for e in log] == ["2026-03-02T08:04:00+00:00", "2026-03-02T08:03:00+00:00", "2026-03-02T08:02:00+00:00"]
    assert log[0].staff_name == "Lan" and log[0].record == f"staff:{lan.id}" and log[0].address == "10.0.0.5"
    rest = store.audit_log(limit=10, before=log[-1].id)
    assert [e.action for e in rest] == ["sign_in", "sign_in", "staff_add"] and rest[-1].staff_id is None

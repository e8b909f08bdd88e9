"""Staff sessions on a real SQLite file: sign-out, idle and absolute limits on the monotonic clock, reboots, staff changes."""

from datetime import timedelta

import pytest

from kiosk.queue import sessions
from kiosk.queue.sessions import Limits, digest, end_session, open_session, session_holder
from kiosk.queue.staff import set_active, set_pin

LIMITS = Limits(idle_seconds=480 * 60, lifetime_seconds=12 * 3600)


def test_ok__a_session_names_its_member_until_it_is_ended(store, hoa, ticker):
    session_id = open_session(store, hoa.id, LIMITS, ticker.now())
    assert session_holder(store, session_id, LIMITS, ticker.now()) == hoa.id
    end_session(store, session_id)
    assert session_holder(store, session_id, LIMITS, ticker.now()) is None


def test_ok__the_database_holds_only_a_hash_of_the_id(store, hoa, ticker):
    session_id = open_session(store, hoa.id, LIMITS, ticker.now())
    stored = [row["id_hash"] for row in store.db["staff_sessions"].rows]
    assert stored == [digest(session_id)] and session_id not in stored and len(session_id) >= 40


@pytest.mark.parametrize("steps, alive", [
    ([479 * 60], True), ([480 * 60], False),                        # idle
    ([400 * 60, 300 * 60], True),                                   # busy enough, under the lifetime
    ([300 * 60] * 2 + [119 * 60], True), ([300 * 60] * 2 + [120 * 60], False),  # the lifetime, however busy
])
def test_ok__a_session_lasts_until_idle_too_long_or_signed_in_too_long_ago(store, hoa, ticker, steps, alive):
    session_id = open_session(store, hoa.id, LIMITS, ticker.now())
    for step in steps[:-1]:
        ticker.advance(step)
        assert session_holder(store, session_id, LIMITS, ticker.now()) == hoa.id
    ticker.advance(steps[-1])
    assert (session_holder(store, session_id, LIMITS, ticker.now()) == hoa.id) is alive


def test_ok__a_request_is_written_down_at_most_once_a_minute_so_a_session_ends_early_never_late(store, hoa, ticker):
    session_id = open_session(store, hoa.id, LIMITS, ticker.now())
    ticker.advance(sessions.TOUCH_SECONDS - 1)
    session_holder(store, session_id, LIMITS, ticker.now())
    seen = store.db.execute("select started_mono, seen_mono from staff_sessions").fetchone()
    assert seen[0] == seen[1]  # not written: the session is counted as idle since its start
    ticker.advance(LIMITS.idle_seconds - sessions.TOUCH_SECONDS + 1)
    assert session_holder(store, session_id, LIMITS, ticker.now()) is None


def test_ok__a_reboot_ends_every_session_and_a_wall_clock_jump_ends_none(store, hoa, ticker):
    session_id = open_session(store, hoa.id, LIMITS, ticker.now())
    ticker.wall -= timedelta(days=20000)
    assert session_holder(store, session_id, LIMITS, ticker.now()) == hoa.id
    ticker.reboot(downtime_s=5)
    assert session_holder(store, session_id, LIMITS, ticker.now()) is None
    assert store.db["staff_sessions"].count == 0


def test_ok__disabling_a_member_or_giving_a_new_pin_ends_their_sessions_only(store, hoa, binh, ticker):
    hers = [open_session(store, hoa.id, LIMITS, ticker.now()) for _ in range(2)]
    his = open_session(store, binh.id, LIMITS, ticker.now())
    set_pin(store, hoa.name, "3691")
    assert [session_holder(store, s, LIMITS, ticker.now()) for s in hers] == [None, None]
    assert session_holder(store, his, LIMITS, ticker.now()) == binh.id
    set_active(store, binh.name, False)
    assert session_holder(store, his, LIMITS, ticker.now()) is None


def test_ok__opening_a_session_drops_the_ones_that_are_over(store, hoa, ticker):
    open_session(store, hoa.id, LIMITS, ticker.now())
    ticker.advance(LIMITS.idle_seconds)
    open_session(store, hoa.id, LIMITS, ticker.now())
    assert store.db["staff_sessions"].count == 1

"""Sign-in lockouts on a real SQLite file: counted before the PIN check, atomic under threads, kept across restarts, safe across reboots."""

import threading
from datetime import timedelta

import pytest

from kiosk.queue import lockouts
from kiosk.queue.lockouts import CAP_SECONDS, carry_over_locks, clear_failures, reserve_attempt
from kiosk.queue.store import Store
from staffweb.lockouts import LockRule

MEMBER = LockRule("staff:1", attempts=3, first_seconds=30.0, cap_seconds=CAP_SECONDS)
ADDRESS = LockRule("address:10.0.0.5", attempts=10, first_seconds=30.0, cap_seconds=CAP_SECONDS)


def fail(store, ticker, times, rules=(MEMBER,)):
    """Count ``times`` wrong attempts; return each verdict."""
    return [reserve_attempt(store, list(rules), ticker.now()) for _ in range(times)]


def failures(store, key) -> int | None:
    row = store.db.execute("select failures from signin_failures where key = ?", [key]).fetchone()
    return row[0] if row else None


@pytest.mark.parametrize("attempts, first, expected", [
    (3, 30.0, [0, 0, 30, 60, 120, 240, 480, 900, 900, 900]),
    (1, 10.0, [10, 20, 40, 80, 160, 320, 640, 900]),
    (0, 10.0, [10, 20]),  # at least one attempt is always allowed to count
])
def test_ok__a_lock_doubles_with_each_further_wrong_attempt_up_to_fifteen_minutes(attempts, first, expected):
    rule = LockRule("k", attempts, first, CAP_SECONDS)
    assert [rule.lock_for(n) for n in range(1, len(expected) + 1)] == expected


def test_ok__each_attempt_is_counted_before_its_pin_is_checked_and_the_limit_locks_at_once(store, ticker):
    first, second, third = fail(store, ticker, 3)
    assert (first.refused, first.lock, second.lock) == (False, 0, 0)
    assert (third.refused, third.lock) == (False, 30)  # the third may still be checked; it starts the lock
    assert failures(store, MEMBER.key) == 3


def test_fail__while_locked_an_attempt_is_refused_and_not_counted(store, ticker):
    fail(store, ticker, 3)
    ticker.advance(20)
    refused = reserve_attempt(store, [MEMBER], ticker.now())
    assert refused.refused and refused.wait == pytest.approx(10) and failures(store, MEMBER.key) == 3
    ticker.advance(10)
    again = reserve_attempt(store, [MEMBER], ticker.now())
    assert not again.refused and again.lock == 60


def test_ok__a_right_pin_clears_every_key_it_counted_against(store, ticker):
    fail(store, ticker, 2, rules=(MEMBER, ADDRESS))
    clear_failures(store, [MEMBER.key, ADDRESS.key])
    assert failures(store, MEMBER.key) is None and failures(store, ADDRESS.key) is None
    assert [a.lock for a in fail(store, ticker, 3)] == [0, 0, 30]


def test_ok__any_locked_key_refuses_and_none_of_the_keys_is_counted(store, ticker):
    fail(store, ticker, 3)
    other_member = LockRule("staff:2", 3, 30.0, CAP_SECONDS)
    assert reserve_attempt(store, [other_member, ADDRESS], ticker.now()).lock == 0
    refused = reserve_attempt(store, [MEMBER, ADDRESS], ticker.now())
    assert refused.refused and failures(store, ADDRESS.key) == 1


def test_fail__thirty_attempts_at_once_from_thirty_threads_let_exactly_three_through(store, ticker):
    start, verdicts = threading.Barrier(30), []

    def attempt():
        own = Store(store.path)  # each thread its own connection, as each request of the server has
        start.wait()
        verdicts.append(reserve_attempt(own, [MEMBER], ticker.now()))
        own.close()

    threads = [threading.Thread(target=attempt) for _ in range(30)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sum(not v.refused for v in verdicts) == 3 and len(verdicts) == 30
    assert sorted(v.lock for v in verdicts if not v.refused) == [0, 0, 30] and failures(store, MEMBER.key) == 3


def test_ok__a_lock_outlives_the_process_that_set_it(store, ticker):
    fail(store, ticker, 3)
    store.close()
    reopened = Store(store.path)
    try:
        assert reserve_attempt(reopened, [MEMBER], ticker.now()).refused
    finally:
        reopened.close()


def test_ok__a_wall_clock_jump_neither_lifts_nor_lengthens_a_lock(store, ticker):
    fail(store, ticker, 3)
    ticker.wall += timedelta(days=3650)
    assert reserve_attempt(store, [MEMBER], ticker.now()).wait == pytest.approx(30)
    ticker.wall -= timedelta(days=7300)  # back to 1990: a Pi that booted without its clock
    assert reserve_attempt(store, [MEMBER], ticker.now()).wait == pytest.approx(30)


def test_ok__after_a_reboot_a_running_lock_starts_again_in_full_when_the_screens_start(store, ticker):
    fail(store, ticker, 3)
    ticker.advance(25)  # 5 s were left
    ticker.reboot(downtime_s=3600)  # the monotonic clock restarts at 10 s; an hour passed, but nothing can tell
    assert carry_over_locks(store, ticker.now()) == 1
    ticker.advance(29)
    assert reserve_attempt(store, [MEMBER], ticker.now()).wait == pytest.approx(1)
    ticker.advance(1)
    assert not reserve_attempt(store, [MEMBER], ticker.now()).refused


def test_ok__after_a_reboot_an_attempt_restarts_a_lock_nobody_carried_over(store, ticker):
    fail(store, ticker, 3)
    ticker.reboot()
    assert reserve_attempt(store, [MEMBER], ticker.now()).wait == pytest.approx(30)


def test_ok__a_lock_seen_over_before_a_reboot_is_not_started_again(store, ticker):
    fail(store, ticker, 3)
    ticker.advance(31)
    assert carry_over_locks(store, ticker.now()) == 0  # a restart of the screens in the same boot settles it
    ticker.reboot()
    assert carry_over_locks(store, ticker.now()) == 0
    assert reserve_attempt(store, [MEMBER], ticker.now()).lock == 60  # the count stays: the next wrong PIN locks longer


def test_ok__past_max_keys_the_unlocked_keys_tried_longest_ago_are_forgotten(store, ticker, monkeypatch):
    monkeypatch.setattr(lockouts, "MAX_KEYS", 3)
    locked = LockRule("staff:9", attempts=1, first_seconds=600.0, cap_seconds=CAP_SECONDS)
    reserve_attempt(store, [locked], ticker.now())
    for n in range(4):
        reserve_attempt(store, [LockRule(f"address:10.0.0.{n}", 10, 30.0, CAP_SECONDS)], ticker.now())
    keys = {row["key"] for row in store.db["signin_failures"].rows}
    assert keys == {"staff:9", "address:10.0.0.2", "address:10.0.0.3"}

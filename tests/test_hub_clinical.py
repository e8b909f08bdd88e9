"""hub/clinical.py, pure: days from a query, the follow-up's rules, the time after a dose, the lot signal, wastage."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, strategies as st

from hub.clinical import (MAX_RANGE_DAYS, NOTE_MAX, ClinicalInputError, check_follow_up, day_range, lot_signal,
                          minutes_between, parse_day, wastage_rate)
from hub.errors import HubError

TODAY = date(2026, 3, 3)


def test_ok__the_default_range_is_the_last_7_days():
    assert day_range(None, None, TODAY) == (date(2026, 2, 25), TODAY)
    assert day_range("", "2026-01-10", TODAY) == (date(2026, 1, 4), date(2026, 1, 10))


@pytest.mark.parametrize(("first", "last", "code"), [
    ("2026-03-04", "2026-03-03", "bad_range"), ("2025-01-01", "2026-03-03", "long_range"),
    ("2026-02-30", None, "bad_day"), ("2026-3-1", None, "bad_day"), ("２０２６-03-01", None, "bad_day"),
])
def test_fail__a_bad_range_names_its_rule(first, last, code):
    with pytest.raises(ClinicalInputError) as refused:
        day_range(first, last, TODAY)
    assert refused.value.code == code and isinstance(refused.value, HubError) and isinstance(refused.value, ValueError)


def test_ok__the_longest_range_is_taken():
    first = date.fromordinal(TODAY.toordinal() - MAX_RANGE_DAYS + 1)
    assert day_range(first.isoformat(), None, TODAY) == (first, TODAY)


@given(st.text(max_size=30))
def test_fail__any_text_is_a_day_or_a_clear_refusal(text):
    try:
        assert isinstance(parse_day(text, TODAY), date)
    except ClinicalInputError as refused:
        assert refused.code == "bad_day"


@given(st.sampled_from(["reported", "closed"]), st.text(max_size=NOTE_MAX + 20))
def test_ok__a_note_is_taken_up_to_its_limit(status, note):
    try:
        assert check_follow_up(status, note) == (status, note.strip().replace("\r\n", "\n"))
    except ClinicalInputError as refused:
        assert refused.code == "long_note" and len(note.strip().replace("\r\n", "\n")) > NOTE_MAX


@pytest.mark.parametrize("status", ["", "cured", "Closed", "closed "])
def test_fail__an_unknown_status_is_refused(status):
    with pytest.raises(ClinicalInputError, match="status"):
        check_follow_up(status, "")


@pytest.mark.parametrize(("given_at", "at", "minutes"), [
    ("2026-03-02T09:00:00+07:00", "2026-03-02T09:25:30+07:00", 25),
    ("2026-03-02T09:00:00+07:00", "2026-03-02T03:10:00+01:00", 10),
    (None, "2026-03-02T09:25:00+07:00", None), ("bad", "2026-03-02T09:25:00+07:00", None),
])
def test_ok__minutes_after_the_dose(given_at, at, minutes):
    assert minutes_between(given_at, at) == minutes


@pytest.mark.parametrize(("reactions", "severe", "signal"), [(1, 1, False), (2, 2, True), (4, 0, False), (5, 0, True)])
def test_ok__the_lot_signal(reactions, severe, signal):
    assert lot_signal(reactions, severe) is signal


def test_ok__wastage_rate():
    assert (wastage_rate(3, 3), wastage_rate(0, 0), wastage_rate(99, 1)) == (50.0, None, 1.0)

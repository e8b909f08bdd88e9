"""hub/coverage.py, pure: age bands exact on any day (29 February too), dose levels, the next dose and since when (the
same answer as vaccines/eligibility.py's assess for every product), and the outreach spreadsheet."""

from __future__ import annotations

import datetime
import io

import pytest
from hypothesis import given, settings, strategies as st

from hub.coverage import (BANDS, DoseFact, Due, band_index, band_thresholds, birth_day, birthday, commune_key, history,
                          latest_birth, level, next_due, outreach_workbook)
from hub.district_time import local_day
from vaccines.catalogue import load_catalogue
from vaccines.eligibility import DueDose, age_on, assess

CATALOGUE = load_catalogue()
D = datetime.date
DAY = datetime.timedelta(days=1)
LEAP_DAYS = [D(year, 2, 29) for year in (1948, 1960, 2000, 2008, 2016, 2020, 2024, 2028)]
days = st.one_of(st.dates(D(1900, 1, 1), D(2100, 12, 31)), st.sampled_from(LEAP_DAYS),
                 st.sampled_from(LEAP_DAYS).map(lambda d: d - DAY), st.sampled_from(LEAP_DAYS).map(lambda d: d + DAY))


def expected_band(birth: datetime.date, on: datetime.date) -> int:
    """The band index by eligibility.age_on, the kiosk's own age rule (-1: under 5, or not born yet)."""
    if on < birth:
        return -1
    age = age_on(birth, on)
    return next((i for i, band in enumerate(BANDS) if band.min_age <= age and (band.max_age is None or age <= band.max_age)), -1)


@settings(max_examples=400, deadline=None)
@given(birth=days, on=days)
def test_ok__a_birth_date_falls_in_the_band_of_the_age_on_the_day_asked(birth, on):
    assert band_index(birth, band_thresholds(on)) == expected_band(birth, on)


@pytest.mark.parametrize("birth, on, band", [
    (D(2008, 2, 29), D(2020, 2, 28), "5-11"),     # born 29 February: 12 on the 29th in a leap year
    (D(2008, 2, 29), D(2020, 2, 29), "12-17"),
    (D(2008, 2, 29), D(2026, 2, 28), "12-17"),    # and 18 only on 1 March in a year without one
    (D(2008, 2, 29), D(2026, 3, 1), "18-49"),
    (D(2006, 2, 28), D(2024, 2, 29), "18-49"),    # asked on 29 February: born 28 February 18 years back is 18
    (D(2006, 3, 1), D(2024, 2, 29), "12-17"),
    (D(1959, 3, 1), D(2024, 2, 29), "50-64"),     # 65 on 1 March
    (D(1959, 2, 28), D(2024, 2, 29), "65+"),
    (D(2019, 3, 2), D(2024, 3, 1), None),         # 4 years old: under 5
    (D(2030, 1, 1), D(2024, 3, 1), None),         # not born yet on the day asked
])
def test_ok__band_edges_around_29_february(birth, on, band):
    index = band_index(birth, band_thresholds(on))
    assert (BANDS[index].name if index >= 0 else None) == band


@settings(max_examples=300, deadline=None)
@given(birth=days, age=st.integers(0, 120))
def test_ok__a_birthday_is_the_first_day_of_that_age(birth, age):
    day = birthday(birth, age)
    assert age_on(birth, day) == age
    assert day == birth or age_on(birth, day - DAY) == age - 1


@settings(max_examples=300, deadline=None)
@given(on=days, age=st.integers(0, 120))
def test_ok__latest_birth_is_the_last_birth_date_of_that_age(on, age):
    latest = latest_birth(on, age)
    assert age_on(latest, on) >= age and (latest + DAY > on or age_on(latest + DAY, on) < age)


def test_ok__a_year_alone_is_1_january_and_counts_by_the_age_reached_that_year():
    assert birth_day("1957") == D(1957, 1, 1) and birth_day("1957-06-30") == D(1957, 6, 30)
    assert BANDS[band_index(birth_day("1959"), band_thresholds(D(2024, 1, 1)))].name == "65+"
    assert BANDS[band_index(birth_day("1960"), band_thresholds(D(2024, 12, 31)))].name == "50-64"


@pytest.mark.parametrize("text", ["", "57", "1957-13-01", "31/12/1957", "1957-02-29"])
def test_fail__a_birth_date_that_is_not_one(text):
    with pytest.raises(ValueError):
        birth_day(text)


def test_ok__the_day_is_vietnams():
    assert local_day(datetime.datetime(2026, 3, 1, 16, 59, tzinfo=datetime.timezone.utc)) == D(2026, 3, 1)
    assert local_day(datetime.datetime(2026, 3, 1, 17, 0, tzinfo=datetime.timezone.utc)) == D(2026, 3, 2)


def test_ok__a_commune_key_is_short_opaque_and_stable():
    assert commune_key("Phường Bến Nghé") == commune_key("Phường Bến Nghé") != commune_key("Phường Bến Thành")
    assert len(commune_key("Xã Tân Lập")) == 12 and commune_key("Xã Tân Lập").isalnum()


def fact(product: str, number: int, on: str = "2022-01-01", booster: int | None = 0) -> DoseFact:
    return DoseFact(product, number, booster, on)


@pytest.mark.parametrize("doses, expected", [
    ([], 0),
    ([fact("comirnaty_30", 1)], 1),
    ([fact("comirnaty_30", 1), fact("comirnaty_30", 1, "2022-01-02")], 1),            # the same dose twice
    ([fact("comirnaty_30", 1), fact("comirnaty_30", 2)], 2),
    ([fact("abdala", 1), fact("abdala", 2)], 1),                                       # Abdala's series is 3 doses
    ([fact("abdala", 1), fact("abdala", 2), fact("abdala", 3)], 2),
    ([fact("comirnaty_30", 2)], 2),                                                    # dose 2: dose 1 was given
    ([fact("comirnaty_30", 1), fact("comirnaty_30", 2), fact("spikevax", 3, booster=1)], 3),
    ([fact("vaxzevria", 1), fact("vaxzevria", 2), fact("comirnaty_30", 3), fact("comirnaty_30", 4)], 4),
    ([fact("comirnaty_30", 3, booster=None)], 3),                                      # number 3 of a 2-dose series
    ([fact("no_such_vaccine", 1)], 1),                                                 # unknown series: one dose
    ([fact("no_such_vaccine", 1), fact("no_such_vaccine", 2, booster=1)], 3),          # the kiosk said booster 1
    ([fact("comirnaty_30", 1), fact("comirnaty_30", 2, booster=2)], 4),
])
def test_ok__a_level_from_the_live_doses(doses, expected):
    assert level(doses, CATALOGUE) == expected


@pytest.mark.parametrize("birth, doses, expected", [
    (D(2008, 2, 29), [], Due(1, 0, D(2013, 3, 1))),                          # 5 on 1 March in a year without 29 Feb
    (D(1990, 5, 1), [fact("comirnaty_30", 1, "2021-08-01")], Due(2, 0, D(2021, 8, 22))),
    (D(1990, 5, 1), [fact("comirnaty_30", 1, "2021-08-01"), fact("comirnaty_30", 2, "2021-09-01")], Due(3, 1, D(2021, 11, 30))),
    (D(2012, 5, 1), [fact("comirnaty_10", 1, "2021-08-01"), fact("comirnaty_10", 2, "2021-09-01")], Due(3, 1, D(2024, 5, 1))),
    (D(1960, 5, 1), [fact("abdala", 1, "2021-08-01")], Due(2, 0, D(2021, 8, 15), D(2026, 5, 1))),  # Abdala until 65
    (D(1990, 5, 1), [fact("comirnaty_30", n, f"202{n}-01-01") for n in range(1, 5)], None),      # every booster given
    (D(1990, 5, 1), [fact("comirnaty_30", 2, "2021-08-01")], None),                              # dose 1 not on record
    (D(1990, 5, 1), [fact("no_such_vaccine", 1, "2021-08-01")], None),
    (D(1990, 5, 1), [fact("comirnaty_30", 1, "1980-01-01")], None),                              # before birth
])
def test_ok__the_next_dose_and_since_when(birth, doses, expected):
    assert next_due(birth, doses, CATALOGUE) == expected


PRODUCTS = sorted(CATALOGUE.products)


@st.composite
def histories(draw):
    """A birth date and a series of doses numbered 1..n, in date order, after birth (a record assess can read)."""
    birth = draw(st.one_of(st.dates(D(1930, 1, 1), D(2020, 12, 31)), st.sampled_from(LEAP_DAYS[:-1])))
    count = draw(st.integers(0, 4))
    day, doses = max(birth, D(2021, 1, 1)), []
    for number in range(1, count + 1):
        day += datetime.timedelta(days=draw(st.integers(0, 400)))
        doses.append(fact(draw(st.sampled_from(PRODUCTS)), number, day.isoformat(), draw(st.sampled_from([0, None]))))
    return birth, doses


@settings(max_examples=300, deadline=None)
@given(case=histories(), offset=st.integers(0, 40_000))
def test_ok__due_exactly_on_the_days_assess_allows_some_product(case, offset):
    birth, doses = case
    start = D.fromisoformat(doses[-1].given_on) if doses else birth
    on = min(start + datetime.timedelta(days=offset), D(2120, 1, 1))
    due = next_due(birth, doses, CATALOGUE)
    past = history(doses)
    allowed = {assess(birth, past, product, on, catalogue=CATALOGUE).dose for product in PRODUCTS
               if assess(birth, past, product, on, catalogue=CATALOGUE).eligible}
    assert bool(allowed) == (due is not None and due.covers(on))
    assert not allowed or allowed == {DueDose(due.number, due.booster)}


def test_ok__the_outreach_sheet_reads_back_with_formulas_neutralised(tmp_path):
    import openpyxl

    rows = [{"id_number": "001190012345", "full_name": "=HYPERLINK(\"http://evil\")", "birth_date": "1990-03-15",
             "sex": "Nữ", "address": "@SUM(1)", "phone": "+84 90 123", "priority_group": "-1", "doses": 1,
             "due_number": 2, "due_booster": 0, "due_on": "2021-08-22"}]
    book = openpyxl.load_workbook(io.BytesIO(outreach_workbook("Phường Bến Nghé", D(2026, 3, 2), rows)))
    sheet, about = book.worksheets
    header, line = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert header[:2] == ["Số CCCD", "Họ và tên"] and line[0] == "001190012345"
    assert line[1] == "'=HYPERLINK(\"http://evil\")" and line[4] == "'@SUM(1)" and line[5] == "'+84 90 123"
    assert line[8] == "Mũi 2" and line[9] == "2021-08-22" and line[7] == 1
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)
    assert [row[1].value for row in about.iter_rows()][1:3] == ["Phường Bến Nghé", "2026-03-02"]

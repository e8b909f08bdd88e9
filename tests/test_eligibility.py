"""Tests for vaccines.eligibility and vaccines.catalogue: ages, due doses, reasons, the catalogue file.

The rules are tested against a catalogue written here, so that checking the
packaged example against the Ministry's guidance never breaks a rule test.
"""

import dataclasses
import datetime
import pathlib
import re
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vaccines.catalogue import (
    BAND_KEYS,
    DEFAULT_BANDS,
    PRODUCT_KEYS,
    TOP_KEYS,
    AgeBand,
    load_catalogue,
    parse_catalogue,
)
from vaccines.eligibility import ELIGIBLE, REASONS, Dose, DueDose, age_on, assess
from vaccines.errors import CatalogueError, RuleInputError, VaccinesError

ROOT = pathlib.Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "workflow.md"
PACKAGED = ROOT / "vaccines" / "catalogue.toml"
D = datetime.date
DAY = datetime.timedelta(days=1)

PRODUCTS = """
[products.vaxzevria]
name = "AZ"
min_age = 18
primary_doses = 2
primary_interval_days = 28
booster = true
booster_interval_days = 90

[products.comirnaty_30]
name = "Pfizer adult"
family = "comirnaty"
min_age = 12
primary_doses = 2
primary_interval_days = 21
booster = true
booster_interval_days = 90

[products.comirnaty_10]
name = "Pfizer paediatric"
family = "comirnaty"
min_age = 5
max_age = 11
primary_doses = 2
primary_interval_days = 21
booster = false
booster_interval_days = 90

[products.spikevax]
name = "Moderna"
min_age = 12
primary_doses = 2
primary_interval_days = 28
booster = true
booster_interval_days = 90

[products.bbibp]
name = "Sinopharm"
min_age = 18
primary_doses = 2
primary_interval_days = 21
booster = false
booster_interval_days = 120

[products.abdala]
name = "Abdala"
min_age = 19
max_age = 65
primary_doses = 3
primary_interval_days = 14
booster = false
booster_interval_days = 90
"""
HEADER = 'schema = 1\nstatus = "unverified"\nmax_boosters = 2\n'
CATALOGUE = parse_catalogue(HEADER + PRODUCTS)

ADULT = D(1990, 6, 5)  # 31 on the usual assessment day
TODAY = D(2021, 9, 1)


def doses(*items: tuple[str, datetime.date]) -> list[Dose]:
    """A history numbered 1, 2, ... from (product, date) pairs."""
    return [Dose(product, number, given_on) for number, (product, given_on) in enumerate(items, 1)]


def az_primary(second: datetime.date = D(2021, 6, 1)) -> list[Dose]:
    return doses(("vaxzevria", second - 28 * DAY), ("vaxzevria", second))


# --- age -------------------------------------------------------------------

AGE_CASES = [
    pytest.param(D(2000, 6, 15), D(2000, 6, 15), 0, id="day_of_birth"),
    pytest.param(D(2000, 6, 15), D(2021, 6, 14), 20, id="day_before_birthday"),
    pytest.param(D(2000, 6, 15), D(2021, 6, 15), 21, id="on_birthday"),
    pytest.param(D(2000, 12, 31), D(2021, 1, 1), 20, id="new_year_after_birthday"),
    pytest.param(D(2016, 2, 29), D(2021, 2, 28), 4, id="leap_day_birth_28_feb_common_year"),
    pytest.param(D(2016, 2, 29), D(2021, 3, 1), 5, id="leap_day_birth_1_mar_common_year"),
    pytest.param(D(2016, 2, 29), D(2020, 2, 28), 3, id="leap_day_birth_28_feb_leap_year"),
    pytest.param(D(2016, 2, 29), D(2020, 2, 29), 4, id="leap_day_birth_29_feb_leap_year"),
    pytest.param(D(2015, 3, 1), D(2020, 2, 29), 4, id="born_1_mar_on_29_feb"),
    pytest.param(D(2015, 2, 28), D(2020, 2, 28), 5, id="born_28_feb_leap_year"),
]


@pytest.mark.parametrize(("birth", "on", "age"), AGE_CASES)
def test_ok__age_on(birth, on, age):
    assert age_on(birth, on) == age


def test_fail__age_on_before_birth():
    with pytest.raises(RuleInputError):
        age_on(D(2000, 6, 15), D(2000, 6, 14))


def anniversary(birth: datetime.date, years: int) -> datetime.date:
    """Birthday number `years`; 1 March for a 29 February birth in a common year."""
    try:
        return birth.replace(year=birth.year + years)
    except ValueError:
        return D(birth.year + years, 3, 1)


@settings(max_examples=300, deadline=None)
@given(st.dates(D(1900, 1, 1), D(2100, 12, 31)), st.integers(0, 40_000))
def test_ok__age_is_the_number_of_birthdays_passed(birth, days):
    on = birth + days * DAY
    age = age_on(birth, on)
    assert anniversary(birth, age) <= on < anniversary(birth, age + 1)


# --- eligible --------------------------------------------------------------

OK_CASES = [
    pytest.param(ADULT, [], "vaxzevria", TODAY, DueDose(1, 0), id="first_dose_adult"),
    pytest.param(ADULT, az_primary()[:1], "vaxzevria", D(2021, 6, 1), DueDose(2, 0), id="primary_interval_exact"),
    pytest.param(ADULT, az_primary(), "vaxzevria", D(2021, 6, 1) + 90 * DAY, DueDose(3, 1), id="booster_exact"),
    pytest.param(ADULT, az_primary(), "comirnaty_30", TODAY, DueDose(3, 1), id="heterologous_booster_mrna"),
    pytest.param(ADULT, az_primary(), "spikevax", TODAY, DueDose(3, 1), id="heterologous_booster_spikevax"),
    pytest.param(
        ADULT,
        doses(("bbibp", D(2021, 3, 1)), ("bbibp", D(2021, 3, 22))),
        "comirnaty_30",
        D(2021, 3, 22) + 120 * DAY,
        DueDose(3, 1),
        id="booster_after_sinopharm_waits_sinopharms_longer_interval",
    ),
    pytest.param(
        ADULT,
        [*az_primary(), Dose("comirnaty_30", 3, D(2021, 9, 1))],
        "spikevax",
        D(2021, 9, 1) + 90 * DAY,
        DueDose(4, 2),
        id="second_booster_adult",
    ),
    pytest.param(
        ADULT,
        doses(("abdala", D(2021, 8, 1)), ("abdala", D(2021, 8, 15))),
        "abdala",
        D(2021, 8, 29),
        DueDose(3, 0),
        id="third_primary_dose_of_three_dose_series",
    ),
    pytest.param(
        D(2009, 12, 1),
        doses(("comirnaty_10", D(2021, 11, 20))),
        "comirnaty_30",
        D(2021, 12, 11),
        DueDose(2, 0),
        id="turned_12_mid_series_same_family",
    ),
    pytest.param(D(2016, 9, 1), [], "comirnaty_10", D(2021, 9, 1), DueDose(1, 0), id="on_5th_birthday"),
    pytest.param(D(2016, 2, 29), [], "comirnaty_10", D(2021, 3, 1), DueDose(1, 0), id="leap_day_5th_birthday"),
    pytest.param(
        D(2009, 9, 1),
        doses(("comirnaty_10", D(2021, 1, 1)), ("comirnaty_10", D(2021, 1, 22))),
        "comirnaty_30",
        D(2021, 9, 1),
        DueDose(3, 1),
        id="on_12th_birthday_first_booster",
    ),
    pytest.param(
        D(2003, 9, 1),
        doses(("comirnaty_30", D(2021, 1, 1)), ("comirnaty_30", D(2021, 1, 22)), ("comirnaty_30", D(2021, 5, 1))),
        "comirnaty_30",
        D(2021, 9, 1),
        DueDose(4, 2),
        id="on_18th_birthday_second_booster",
    ),
    pytest.param(
        D(2004, 2, 29),
        doses(("comirnaty_30", D(2021, 1, 1)), ("comirnaty_30", D(2021, 1, 22)), ("comirnaty_30", D(2021, 5, 1))),
        "comirnaty_30",
        D(2022, 3, 1),
        DueDose(4, 2),
        id="leap_day_18th_birthday_second_booster",
    ),
    pytest.param(D(1956, 9, 1), [], "abdala", D(2021, 9, 1), DueDose(1, 0), id="product_max_age_inclusive"),
    pytest.param(ADULT, list(reversed(az_primary())), "spikevax", TODAY, DueDose(3, 1), id="history_in_any_order"),
]


@pytest.mark.parametrize(("birth", "history", "product", "on", "due"), OK_CASES)
def test_ok__eligible(birth, history, product, on, due):
    result = assess(birth, history, product, on, catalogue=CATALOGUE)
    assert (result.eligible, result.reason, result.dose, result.earliest) == (True, None, due, None)
    english, vietnamese = ELIGIBLE[due.kind]
    assert result.message_en == english.format(number=due.number, booster=due.booster)
    assert result.message_vi == vietnamese.format(number=due.number, booster=due.booster)


def test_ok__eligible_sentences():
    first = assess(ADULT, [], "vaxzevria", TODAY, catalogue=CATALOGUE)
    assert (first.message_en, first.message_vi) == ("Eligible for dose 1: primary series.", "Đủ điều kiện tiêm mũi 1 (mũi cơ bản).")
    booster = assess(ADULT, az_primary(), "spikevax", TODAY, catalogue=CATALOGUE)
    assert booster.message_en == "Eligible for dose 3: booster 1."
    assert booster.message_vi == "Đủ điều kiện tiêm mũi 3 (mũi nhắc lại lần 1)."
    assert (first.dose.kind, booster.dose.kind) == ("primary", "booster")


def test_ok__mixed_primary_by_override_waits_the_longer_interval():
    history = doses(("vaxzevria", D(2021, 6, 1)))
    assert assess(ADULT, history, "comirnaty_30", D(2021, 6, 29), catalogue=CATALOGUE).reason == "product_mismatch"
    mixed = assess(ADULT, history, "comirnaty_30", D(2021, 6, 29), catalogue=CATALOGUE, mixed_primary=True)
    assert (mixed.eligible, mixed.dose) == (True, DueDose(2, 0))
    short = assess(ADULT, history, "comirnaty_30", D(2021, 6, 28), catalogue=CATALOGUE, mixed_primary=True)
    assert (short.reason, short.earliest) == ("too_soon", D(2021, 6, 29))


# --- ineligible ------------------------------------------------------------

TEEN = D(2005, 3, 10)  # 16 on TODAY
CHILD = D(2012, 5, 20)  # 9 on TODAY
TEEN_BOOSTED = doses(("comirnaty_30", D(2021, 1, 1)), ("comirnaty_30", D(2021, 1, 22)), ("comirnaty_30", D(2021, 5, 1)))

FAIL_CASES = [
    pytest.param(ADULT, [], "covaxin", TODAY, "unknown_product", None, id="unknown_product"),
    pytest.param(D(2020, 1, 1), [], "covaxin", TODAY, "unknown_product", None, id="unknown_product_before_age"),
    pytest.param(ADULT, [Dose("vaxzevria", 2, D(2021, 6, 1))], "vaxzevria", TODAY, "history_inconsistent", None, id="no_dose_1"),
    pytest.param(
        ADULT, [Dose("vaxzevria", 1, D(2021, 5, 1)), Dose("vaxzevria", 3, D(2021, 6, 1))], "vaxzevria", TODAY,
        "history_inconsistent", None, id="gap_in_dose_numbers",
    ),
    pytest.param(
        ADULT, [Dose("vaxzevria", 1, D(2021, 5, 1)), Dose("spikevax", 1, D(2021, 6, 1))], "vaxzevria", TODAY,
        "history_inconsistent", None, id="dose_number_repeated",
    ),
    pytest.param(
        ADULT, doses(("vaxzevria", D(2021, 6, 1)), ("vaxzevria", D(2021, 5, 1))), "vaxzevria", TODAY,
        "history_inconsistent", None, id="dose_2_before_dose_1",
    ),
    pytest.param(
        ADULT, doses(("vaxzevria", TODAY + DAY)), "vaxzevria", TODAY, "history_inconsistent", None, id="dose_in_future"
    ),
    pytest.param(
        ADULT, doses(("vaxzevria", ADULT - DAY)), "vaxzevria", TODAY, "history_inconsistent", None, id="dose_before_birth"
    ),
    pytest.param(ADULT, [Dose("vaxzevria", 0, D(2021, 6, 1))], "vaxzevria", TODAY, "history_inconsistent", None, id="dose_0"),
    pytest.param(
        ADULT, doses(("covaxin", D(2021, 3, 1)), ("covaxin", D(2021, 4, 1))), "spikevax", TODAY,
        "unknown_history_product", None, id="unknown_history_product",
    ),
    pytest.param(D(2016, 9, 2), [], "comirnaty_10", TODAY, "too_young", None, id="day_before_5th_birthday"),
    pytest.param(D(2016, 2, 29), [], "comirnaty_10", D(2021, 2, 28), "too_young", None, id="leap_day_birth_28_feb"),
    pytest.param(D(2021, 1, 1), [], "comirnaty_10", TODAY, "too_young", None, id="baby"),
    pytest.param(
        CHILD, doses(("comirnaty_10", D(2021, 1, 1)), ("comirnaty_10", D(2021, 1, 22))), "comirnaty_10", TODAY,
        "series_complete", None, id="child_series_complete",
    ),
    pytest.param(
        D(2009, 9, 2), doses(("comirnaty_10", D(2021, 1, 1)), ("comirnaty_10", D(2021, 1, 22))), "comirnaty_30", TODAY,
        "series_complete", None, id="day_before_12th_birthday",
    ),
    pytest.param(TEEN, TEEN_BOOSTED, "comirnaty_30", TODAY, "booster_limit", None, id="teen_second_booster"),
    pytest.param(D(2003, 9, 2), TEEN_BOOSTED, "comirnaty_30", TODAY, "booster_limit", None, id="day_before_18th_birthday"),
    pytest.param(D(2004, 2, 29), TEEN_BOOSTED, "comirnaty_30", D(2022, 2, 28), "booster_limit", None, id="leap_day_17"),
    pytest.param(
        ADULT, [*az_primary(), Dose("spikevax", 3, D(2021, 9, 1)), Dose("spikevax", 4, D(2022, 1, 1))], "spikevax",
        D(2022, 6, 1), "booster_limit", None, id="adult_catalogue_cap",
    ),
    pytest.param(TEEN, [], "vaxzevria", TODAY, "product_not_for_age", DueDose(1, 0), id="adult_only_product_teen"),
    pytest.param(D(2009, 9, 1), [], "comirnaty_10", TODAY, "product_not_for_age", DueDose(1, 0), id="paediatric_at_12"),
    pytest.param(CHILD, [], "comirnaty_30", TODAY, "product_not_for_age", DueDose(1, 0), id="adult_formulation_at_9"),
    pytest.param(D(1955, 9, 1), [], "abdala", TODAY, "product_not_for_age", DueDose(1, 0), id="above_product_max_age"),
    pytest.param(D(2003, 9, 1), [], "abdala", TODAY, "product_not_for_age", DueDose(1, 0), id="below_product_min_age_adult"),
    pytest.param(ADULT, az_primary(), "abdala", TODAY, "product_not_for_booster", DueDose(3, 1), id="abdala_as_booster"),
    pytest.param(ADULT, az_primary(), "bbibp", TODAY, "product_not_for_booster", DueDose(3, 1), id="sinopharm_as_booster"),
    pytest.param(
        ADULT, doses(("vaxzevria", D(2021, 6, 1))), "spikevax", TODAY, "product_mismatch", DueDose(2, 0),
        id="mixed_primary_without_override",
    ),
    pytest.param(
        ADULT, doses(("abdala", D(2021, 6, 1)), ("abdala", D(2021, 6, 15))), "comirnaty_30", TODAY, "product_mismatch",
        DueDose(3, 0), id="third_dose_of_abdala_series_with_other_product",
    ),
    # Two rules broken at once: the earlier one in REASONS order is the reason.
    pytest.param(
        D(2020, 1, 1), doses(("covaxin", D(2021, 3, 1))), "vaxzevria", TODAY, "unknown_history_product", None,
        id="unknown_history_product_before_too_young",
    ),
    pytest.param(TEEN, TEEN_BOOSTED, "vaxzevria", TODAY, "booster_limit", None, id="booster_limit_before_product_age"),
    pytest.param(
        TEEN, doses(("comirnaty_30", D(2021, 8, 30))), "spikevax", TODAY, "product_mismatch", DueDose(2, 0),
        id="product_mismatch_before_too_soon",
    ),
    pytest.param(
        CHILD, doses(("comirnaty_10", D(2021, 8, 30))), "comirnaty_30", TODAY, "product_not_for_age", DueDose(2, 0),
        id="product_not_for_age_before_too_soon",
    ),
]


@pytest.mark.parametrize(("birth", "history", "product", "on", "reason", "due"), FAIL_CASES)
def test_fail__ineligible(birth, history, product, on, reason, due):
    result = assess(birth, history, product, on, catalogue=CATALOGUE)
    assert (result.eligible, result.reason, result.dose, result.earliest) == (False, reason, due, None)
    assert (result.message_en, result.message_vi) == REASONS[reason]


TOO_SOON_CASES = [
    pytest.param(doses(("vaxzevria", D(2021, 6, 1))), "vaxzevria", D(2021, 6, 28), DueDose(2, 0), id="primary_one_day_short"),
    pytest.param(doses(("vaxzevria", D(2021, 6, 1))), "vaxzevria", D(2021, 6, 1), DueDose(2, 0), id="primary_same_day"),
    pytest.param(az_primary(), "vaxzevria", D(2021, 8, 29), DueDose(3, 1), id="booster_one_day_short"),
    pytest.param(az_primary(), "comirnaty_30", D(2021, 8, 29), DueDose(3, 1), id="heterologous_booster_one_day_short"),
    pytest.param(
        doses(("bbibp", D(2021, 3, 1)), ("bbibp", D(2021, 3, 22))), "comirnaty_30", D(2021, 3, 22) + 119 * DAY,
        DueDose(3, 1), id="booster_after_sinopharm_one_day_short_of_its_interval",
    ),
]


@pytest.mark.parametrize(("history", "product", "on", "due"), TOO_SOON_CASES)
def test_fail__too_soon_gives_the_earliest_date(history, product, on, due):
    result = assess(ADULT, history, product, on, catalogue=CATALOGUE)
    assert (result.eligible, result.reason, result.dose) == (False, "too_soon", due)
    assert assess(ADULT, history, product, result.earliest, catalogue=CATALOGUE).eligible
    assert not assess(ADULT, history, product, result.earliest - DAY, catalogue=CATALOGUE).eligible
    english, vietnamese = REASONS["too_soon"]
    earliest = result.earliest
    assert result.message_en == english.format(earliest=earliest.isoformat())
    assert result.message_vi == vietnamese.format(earliest=f"{earliest.day:02d}/{earliest.month:02d}/{earliest.year}")


def test_fail__too_soon_sentence():
    result = assess(ADULT, doses(("vaxzevria", D(2021, 9, 1))), "vaxzevria", D(2021, 9, 5), catalogue=CATALOGUE)
    assert result.earliest == D(2021, 9, 29)
    assert result.message_en == "It is too soon for the next dose; it can be given from 2021-09-29."
    assert result.message_vi.endswith("có thể tiêm từ ngày 29/09/2021.")


def test_fail__table_covers_every_reason():
    tested = {case.values[4] for case in FAIL_CASES} | {"too_soon"}
    assert tested == set(REASONS)


def test_fail__rules_are_checked_in_documented_order():
    docs = DOCS.read_text(encoding="utf-8")
    documented = re.findall(r"^### `([a-z0-9_]+)`", docs, re.M)
    assert documented == list(REASONS)


# --- age bands -------------------------------------------------------------


def test_ok__custom_bands():
    bands = [AgeBand(3, 17, 0), AgeBand(18, None, 1)]
    assert assess(D(2017, 1, 1), [], "comirnaty_10", TODAY, catalogue=CATALOGUE).reason == "too_young"
    assert assess(D(2017, 1, 1), [], "comirnaty_10", TODAY, catalogue=CATALOGUE, bands=bands).reason == "product_not_for_age"
    boosted = [*az_primary(), Dose("spikevax", 3, D(2021, 9, 1))]
    assert assess(ADULT, boosted, "spikevax", D(2022, 6, 1), catalogue=CATALOGUE, bands=bands).reason == "booster_limit"


def test_ok__band_never_offers_more_than_the_catalogue():
    generous = [AgeBand(5, 17, 0), AgeBand(18, None, 5)]
    boosted = [*az_primary(), Dose("spikevax", 3, D(2021, 9, 1)), Dose("spikevax", 4, D(2022, 1, 1))]
    assert assess(ADULT, boosted, "spikevax", D(2022, 6, 1), catalogue=CATALOGUE, bands=generous).reason == "booster_limit"


BAD_BANDS = [
    pytest.param([], "bands", id="none"),
    pytest.param([AgeBand(5, 11, 0), AgeBand(13, None, 1)], "bands[1].min_age", id="gap"),
    pytest.param([AgeBand(5, 11, 0), AgeBand(11, None, 1)], "bands[1].min_age", id="overlap"),
    pytest.param([AgeBand(5, 11, 0), AgeBand(12, 17, 1)], "bands[1].max_age", id="last_closed"),
    pytest.param([AgeBand(5, None, 0), AgeBand(12, None, 1)], "bands[0].max_age", id="first_open"),
    pytest.param([AgeBand(12, 5, 0), AgeBand(6, None, 1)], "bands[0].max_age", id="reversed"),
    pytest.param([AgeBand(5, None, -1)], "bands[0].max_boosters", id="negative_boosters"),
]


@pytest.mark.parametrize(("bands", "key"), BAD_BANDS)
def test_fail__bad_bands_raise(bands, key):
    with pytest.raises(CatalogueError, match=re.escape(key)):
        assess(ADULT, [], "vaxzevria", TODAY, catalogue=CATALOGUE, bands=bands)


def test_fail__assessed_before_birth_is_a_programming_error():
    with pytest.raises(RuleInputError):
        assess(ADULT, [], "vaxzevria", ADULT - DAY, catalogue=CATALOGUE)


HISTORY = st.lists(
    st.builds(
        Dose,
        st.sampled_from([*CATALOGUE.products, "covaxin"]),
        st.integers(0, 6),
        st.dates(D(2021, 1, 1), D(2023, 1, 1)),
    ),
    max_size=6,
)


# Numbered 1..n with dates in order from 2021-01-01: these reach the rules past the history checks.
ORDERED_HISTORY = st.lists(st.tuples(st.sampled_from(list(CATALOGUE.products)), st.integers(0, 120)), max_size=5).map(
    lambda items: doses(*[(p, D(2021, 1, 1) + sum(g for _, g in items[: i + 1]) * DAY) for i, (p, _) in enumerate(items)])
)


@settings(max_examples=400, deadline=None)
@given(
    st.dates(D(1930, 1, 1), D(2020, 12, 31)),
    st.one_of(HISTORY, ORDERED_HISTORY),
    st.sampled_from([*CATALOGUE.products, "x"]),
    st.booleans(),
)
def test_ok__any_person_gets_an_answer_never_an_exception(birth, history, product, mixed):
    result = assess(birth, history, product, D(2022, 6, 1), catalogue=CATALOGUE, mixed_primary=mixed)
    assert result.reason is None or result.reason in REASONS
    assert (result.earliest is not None) == (result.reason == "too_soon")
    if result.eligible:
        assert result.dose.number == len(history) + 1


# --- the catalogue file ------------------------------------------------------


def test_ok__packaged_catalogue_loads_and_says_it_is_unverified():
    catalogue = load_catalogue()
    assert catalogue == load_catalogue(PACKAGED)
    assert catalogue.status == "unverified" and catalogue.source == ""
    assert set(catalogue.products) == {
        "vaxzevria", "comirnaty_30", "comirnaty_10", "spikevax", "bbibp", "abdala", "sputnik_v",
    }
    assert catalogue.bands == DEFAULT_BANDS
    assert "UNVERIFIED" in PACKAGED.read_text(encoding="utf-8")
    assert catalogue.products["comirnaty_10"].family == catalogue.products["comirnaty_30"].family == "comirnaty"


def test_ok__docs_list_the_packaged_products():
    docs = DOCS.read_text(encoding="utf-8")
    for code in load_catalogue().products:
        assert f"| `{code}` |" in docs, f"{code} is missing from docs/workflow.md"


def test_ok__catalogue_defaults():
    catalogue = parse_catalogue(HEADER + PRODUCTS)
    assert catalogue.bands == DEFAULT_BANDS
    assert catalogue.products["vaxzevria"].family == "vaxzevria"
    assert catalogue.products["vaxzevria"].max_age is None
    assert catalogue.products["abdala"].max_age == 65


def test_ok__verified_catalogue_names_its_source():
    text = HEADER.replace('"unverified"', '"verified"') + 'source = "Bộ Y tế, quyết định số …"\n' + PRODUCTS
    assert parse_catalogue(text).status == "verified"


def test_ok__bands_from_the_file():
    text = HEADER + "[[bands]]\nmin_age = 3\nmax_age = 17\nmax_boosters = 0\n[[bands]]\nmin_age = 18\n" + PRODUCTS
    assert parse_catalogue(text).bands == (AgeBand(3, 17, 0), AgeBand(18, None, None))


def edit(old: str, new: str) -> str:
    """The test catalogue with one piece of text replaced."""
    text = HEADER + PRODUCTS
    assert old in text
    return text.replace(old, new, 1)


CATALOGUE_FAIL = [
    pytest.param(edit("schema = 1\n", "schema = 1\nversion = 3\n"), "unknown key version", id="unknown_top_key"),
    pytest.param(edit("primary_doses = 2", "primary_dose = 2"), "unknown key products.vaxzevria.primary_dose", id="typo"),
    pytest.param(edit('name = "AZ"', 'name = "AZ"\nmax_dose = 3'), "unknown key products.vaxzevria.max_dose", id="unknown_product_key"),
    pytest.param(HEADER + "[[bands]]\nmin_age = 5\nmaximum = 9\n" + PRODUCTS, "unknown key bands[0].maximum", id="unknown_band_key"),
    pytest.param(edit("schema = 1\n", ""), "schema: missing", id="missing_schema"),
    pytest.param(edit('status = "unverified"\n', ""), "status: missing", id="missing_status"),
    pytest.param(edit("max_boosters = 2\n", ""), "max_boosters: missing", id="missing_max_boosters"),
    pytest.param(HEADER, "products: missing", id="missing_products"),
    pytest.param(HEADER + "[products]\n", "products: the catalogue lists no product", id="no_products"),
    pytest.param(edit("booster_interval_days = 90\n", ""), "products.vaxzevria.booster_interval_days: missing", id="missing_key"),
    pytest.param(edit("min_age = 18", 'min_age = "18"'), "products.vaxzevria.min_age: expected an integer, got a string", id="string_age"),
    pytest.param(edit("min_age = 18", "min_age = true"), "products.vaxzevria.min_age: expected an integer", id="bool_age"),
    pytest.param(edit("min_age = 18", "min_age = 18.0"), "products.vaxzevria.min_age: expected an integer, got a float", id="float_age"),
    pytest.param(edit("booster = true", "booster = 1"), "products.vaxzevria.booster: expected true or false", id="int_booster"),
    pytest.param(edit("min_age = 18", "min_age = -1"), "products.vaxzevria.min_age: must not be negative", id="negative_age"),
    pytest.param(edit("primary_interval_days = 28", "primary_interval_days = -28"), "primary_interval_days", id="negative_days"),
    pytest.param(edit("primary_doses = 2", "primary_doses = 0"), "products.vaxzevria.primary_doses: must be at least 1", id="no_doses"),
    pytest.param(edit("max_age = 65", "max_age = 18"), "products.abdala.max_age: must not be below min_age", id="max_below_min"),
    pytest.param(edit("[products.vaxzevria]", "[products.Vaxzevria]"), "products.Vaxzevria: a product code", id="bad_code"),
    pytest.param(edit("[products.vaxzevria]", '[products."az vx"]'), 'products.az vx: a product code', id="code_with_space"),
    pytest.param(edit("[products.vaxzevria]", f"[products.{'v' * 41}]"), "a product code is at most 40 characters", id="code_too_long"),
    pytest.param(edit("schema = 1", "schema = 2"), "schema: this kiosk reads catalogue schema 1, got 2", id="schema_2"),
    pytest.param(edit('"unverified"', '"checked"'), "status: expected one of unverified, verified", id="bad_status"),
    pytest.param(edit('"unverified"', '"verified"'), "source: a verified catalogue must name", id="verified_no_source"),
    pytest.param(edit("max_boosters = 2", "max_boosters = -1"), "max_boosters: must not be negative", id="negative_cap"),
    pytest.param(HEADER + 'products = "all"\n', "products: expected a table, got a string", id="products_not_table"),
    pytest.param(HEADER + 'products = {az = 1}\n', "products.az: expected a table", id="product_not_table"),
    pytest.param(HEADER + "bands = []\n" + PRODUCTS, "bands: expected one or more", id="empty_bands"),
    pytest.param(HEADER + "bands = [1]\n" + PRODUCTS, "bands[0]: expected a table", id="band_not_table"),
    pytest.param(
        HEADER + "[[bands]]\nmin_age = 5\nmax_age = 11\n[[bands]]\nmin_age = 13\n" + PRODUCTS, "bands[1].min_age", id="band_gap"
    ),
    pytest.param(HEADER + "[[bands]]\nmin_age = 5\nmax_age = 11\n" + PRODUCTS, "bands[0].max_age", id="band_closed"),
    pytest.param("schema = 1\nstatus = ", "catalogue is not valid TOML", id="bad_toml"),
]


@pytest.mark.parametrize(("text", "message"), CATALOGUE_FAIL)
def test_fail__catalogue(text, message):
    with pytest.raises(CatalogueError) as caught:
        parse_catalogue(text)
    assert message in str(caught.value)
    assert isinstance(caught.value, VaccinesError) and isinstance(caught.value, ValueError)


def test_fail__catalogue_file_missing(tmp_path):
    with pytest.raises(CatalogueError, match="cannot read catalogue"):
        load_catalogue(tmp_path / "absent.toml")


def test_fail__catalogue_file_not_utf8(tmp_path):
    path = tmp_path / "catalogue.toml"
    path.write_bytes((HEADER + PRODUCTS).replace("AZ", "V\xe1c xin").encode("latin-1"))  # not UTF-8
    with pytest.raises(CatalogueError):
        load_catalogue(path)


def test_ok__catalogue_file(tmp_path):
    path = tmp_path / "catalogue.toml"
    path.write_text(HEADER + PRODUCTS, encoding="utf-8")
    assert load_catalogue(path) == CATALOGUE


def test_ok__catalogue_is_read_only():
    with pytest.raises(TypeError):
        CATALOGUE.products["x"] = CATALOGUE.products["vaxzevria"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        CATALOGUE.max_boosters = 9


# --- sentences and documentation ---------------------------------------------

SENTENCES = [pytest.param(code, *pair, id=code) for code, pair in REASONS.items()]


@pytest.mark.parametrize(("code", "message_en", "message_vi"), SENTENCES)
def test_ok__reason_codes_and_sentences_are_well_formed(code, message_en, message_vi):
    assert re.fullmatch(r"[a-z0-9]+(?:_[a-z0-9]+)*", code)
    assert message_en.endswith(".") and message_vi.endswith(".")
    assert unicodedata.is_normalized("NFC", message_vi)
    assert any(letter in message_vi for letter in "ăâđêôơưàảãáạèẻẽéẹìỉĩíịòỏõóọùủũúụỳỷỹýỵ")


@pytest.mark.parametrize(("code", "message_en", "message_vi"), SENTENCES)
def test_ok__reason_code_is_documented(code, message_en, message_vi):
    docs = DOCS.read_text(encoding="utf-8")
    assert f"### `{code}`" in docs, f"{code} is missing from docs/workflow.md"
    assert message_en in docs, f"the English sentence of {code} differs in docs/workflow.md"
    assert message_vi in docs, f"the Vietnamese sentence of {code} differs in docs/workflow.md"


def test_ok__eligible_sentences_are_documented():
    docs = DOCS.read_text(encoding="utf-8")
    for english, vietnamese in ELIGIBLE.values():
        assert english in docs and vietnamese in docs


@pytest.mark.parametrize("key", sorted({*TOP_KEYS, *PRODUCT_KEYS, *BAND_KEYS}))
def test_ok__every_catalogue_key_is_documented(key):
    assert f"| `{key}` |" in DOCS.read_text(encoding="utf-8"), f"catalogue key {key} is missing from docs/workflow.md"

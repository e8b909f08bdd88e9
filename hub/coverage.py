"""Coverage against the roster, pure: the age bands as of a day, a person's dose level, their next dose and since when.

A person on the roster is counted in the band of the age they have on the day
asked for (``as_of``), so the same figures change as people have birthdays.
A roster birth date of the year only ("1957") counts as 1 January of that
year: the person is counted by the age they reach in the as-of year.

A person's level, from their live (not voided) doses: 0 none, 1 at least one
dose, 2 primary series complete (the catalogue's ``primary_doses`` of the
product of their lowest-numbered dose), 3 first booster, 4 second booster. A
dose recorded as number N counts as the person's Nth dose (the kiosk numbers
doses from the person's history), and a dose the kiosk recorded as booster N
counts as booster N.

Which dose is due next and from when is vaccines/eligibility.py's rule, not a
second one: ``next_due`` asks its functions (due_dose, product_reason,
course_reason, earliest_date, history_consistent) for every product of the
catalogue and turns the ages at which they allow a dose into dates.
"""

from __future__ import annotations

import datetime
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

from vaccines.catalogue import Catalogue
from vaccines.eligibility import (Dose, DueDose, band_for, course_reason, due_dose, earliest_date, history_consistent,
                                  product_reason)


class Band(NamedTuple):
    """Ages min_age to max_age in whole years, inclusive (None: no upper end)."""

    name: str
    min_age: int
    max_age: int | None


BANDS = (Band("5-11", 5, 11), Band("12-17", 12, 17), Band("18-49", 18, 49), Band("50-64", 50, 64), Band("65+", 65, None))
"""The report's bands, youngest first; contiguous, the last open-ended. Younger people are counted apart (under_5)."""
LEVELS = ("one_dose", "primary", "booster_1", "booster_2")
"""The columns of the report: level n (1-4) is LEVELS[n - 1]; a person at level n counts in every column up to n."""


class DoseFact(NamedTuple):
    """What coverage reads of one live dose (a row of the derived table ``doses``)."""

    product: str
    number: int
    booster: int | None
    given_on: str
    """yyyy-mm-dd"""


@dataclass(frozen=True)
class Due:
    """The next dose (number, and booster number or 0) and the days it may be given: from ``on`` until the day before
    ``until`` (None: no end)."""

    number: int
    booster: int
    on: datetime.date
    until: datetime.date | None = None

    def covers(self, day: datetime.date) -> bool:
        """Whether the dose may be given on day (it is due, or overdue, then)."""
        return self.on <= day and (self.until is None or day < self.until)


def commune_key(commune: str, district: str = "") -> str:
    """A short opaque key for a commune's name, for URLs and the audit log (12 hex digits of its SHA-256); at a province,
    of the district's name and the commune's (a commune's name may recur in another district), a district hub's keys
    (no district) as they were."""
    text = f"{district}\n{commune}" if district else commune  # a roster's names hold no control character
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def birth_day(text: str) -> datetime.date:
    """The birth date a roster entry holds ("yyyy-mm-dd", or "yyyy": 1 January); raise ValueError for anything else."""
    if len(text) == 4 and text.isdigit():
        return datetime.date(int(text), 1, 1)
    return datetime.date.fromisoformat(text)


def birthday(birth: datetime.date, age: int) -> datetime.date:
    """The first day on which someone born on ``birth`` is ``age`` years old (born on 29 February: 1 March in other
    years, as eligibility.age_on counts)."""
    try:
        return birth.replace(year=birth.year + age)
    except ValueError:
        return datetime.date(birth.year + age, 3, 1)


def latest_birth(on: datetime.date, age: int) -> datetime.date:
    """The latest birth date of someone at least ``age`` years old on ``on`` (on 29 February: 28 February in a year
    that has no 29th)."""
    try:
        return on.replace(year=on.year - age)
    except ValueError:
        return datetime.date(on.year - age, 2, 28)


def band_thresholds(on: datetime.date) -> list[datetime.date]:
    """For each band, the latest birth date in it on ``on``: band i holds birth dates b with
    thresholds[i + 1] < b <= thresholds[i] (the last band: b <= thresholds[-1]); later births are under 5."""
    return [latest_birth(on, band.min_age) for band in BANDS]


def band_index(birth: datetime.date, thresholds: Sequence[datetime.date]) -> int:
    """The index in BANDS of a birth date's band (band_thresholds), or -1 when younger than every band."""
    return sum(1 for threshold in thresholds if birth <= threshold) - 1


def level(doses: Sequence[DoseFact], catalogue: Catalogue) -> int:
    """The person's level from their live doses: 0 none, 1 a dose, 2 primary series complete, 3 and 4 boosters."""
    if not doses:
        return 0
    first = min(doses, key=lambda d: (d.number, d.given_on, d.product))
    series = catalogue.products.get(first.product)
    top = max(d.number for d in doses)
    boosters = max((d.booster for d in doses if type(d.booster) is int), default=0)
    if series is not None:
        boosters = max(boosters, top - series.primary_doses)
    if boosters >= 1:
        return 3 if boosters == 1 else 4
    return 2 if series is not None and top >= series.primary_doses else 1


def history(doses: Sequence[DoseFact]) -> list[Dose] | None:
    """The live doses as eligibility reads a history: one dose per number (the one given first), by number; None when
    a day is not a date."""
    kept: dict[int, Dose] = {}
    try:
        for fact in sorted(doses, key=lambda d: (d.given_on, d.product)):
            kept.setdefault(fact.number, Dose(fact.product, fact.number, datetime.date.fromisoformat(fact.given_on)))
    except ValueError:
        return None
    return [kept[number] for number in sorted(kept)]


def next_due(birth: datetime.date, doses: Sequence[DoseFact], catalogue: Catalogue) -> Due | None:
    """The next dose and the first span of days on which eligibility.assess allows it with some product of the
    catalogue; None when no dose will be offered (series or boosters complete for good) or the record cannot be read
    as a series (a dose number missing or repeated, a product not in the catalogue): that is the data staff's."""
    past = history(doses)
    if past is None:
        return None
    start = past[-1].given_on if past else birth
    if not history_consistent(past, birth, start):
        return None
    if any(d.product not in catalogue.products for d in past):
        return None
    spans = []
    for due, days, windows in offers(catalogue, past):
        earliest = start + datetime.timedelta(days=days)
        for first_age, last_age in windows:
            begin = max(birthday(birth, first_age), earliest)
            end = birthday(birth, last_age + 1) if last_age is not None else None
            if end is None or begin < end:
                spans.append((begin, end, due))
    return first_span(spans)


def first_due(birth_date: str, catalogue: Catalogue) -> Due | None:
    """next_due for someone with no dose yet (most of a new roster), from the roster's birth date text; worked out once
    per birth date."""
    known = rules(catalogue)
    key = ("first", birth_date)
    if key not in known:
        known[key] = next_due(birth_day(birth_date), (), catalogue)
    return known[key]


def first_span(spans: list[tuple[datetime.date, datetime.date | None, DueDose]]) -> Due | None:
    """The earliest of the spans, joined with those that overlap or touch it."""
    if not spans:
        return None
    spans.sort(key=lambda span: span[0])
    begin, end, due = spans[0]
    for other_begin, other_end, _ in spans[1:]:
        if end is not None and other_begin > end:
            break
        end = None if end is None or other_end is None else max(end, other_end)
    return Due(due.number, due.booster, begin, end)


Windows = tuple[tuple[int, int | None], ...]
_RULES: dict[int, tuple[Catalogue, dict]] = {}


def rules(catalogue: Catalogue) -> dict:
    """What next_due has worked out of this catalogue so far (the catalogue is immutable, so it never goes stale): a
    few hundred offers and age windows, and a first dose's due per birth date (tens of thousands at most)."""
    cached = _RULES.get(id(catalogue))
    if cached is None or cached[0] is not catalogue:
        cached = _RULES[id(catalogue)] = (catalogue, {})
    return cached[1]


def offers(catalogue: Catalogue, past: list[Dose]) -> list[tuple[DueDose, int, Windows]]:
    """For each product that may give the next dose at some age: the dose (eligibility.due_dose), the days it must wait
    after the last dose (eligibility.min_interval_days; 0 for a first dose) and the ages it may be given at.

    eligibility reads of a history only its length and the products of its first and last doses for these, so the
    answer is worked out once per (first product, last product, length); the dates are next_due's. The same (dose,
    wait, ages) from several products is one offer."""
    key = ("offers", past[0].product, past[-1].product, len(past)) if past else ("offers",)
    known = rules(catalogue)
    if key not in known:
        found = set()
        for product in catalogue.products.values():
            due = due_dose(past, product, catalogue)
            if product_reason(due, past, product, product.min_age, catalogue, mixed_primary=False) is not None:
                continue  # not a booster product, or another family than dose 1's: at no age
            days = (earliest_date(due, past, product, catalogue) - past[-1].given_on).days if past else 0
            found.add((due, days, age_windows(catalogue, product.code, due.booster)))
        known[key] = sorted(found, key=repr)
    return known[key]


def age_windows(catalogue: Catalogue, product: str, booster: int) -> Windows:
    """The ranges of ages (inclusive; None: no upper end) at which ``product`` may be given as booster ``booster`` (0: a
    primary dose): the product fits the age (Product.fits_age) and the age's catalogue band offers that many boosters
    (eligibility.band_for, course_reason)."""
    key = ("ages", product, booster)
    known = rules(catalogue)
    if key not in known:
        known[key] = runs(lambda age: offered_at(catalogue, product, booster, age), last_change(catalogue))
    return known[key]


def offered_at(catalogue: Catalogue, product: str, booster: int, age: int) -> bool:
    band = band_for(age, catalogue.bands)
    return (catalogue.products[product].fits_age(age) and band is not None
            and course_reason(DueDose(booster + 1, booster), band, catalogue) is None)


def last_change(catalogue: Catalogue) -> int:
    """An age from which nothing in the catalogue changes with age any more."""
    ages = [b.min_age for b in catalogue.bands] + [b.max_age + 1 for b in catalogue.bands if b.max_age is not None]
    ages += [p.min_age for p in catalogue.products.values()]
    ages += [p.max_age + 1 for p in catalogue.products.values() if p.max_age is not None]
    return max(ages)


def runs(test, last: int) -> Windows:
    """The ranges of ages 0..last for which test holds; a range that holds at ``last`` holds from there on (None)."""
    found: list[tuple[int, int | None]] = []
    start = None
    for age in range(last + 1):
        if test(age) and start is None:
            start = age
        elif not test(age) and start is not None:
            found.append((start, age - 1))
            start = None
    if start is not None:
        found.append((start, None))
    return tuple(found)


# The outreach list as a spreadsheet (the web's export and `hub coverage outreach`)

OUTREACH_COLUMNS = ("id_number", "full_name", "birth_date", "sex", "address", "phone", "priority_group", "doses", "due",
                    "due_on")
OUTREACH_HEADERS = {
    "vi": ("Số CCCD", "Họ và tên", "Ngày sinh", "Giới tính", "Địa chỉ", "Số điện thoại", "Nhóm ưu tiên", "Số mũi đã tiêm",
           "Mũi cần tiêm", "Cần tiêm từ ngày"),
    "en": ("ID number", "Full name", "Birth date", "Sex", "Address", "Phone", "Priority group", "Doses given", "Dose due",
           "Due since"),
}
ABOUT = {
    "vi": ("Danh sách cần vận động tiêm", "Thông tin", "Xã/Phường", "Tính đến ngày", "Số người",
           "Người trong danh sách dân cư chưa tiêm mũi nào, hoặc đã đến hạn hay quá hạn tiêm mũi tiếp theo."),
    "en": ("Outreach list", "About", "Commune or ward", "As of", "People",
           "People on the roster never vaccinated, or due or overdue for their next dose."),
}


def due_label(number: int, booster: int, language: str) -> str:
    """"Mũi 3 (nhắc lại lần 1)" / "Dose 3 (booster 1)"; a primary dose: "Mũi 2" / "Dose 2"."""
    if language == "vi":
        return f"Mũi {number} (nhắc lại lần {booster})" if booster else f"Mũi {number}"
    return f"Dose {number} (booster {booster})" if booster else f"Dose {number}"


def outreach_workbook(commune: str, as_of: datetime.date, rows: Sequence[dict], language: str = "vi") -> bytes:
    """The outreach list as an XLSX file (hub/xlsx.py: every cell neutralised against formulas): the list, then a sheet
    saying which commune and day it is for and what the list holds."""
    from .xlsx import Sheet, workbook

    language = language if language in OUTREACH_HEADERS else "vi"
    title, about_title, commune_label, day_label, count_label, meaning = ABOUT[language]
    lines = ([row[key] if key != "due" else due_label(row["due_number"], row["due_booster"], language)
              for key in OUTREACH_COLUMNS] for row in rows)
    about = [(commune_label, commune), (day_label, as_of.isoformat()), (count_label, len(rows)), (meaning, "")]
    return workbook([
        Sheet(title, OUTREACH_HEADERS[language], lines, (14, 28, 12, 9, 36, 14, 14, 10, 22, 14)),
        Sheet(about_title, ("", ""), about, (40, 40)),
    ])

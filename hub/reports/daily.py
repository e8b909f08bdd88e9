"""The daily vaccination report (the MoH form of Decision 3588/QĐ-BYT, Appendix 5), shaped from the rows the hub merged.

One row per site and the district's total; per site and product the doses by number and by class (Decision
43/QĐ-BYT: primary 1-3, additional, booster 1-3) and the doses discarded; per site and age band the people
vaccinated. At a province (rows of kiosks of several districts) each site row names its district, each district has
its total, and the province's total counts a person once however many districts they came to (``provincial``).
Every figure is a set of rows the store read (hub/store/daily.py), so a count can always be listed (``behind``): the
report counts what was merged by its cut (``as_of``), a dose voided after the cut still counts in it, one merged after
it does not.
"""

from __future__ import annotations

import datetime
import functools
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

OUTCOME_FIGURES = ("present", "referred", "refused", "deferred", "contraindicated")
"""People counted once per site and day whatever they did twice: checked in, and each way of not being vaccinated."""
OUTCOME_KINDS = {"checked_in": "present", "referred": "referred", "refused": "refused", "deferred": "deferred",
                 "contraindicated": "contraindicated"}
NUMBERS = ("dose_1", "dose_2", "dose_3", "dose_4")
"""Doses by number overall (dose_4: the fourth and later)."""
CLASSES = ("primary_1", "primary_2", "primary_3", "additional", "booster_1", "booster_2", "booster_3")
"""Doses by class, Decision 43/QĐ-BYT (primary_3: the third primary dose of a three-dose series; booster_3: the
third booster and later)."""
FIGURES = (*OUTCOME_FIGURES, "vaccinated", *NUMBERS, *CLASSES, "doses_given", "doses_discarded", "doses_used",
           "reactions_common", "aefi_serious")
"""Every figure of a site's row, in the form's order."""


class Dose(NamedTuple):
    """A dose given on the day, as the store read it."""

    event_id: str
    site: str
    product: str
    lot_number: str
    number: int
    booster: int | None
    id_number: str
    birth_date: str | None
    arrived: str
    """Hub time (UTC, ISO 8601) its event was merged."""
    voided: str | None
    """Hub time the void that strikes it was merged; None: live."""
    district: str | None = None
    """The district of its kiosk (kiosks.district): at a province; None at a district hub and for the hub's own."""


class Outcome(NamedTuple):
    """A visit's outcome (hub/store/outcomes.py) on the day: checked in, not vaccinated and why, or a reaction."""

    event_id: str
    site: str
    kind: str
    id_number: str | None
    severity: str | None
    arrived: str
    voided: str | None
    district: str | None = None


class LotRow(NamedTuple):
    """A DosesWasted or LotClosed of the day, as the store read it (in each kiosk's order)."""

    event_id: str
    kiosk: str
    site: str
    kind: str
    """wasted or closed."""
    product: str
    lot_number: str
    doses: int | None
    """wasted: the doses lost."""
    wasted: int | None
    """closed: the lot's wasted total that day, the doses left in opened vials too."""
    arrived: str
    voided: str | None
    district: str | None = None


class Discard(NamedTuple):
    """Doses discarded from a lot at a site on the day (a DosesWasted, or what a LotClosed left in opened vials)."""

    event_id: str
    site: str
    product: str
    lot_number: str
    doses: int
    arrived: str
    voided: str | None
    district: str | None = None


def instant(text: str) -> datetime.datetime:
    """A hub time as an aware datetime (a time without a zone is UTC)."""
    moment = datetime.datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=datetime.timezone.utc)


def discards(lots: Iterable[LotRow], as_of: datetime.datetime | None) -> list[Discard]:
    """The doses discarded, as a hub that had merged the lot events of the cut would count them: each DosesWasted's
    doses; a LotClosed adds what its wasted total exceeds the DosesWasted of that lot and kiosk merged by then (the
    kiosk's total counts a waste it voided later too: so does the subtraction), so nothing is counted twice."""
    found, wasted_so_far = [], {}
    for row in lots:
        if as_of is not None and instant(row.arrived) > as_of:
            continue
        key = (row.kiosk, row.product, row.lot_number)
        if row.kind == "wasted":
            wasted_so_far[key] = wasted_so_far.get(key, 0) + (row.doses or 0)
            extra = row.doses or 0
        else:
            extra = max(0, (row.wasted or 0) - wasted_so_far.pop(key, 0))
        if extra:
            found.append(Discard(row.event_id, row.site, row.product, row.lot_number, extra, row.arrived, row.voided,
                                 row.district))
    return found


def live_rows(rows: DayRows, as_of: datetime.datetime | None) -> list[Dose | Outcome | Discard]:
    """Every row a report cut at ``as_of`` counts (None: now)."""
    return [*counted(rows.outcomes, as_of), *counted(rows.doses, as_of), *counted(discards(rows.lots, as_of), as_of)]


def counted(rows: Iterable[Any], as_of: datetime.datetime | None) -> list[Any]:
    """The rows a report cut at ``as_of`` counts: merged by then and not struck by then (None: now, every live row)."""
    if as_of is None:
        return [row for row in rows if row.voided is None]
    return [row for row in rows if instant(row.arrived) <= as_of and (row.voided is None or instant(row.voided) > as_of)]


def dose_class(dose: Dose, primary_doses: int) -> str:
    """primary_N, additional (a dose past the primary series that is no booster) or booster_N (capped at 3)."""
    if dose.booster:
        return f"booster_{min(dose.booster, 3)}"
    if dose.number > primary_doses:
        return "additional"
    return f"primary_{min(dose.number, 3)}"


def dose_figures(dose: Dose, primary_doses: int) -> tuple[str, str]:
    return f"dose_{min(dose.number, 4)}", dose_class(dose, primary_doses)


@functools.lru_cache(maxsize=1 << 16)
def age_band(birth_date: str | None, day: datetime.date, starts: tuple[int, ...]) -> str:
    """The band label of a person's age on ``day`` ("<5", "5-11", ..., "65+"), "unknown" without a full birth date."""
    try:
        born = datetime.date.fromisoformat(birth_date or "")
    except ValueError:
        return "unknown"
    age = day.year - born.year - ((day.month, day.day) < (born.month, born.day))
    return band_labels(starts)[sum(1 for start in starts if age >= start)]


@functools.lru_cache(maxsize=64)
def band_labels(starts: tuple[int, ...]) -> tuple[str, ...]:
    """The labels of the bands ``starts`` opens: under the first, each start to the next, the last and over."""
    if not starts:
        return ("all",)
    inner = [f"{a}-{b - 1}" for a, b in zip(starts, starts[1:])]
    return (f"<{starts[0]}", *inner, f"{starts[-1]}+")


@dataclass(frozen=True)
class DayRows:
    """Everything a day's report is made of: the day's doses, outcomes and discards, read whole (voided ones too)."""

    day: datetime.date
    doses: list[Dose]
    outcomes: list[Outcome]
    lots: list[LotRow]
    sites: list[tuple[str | None, str]]
    """The sites of the enrolled kiosks, each as (its district: None at a district hub, site): each has a row, with
    zeros when it sent nothing."""


@dataclass(frozen=True)
class Rules:
    """What the report needs besides the rows: each product's primary series length and the age bands' starts."""

    primary: Mapping[str, int]
    age_starts: tuple[int, ...]


def contributions(row: Dose | Outcome | Discard, day: datetime.date, rules: Rules) -> list[tuple[str, str, int]]:
    """The figures a row adds to, each as (figure, what is counted once: an ID number or an event id, how much)."""
    if isinstance(row, Outcome):
        if row.kind == "aefi":
            return [("aefi_serious" if row.severity == "severe" else "reactions_common", row.event_id, 1)]
        figure = OUTCOME_KINDS.get(row.kind)
        return [(figure, row.id_number, 1)] if figure and row.id_number else []
    if isinstance(row, Discard):
        return [("doses_discarded", row.event_id, row.doses), ("doses_used", row.event_id, row.doses)]
    number, kind = dose_figures(row, rules.primary.get(row.product, 2))
    return [(number, row.event_id, 1), (kind, row.event_id, 1), ("doses_given", row.event_id, 1),
            ("doses_used", row.event_id, 1), ("vaccinated", row.id_number, 1),
            (f"age:{age_band(row.birth_date, day, rules.age_starts)}", row.id_number, 1)]


def place(row: Dose | Outcome | Discard) -> tuple[str | None, str]:
    """Where a row was recorded: (its district, its site); a site's name alone may recur in two districts."""
    return row.district, row.site


def tally(rows: Iterable[Dose | Outcome | Discard], day: datetime.date, rules: Rules,
          group: Callable[[Any], Any] = place) -> tuple[dict, dict]:
    """{group: {figure: count}} and {(group, product): {figure: count}} (doses and discards), each counted thing once
    per group and figure, in one pass; a group is a place (district, site) unless ``group`` says otherwise."""
    sites: dict[Any, dict[str, dict[str, int]]] = defaultdict(lambda: defaultdict(dict))
    products: dict[Any, dict[str, dict[str, int]]] = defaultdict(lambda: defaultdict(dict))
    for row in rows:
        key = group(row)
        site, product = sites[key], None if isinstance(row, Outcome) else products[(key, row.product)]
        for figure, what, amount in contributions(row, day, rules):
            site[figure][what] = amount
            if product is not None:
                product[figure][what] = amount
    return summed(sites), summed(products)


def summed(groups: dict[Any, dict[str, dict[str, int]]]) -> dict[Any, dict[str, int]]:
    return {group: {figure: sum(things.values()) for figure, things in figures.items()} for group, figures in groups.items()}


def build(rows: DayRows, as_of: datetime.datetime | None, rules: Rules) -> dict[str, Any]:
    """The report as JSON-ready data: per site the form's figures, the district total, by product, by age band; at a
    province (a site of a district among the rows) also ``districts``, each district's total, and ``total`` is the
    province's (``provincial``)."""
    live = live_rows(rows, as_of)
    by_site, products = tally(live, rows.day, rules)
    places = sorted({*rows.sites, *by_site}, key=place_order)
    site_rows = [{**named(where), **figures_of(by_site.get(where, {}))} for where in places]
    total = {figure: sum(row[figure] for row in site_rows) for figure in FIGURES}
    bands = [*band_labels(rules.age_starts), "unknown"]
    report = {
        "day": rows.day.isoformat(), "as_of": as_of.isoformat() if as_of else None,
        "figures": list(FIGURES), "sites": site_rows, "total": total,
        "by_product": [{**named(where), "product": product, **{f: got.get(f, 0) for f in (*NUMBERS, *CLASSES,
                        "doses_given", "doses_discarded")}} for (where, product), got in sorted(products.items(),
                                                                                                key=product_order)],
        "age_bands": bands,
        "by_age": [{**named(where), **{band: by_site.get(where, {}).get(f"age:{band}", 0) for band in bands}}
                   for where in places],
    }
    if any(district for district, _site in places):
        report.update(provincial(live, rows.day, rules, bands, places))
    return report


def provincial(live: list[Dose | Outcome | Discard], day: datetime.date, rules: Rules, bands: list[str],
               places: list[tuple[str | None, str]]) -> dict[str, Any]:
    """A province's totals: per district and the province's, people counted once in each (a person vaccinated in two
    districts counts in each district and once in the province); doses and discards simply add up."""
    per_district, _products = tally(live, day, rules, group=lambda row: row.district)
    whole, _products = tally(live, day, rules, group=lambda row: None)
    districts = sorted({district for district, _site in places if district}) + (
        [None] if any(district is None for district, _site in places) else [])
    return {
        "districts": [{"district": district, "total": figures_of(per_district.get(district, {})),
                       "ages": ages_of(per_district.get(district, {}), bands)} for district in districts],
        "total": figures_of(whole.get(None, {})), "total_ages": ages_of(whole.get(None, {}), bands),
    }


def place_order(where: tuple[str | None, str]) -> tuple:
    """Districts by name, the hub's own entries (no district) last; sites by name within each."""
    return where[0] is None, where[0] or "", where[1]


def product_order(item: tuple) -> tuple:
    (where, product), _got = item
    return place_order(where), product


def named(where: tuple[str | None, str]) -> dict[str, str]:
    """A row's site and, at a province, its district (a district hub's report keeps its shape)."""
    district, site = where
    return {"site": site} if district is None else {"district": district, "site": site}


def ages_of(got: Mapping[str, int], bands: list[str]) -> dict[str, int]:
    return {band: got.get(f"age:{band}", 0) for band in bands}


def for_district(report: dict[str, Any], district: str) -> dict[str, Any]:
    """A province's report narrowed to one district: its sites, its products and ages, its total as ``total`` (what
    the report of that district's rows alone counts); a district hub's report or an unknown district: no rows."""
    mine = [entry for entry in report.get("districts", []) if entry["district"] == district]
    zero = {figure: 0 for figure in report["figures"]}
    return {**report,
            "sites": [row for row in report["sites"] if row.get("district") == district],
            "by_product": [row for row in report["by_product"] if row.get("district") == district],
            "by_age": [row for row in report["by_age"] if row.get("district") == district],
            "districts": mine, "total": mine[0]["total"] if mine else zero,
            "total_ages": mine[0]["ages"] if mine else {band: 0 for band in report["age_bands"]}}


def figures_of(got: Mapping[str, int]) -> dict[str, int]:
    return {figure: got.get(figure, 0) for figure in FIGURES}


def behind(rows: DayRows, as_of: datetime.datetime | None, rules: Rules, site: str | None,
           figure: str, district: str | None = None) -> list[Dose | Outcome | Discard]:
    """The rows behind one figure of one site (None: the district's or province's whole) of ``district`` (None: any),
    as counted: what a click on the count lists."""
    return [row for row in live_rows(rows, as_of) if (site is None or row.site == site)
            and (district is None or row.district == district)
            and any(f == figure for f, _, _ in contributions(row, rows.day, rules))]

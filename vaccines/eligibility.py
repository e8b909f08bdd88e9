"""Eligibility: which dose a person is due, with which product, from which date, or why not.

Pure rules: the caller supplies the date, the history and the catalogue. An
ineligible person is a normal result with a stable reason code (a supervisor's
override refers to it), never an exception. docs/workflow.md lists every code
and sentence; a test fails when the two disagree.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .catalogue import AgeBand, Catalogue, Product, check_bands
from .errors import RuleInputError

_ASK_EN = "A supervisor must check the record."
_ASK_VI = "Cán bộ giám sát cần kiểm tra lại hồ sơ."

REASONS: dict[str, tuple[str, str]] = {
    "unknown_product": (
        f"This vaccine product is not in the kiosk's catalogue. {_ASK_EN}",
        f"Loại vắc xin này không có trong danh mục của máy. {_ASK_VI}",
    ),
    "history_inconsistent": (
        f"The vaccination history has a missing or repeated dose number, or a date that does not fit. {_ASK_EN}",
        f"Lịch sử tiêm chủng bị thiếu hoặc trùng số mũi, hoặc có ngày tiêm không hợp lý. {_ASK_VI}",
    ),
    "unknown_history_product": (
        f"A dose in the vaccination history is of a product that is not in the kiosk's catalogue. {_ASK_EN}",
        f"Có mũi đã tiêm thuộc loại vắc xin không có trong danh mục của máy. {_ASK_VI}",
    ),
    "too_young": (
        "This person is too young for COVID-19 vaccination.",
        "Người này chưa đủ tuổi tiêm vắc xin COVID-19.",
    ),
    "series_complete": (
        "The primary series is complete, and no booster is offered at this age.",
        "Đã tiêm đủ các mũi cơ bản và độ tuổi này không được tiêm mũi nhắc lại.",
    ),
    "booster_limit": (
        "Every booster dose offered at this age has been given.",
        "Đã tiêm đủ số mũi nhắc lại dành cho độ tuổi này.",
    ),
    "product_not_for_age": (
        "This vaccine product is not approved for this person's age.",
        "Loại vắc xin này không được dùng cho độ tuổi của người này.",
    ),
    "product_not_for_booster": (
        "This vaccine product is not used for booster doses.",
        "Loại vắc xin này không được dùng để tiêm mũi nhắc lại.",
    ),
    "product_mismatch": (
        "The primary series must be completed with the same vaccine as the first dose.",
        "Các mũi cơ bản phải tiêm cùng loại vắc xin với mũi 1.",
    ),
    "too_soon": (
        "It is too soon for the next dose; it can be given from {earliest}.",
        "Chưa đủ khoảng cách tối thiểu giữa hai mũi tiêm; có thể tiêm từ ngày {earliest}.",
    ),
}
"""Reason code -> (English, Vietnamese) sentence; {earliest} is the date the dose becomes due."""

ELIGIBLE: dict[str, tuple[str, str]] = {
    "primary": ("Eligible for dose {number}: primary series.", "Đủ điều kiện tiêm mũi {number} (mũi cơ bản)."),
    "booster": (
        "Eligible for dose {number}: booster {booster}.",
        "Đủ điều kiện tiêm mũi {number} (mũi nhắc lại lần {booster}).",
    ),
}
"""Kind of dose -> (English, Vietnamese) sentence shown when the person is eligible."""


@dataclass(frozen=True)
class Dose:
    """One dose already given: local records now, the hub's roster later."""

    product: str
    number: int
    """1 for the first dose ever, counting boosters on: dose 3 after a two-dose series is booster 1."""
    given_on: datetime.date


@dataclass(frozen=True)
class DueDose:
    """The next dose: its number overall and, for a booster, which booster it is."""

    number: int
    booster: int
    """0 for a primary-series dose, N for booster N."""

    @property
    def kind(self) -> str:
        """"primary" or "booster"."""
        return "booster" if self.booster else "primary"


@dataclass(frozen=True)
class Eligibility:
    """The outcome of assess: eligible (reason None) or not, with sentences for the screen."""

    dose: DueDose | None
    """The dose that is due (perhaps with another product, or later); None when no dose can be offered."""
    reason: str | None
    """None when eligible, else a stable code from REASONS."""
    message_en: str
    message_vi: str
    earliest: datetime.date | None = None
    """For "too_soon": the first day the dose may be given."""

    @property
    def eligible(self) -> bool:
        """True when the product may be given today as self.dose."""
        return self.reason is None


def age_on(birth_date: datetime.date, on_date: datetime.date) -> int:
    """Return the age in whole years on on_date; raise RuleInputError if on_date is before birth.

    Someone born on 29 February has a birthday on 1 March in other years.
    """
    if on_date < birth_date:
        raise RuleInputError("the date assessed is before the date of birth")
    before_birthday = (on_date.month, on_date.day) < (birth_date.month, birth_date.day)
    return on_date.year - birth_date.year - before_birthday


def band_for(age: int, bands: Sequence[AgeBand]) -> AgeBand | None:
    """Return the band that contains age, or None when it is below every band."""
    return next((b for b in bands if b.min_age <= age and (b.max_age is None or age <= b.max_age)), None)


def assess(
    birth_date: datetime.date,
    history: Iterable[Dose],
    product_code: str,
    on_date: datetime.date,
    *,
    catalogue: Catalogue,
    bands: Sequence[AgeBand] | None = None,
    mixed_primary: bool = False,
) -> Eligibility:
    """Return whether product_code may be given on on_date to a person with this birth date and history.

    bands default to the catalogue's. mixed_primary=True (a supervisor's decision)
    lets a primary series continue with a product of another family. The first
    rule broken, in REASONS order, is the reason. Raises RuleInputError when
    on_date is before birth_date and CatalogueError for bad bands; never for an
    ineligible person.
    """
    bands = catalogue.bands if bands is None else check_bands(tuple(bands))
    age = age_on(birth_date, on_date)
    doses = sorted(history, key=lambda d: d.number)
    product = catalogue.products.get(product_code)
    reason = record_reason(product, doses, birth_date, on_date, catalogue) or age_reason(age, bands)
    if reason is not None:
        return refusal(reason)
    due = due_dose(doses, product, catalogue)
    reason = course_reason(due, band_for(age, bands), catalogue)
    if reason is not None:
        return refusal(reason)
    reason = product_reason(due, doses, product, age, catalogue, mixed_primary=mixed_primary)
    if reason is not None:
        return refusal(reason, due)
    earliest = earliest_date(due, doses, product, catalogue)
    if earliest is not None and on_date < earliest:
        return refusal("too_soon", due, earliest)
    return eligible(due)


def record_reason(
    product: Product | None,
    doses: Sequence[Dose],
    birth_date: datetime.date,
    on_date: datetime.date,
    catalogue: Catalogue,
) -> str | None:
    """Return why the product or the history cannot be assessed, or None."""
    if product is None:
        return "unknown_product"
    if not history_consistent(doses, birth_date, on_date):
        return "history_inconsistent"
    if any(d.product not in catalogue.products for d in doses):
        return "unknown_history_product"
    return None


def age_reason(age: int, bands: Sequence[AgeBand]) -> str | None:
    """Return "too_young" when age is below every band, else None."""
    return "too_young" if band_for(age, bands) is None else None


def course_reason(due: DueDose, band: AgeBand, catalogue: Catalogue) -> str | None:
    """Return why the band offers no further dose ("series_complete", "booster_limit"), or None."""
    cap = booster_cap(band, catalogue)
    if due.booster <= cap:
        return None
    return "series_complete" if cap == 0 else "booster_limit"


def product_reason(
    due: DueDose, doses: Sequence[Dose], product: Product, age: int, catalogue: Catalogue, *, mixed_primary: bool
) -> str | None:
    """Return why product may not be given as the due dose at age (intervals apart), or None."""
    if not product.fits_age(age):
        return "product_not_for_age"
    if due.booster and not product.booster:
        return "product_not_for_booster"
    first = catalogue.products[doses[0].product] if doses else product
    if not due.booster and not mixed_primary and first.family != product.family:
        return "product_mismatch"
    return None


def earliest_date(due: DueDose, doses: Sequence[Dose], product: Product, catalogue: Catalogue) -> datetime.date | None:
    """Return the first day the due dose may be given; None for a first dose."""
    if not doses:
        return None
    return doses[-1].given_on + datetime.timedelta(days=min_interval_days(due, doses[-1], product, catalogue))


def history_consistent(doses: Sequence[Dose], birth_date: datetime.date, on_date: datetime.date) -> bool:
    """Return whether doses (sorted by number) are numbered 1..n, in date order, between birth and on_date."""
    if [d.number for d in doses] != list(range(1, len(doses) + 1)):
        return False
    dates = [birth_date, *(d.given_on for d in doses), on_date]
    return all(a <= b for a, b in zip(dates, dates[1:]))


def due_dose(doses: Sequence[Dose], product: Product, catalogue: Catalogue) -> DueDose:
    """Return the dose after doses; the primary series' length is that of dose 1's product (else product's)."""
    first = catalogue.products[doses[0].product] if doses else product
    number = len(doses) + 1
    return DueDose(number, max(0, number - first.primary_doses))


def booster_cap(band: AgeBand, catalogue: Catalogue) -> int:
    """Return how many boosters the band is offered, never more than the catalogue's max_boosters."""
    if band.max_boosters is None:
        return catalogue.max_boosters
    return min(band.max_boosters, catalogue.max_boosters)


def min_interval_days(due: DueDose, last: Dose, product: Product, catalogue: Catalogue) -> int:
    """Return the minimum days from the last dose to the due one: the longer of the two products' rules."""
    previous = catalogue.products[last.product]
    if due.booster:
        return max(previous.booster_interval_days, product.booster_interval_days)
    return max(previous.primary_interval_days, product.primary_interval_days)


def refusal(reason: str, due: DueDose | None = None, earliest: datetime.date | None = None) -> Eligibility:
    """Return an ineligible outcome with reason's sentences (the date filled in for too_soon)."""
    english, vietnamese = REASONS[reason]
    if earliest is not None:
        english = english.format(earliest=earliest.isoformat())
        vietnamese = vietnamese.format(earliest=f"{earliest.day:02d}/{earliest.month:02d}/{earliest.year:04d}")
    return Eligibility(due, reason, english, vietnamese, earliest)


def eligible(due: DueDose) -> Eligibility:
    """Return an eligible outcome for due with its sentences."""
    english, vietnamese = ELIGIBLE[due.kind]
    return Eligibility(
        due, None, english.format(number=due.number, booster=due.booster),
        vietnamese.format(number=due.number, booster=due.booster),
    )

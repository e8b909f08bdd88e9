"""The vaccine catalogue: products, their schedules and the age bands, loaded from TOML.

The packaged vaccines/catalogue.toml is an unverified example; a site must
use a file checked against the Ministry of Health's current guidance.
docs/workflow.md describes the format. Unknown keys and bad values raise
CatalogueError naming the key.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from types import MappingProxyType
from typing import Any

from wire import limits

from .errors import CatalogueError

SCHEMA = 1
STATUSES = ("unverified", "verified")
_CODE = re.compile(r"[a-z0-9]+(?:_[a-z0-9]+)*")


@dataclass(frozen=True)
class Product:
    """One vaccine product as the catalogue describes it."""

    code: str
    """Stable code recorded with every dose, e.g. "comirnaty_30"."""
    name: str
    """Name shown to staff."""
    family: str
    """Products of one family (formulations of one vaccine) may share a primary series."""
    min_age: int
    """Youngest age in whole years for which the product may be given."""
    max_age: int | None
    """Oldest age in whole years, inclusive; None: no upper limit."""
    primary_doses: int
    """Doses in the product's primary series."""
    primary_interval_days: int
    """Minimum days between two doses of the primary series."""
    booster: bool
    """Whether the product may be given as a booster."""
    booster_interval_days: int
    """Minimum days from the last dose before a booster, when this product is either of the two."""
    note: str = ""
    name_vi: str = ""
    """Name shown on the Vietnamese screens; empty: ``name`` there too."""

    def fits_age(self, age: int) -> bool:
        """Return whether the product may be given at age (whole years)."""
        return self.min_age <= age and (self.max_age is None or age <= self.max_age)


@dataclass(frozen=True)
class AgeBand:
    """Ages min_age to max_age (inclusive; None: no limit) and the boosters offered to them."""

    min_age: int
    max_age: int | None
    max_boosters: int | None
    """Boosters offered in this band; None: as many as the catalogue's max_boosters."""


DEFAULT_BANDS: tuple[AgeBand, ...] = (
    AgeBand(5, 11, 0),  # primary series only
    AgeBand(12, 17, 1),  # primary series and a first booster
    AgeBand(18, None, None),  # primary series and the catalogue's boosters
)


@dataclass(frozen=True)
class Catalogue:
    """The products a site may give, the booster cap and the age bands."""

    products: Mapping[str, Product]
    max_boosters: int
    """No one is offered more boosters than this, whatever their band."""
    bands: tuple[AgeBand, ...] = DEFAULT_BANDS
    status: str = "unverified"
    """"verified" only when checked against the Ministry of Health's current guidance."""
    source: str = ""
    """The guidance a verified catalogue was checked against."""
    note: str = field(default="", repr=False)


TOP_KEYS = {
    "schema": int, "status": str, "source": str, "note": str, "max_boosters": int, "bands": list, "products": dict,
}
PRODUCT_KEYS = {
    "name": str, "family": str, "min_age": int, "max_age": int, "primary_doses": int,
    "primary_interval_days": int, "booster": bool, "booster_interval_days": int, "note": str,
    "name_vi": str,
}
PRODUCT_OPTIONAL = {"family", "max_age", "note", "name_vi"}
BAND_KEYS = {"min_age": int, "max_age": int, "max_boosters": int}
BAND_OPTIONAL = {"max_age", "max_boosters"}
TOP_OPTIONAL = {"source", "note", "bands"}
_TOML_TYPES = {
    int: "an integer", str: "a string", bool: "true or false", float: "a float",
    list: "an array of tables", dict: "a table",
}


def load_catalogue(path: str | os.PathLike | None = None) -> Catalogue:
    """Return the catalogue in the TOML file at path (None: the packaged example).

    Raises CatalogueError for an unreadable file, bad TOML, an unknown key or a bad value.
    """
    try:
        if path is None:
            text = resources.files(__package__).joinpath("catalogue.toml").read_text(encoding="utf-8")
        else:
            with open(path, encoding="utf-8") as fh:
                text = fh.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise CatalogueError(f"cannot read catalogue {path or 'catalogue.toml'}: {exc}") from None
    return parse_catalogue(text)


def parse_catalogue(text: str) -> Catalogue:
    """Return the catalogue in TOML text; raise CatalogueError naming the bad key."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CatalogueError(f"catalogue is not valid TOML: {exc}") from None
    return build_catalogue(data)


def build_catalogue(data: Mapping[str, Any]) -> Catalogue:
    """Return the catalogue in a parsed TOML mapping; raise CatalogueError naming the bad key."""
    _check_keys("", data, TOP_KEYS, optional=TOP_OPTIONAL)
    if data["schema"] != SCHEMA:
        raise CatalogueError(f"schema: this kiosk reads catalogue schema {SCHEMA}, got {data['schema']!r}")
    status, source = data["status"], data.get("source", "")
    if status not in STATUSES:
        raise CatalogueError(f"status: expected one of {', '.join(STATUSES)}, got {status!r}")
    if status == "verified" and not source.strip():
        raise CatalogueError("source: a verified catalogue must name the guidance it was checked against")
    max_boosters = _count("max_boosters", data["max_boosters"])
    products = {code: build_product(code, values) for code, values in data["products"].items()}
    if not products:
        raise CatalogueError("products: the catalogue lists no product")
    bands = build_bands(data["bands"]) if "bands" in data else DEFAULT_BANDS
    return Catalogue(MappingProxyType(products), max_boosters, bands, status, source, data.get("note", ""))


def build_product(code: str, values: Any) -> Product:
    """Return the product described by one [products.CODE] table."""
    where = f"products.{code}"
    if not _CODE.fullmatch(code):
        raise CatalogueError(f"{where}: a product code is lower-case letters and digits joined by _")
    if len(code) > limits.PRODUCT_MAX:  # every dose event carries it: the wire contract's limit
        raise CatalogueError(f"{where}: a product code is at most {limits.PRODUCT_MAX} characters")
    _check_keys(where, values, PRODUCT_KEYS, optional=PRODUCT_OPTIONAL)
    counts = {key: _count(f"{where}.{key}", value) for key, value in values.items() if PRODUCT_KEYS[key] is int}
    if counts["primary_doses"] < 1:
        raise CatalogueError(f"{where}.primary_doses: must be at least 1")
    if "max_age" in counts and counts["max_age"] < counts["min_age"]:
        raise CatalogueError(f"{where}.max_age: must not be below min_age")
    return Product(
        code=code, name=values["name"], family=values.get("family", code), min_age=counts["min_age"],
        max_age=counts.get("max_age"), primary_doses=counts["primary_doses"],
        primary_interval_days=counts["primary_interval_days"], booster=values["booster"],
        booster_interval_days=counts["booster_interval_days"], note=values.get("note", ""),
        name_vi=values.get("name_vi", ""),
    )


def build_bands(items: Any) -> tuple[AgeBand, ...]:
    """Return the age bands in the [[bands]] tables, checked by check_bands."""
    if not isinstance(items, list) or not items:
        raise CatalogueError("bands: expected one or more [[bands]] tables")
    bands = []
    for i, values in enumerate(items):
        where = f"bands[{i}]"
        _check_keys(where, values, BAND_KEYS, optional=BAND_OPTIONAL)
        numbers = {key: _count(f"{where}.{key}", value) for key, value in values.items()}
        bands.append(AgeBand(numbers["min_age"], numbers.get("max_age"), numbers.get("max_boosters")))
    return check_bands(tuple(bands))


def check_bands(bands: tuple[AgeBand, ...]) -> tuple[AgeBand, ...]:
    """Return bands when they are ordered, contiguous and the last one, only, is open-ended.

    An open-ended last band means every age from the first band's min_age on has a
    band. Raises CatalogueError naming the first bad band.
    """
    if not bands:
        raise CatalogueError("bands: at least one age band is needed")
    for i, band in enumerate(bands):
        where = f"bands[{i}]"
        if band.max_boosters is not None and band.max_boosters < 0:
            raise CatalogueError(f"{where}.max_boosters: must not be negative")
        if band.max_age is not None and band.max_age < band.min_age:
            raise CatalogueError(f"{where}.max_age: must not be below min_age")
        if (band.max_age is None) != (i == len(bands) - 1):
            raise CatalogueError(f"{where}.max_age: the last band, and only the last, must be open-ended")
        if i and band.min_age != bands[i - 1].max_age + 1:
            raise CatalogueError(f"{where}.min_age: must be one more than the previous band's max_age")
    return bands


def _check_keys(where: str, values: Any, known: Mapping[str, type], *, optional: set[str]) -> None:
    prefix = f"{where}." if where else ""
    if not isinstance(values, Mapping):
        raise CatalogueError(f"{where or 'catalogue'}: expected a table")
    for key, value in values.items():
        if key not in known:
            raise CatalogueError(f"unknown key {prefix}{key}; known keys: {', '.join(known)}")
        if type(value) is not known[key]:  # not isinstance: a bool is not an int here
            got = _TOML_TYPES.get(type(value), "another type")
            raise CatalogueError(f"{prefix}{key}: expected {_TOML_TYPES[known[key]]}, got {got}")
    for key in known:
        if key not in values and key not in optional:
            raise CatalogueError(f"{prefix}{key}: missing")


def _count(key: str, value: int) -> int:
    if value < 0:
        raise CatalogueError(f"{key}: must not be negative, got {value}")
    return value

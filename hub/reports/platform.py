"""The national-platform export's mapping file (TOML): the columns and their order, the date format, the names the
platform gives actions, sexes, dose classes and products, the province and district. The packaged default is
platform.toml beside this module; ``export.mapping`` in the hub's settings names another. Every key is checked: an
unknown one, a missing one or a value of the wrong kind is a MappingError naming the key (docs/exports.md).
"""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import HubError

DEFAULT_MAPPING = Path(__file__).with_name("platform.toml")

FIELDS = {
    "row": "the row's number in the file, from 1",
    "action": "what the row asks of the platform: [actions] new, changed or voided",
    "full_name": "the person's full name, as merged (a district correction wins)",
    "birth_date": "the date of birth, in [file] date_format",
    "sex": "the sex, as [sexes] names it",
    "id_number": "the CCCD (or old CMND) number",
    "phone": "the phone number on the person's roster entry (empty when they are on no roster)",
    "province": "[place] province",
    "district": "[place] district",
    "commune": "the commune or ward of the person's roster entry (empty when they are on no roster)",
    "product": "the vaccine, as [products] names it (the catalogue's code when it names none)",
    "lot_number": "the lot number",
    "given_on": "the day the dose was given, in [file] date_format",
    "dose_number": "the dose's number in the person's series (1, 2, 3, ...)",
    "dose_class": "primary, additional or booster, as [dose_classes] writes it",
    "site": "the site: the kiosk's site, or the place the district entered for a dose it added",
    "dose_id": "the hub's id of the dose (kiosk:seq, or @hub:seq for a dose the district entered)",
}
"""Every field a column may hold, and what it holds."""

SECTIONS: dict[str, dict[str, type]] = {
    "file": {"date_format": str, "sheet": str, "csv_delimiter": str, "csv_bom": bool},
    "place": {"province": str, "district": str},
    "actions": {"new": str, "changed": str, "voided": str},
    "dose_classes": {"primary": str, "additional": str, "booster": str},
}
"""The sections whose keys are fixed, each key with the kind of its value; every one is required."""
OPEN_SECTIONS = ("sexes", "products")
"""Sections whose keys are values the hub holds (a sex, a product code), each mapped to a text."""


class MappingError(HubError, ValueError):
    """The mapping file cannot be read, or a key in it is unknown, missing or of the wrong kind (the message names it)."""


@dataclass(frozen=True)
class Column:
    """One column of the line list: the header the platform's template gives it and the field it holds."""

    header: str
    field: str


@dataclass(frozen=True)
class Mapping:
    """A checked mapping file; ``digest`` is the SHA-256 of its bytes (kept with each export)."""

    columns: tuple[Column, ...]
    file: dict[str, Any]
    place: dict[str, str]
    actions: dict[str, str]
    dose_classes: dict[str, str]
    sexes: dict[str, str]
    products: dict[str, str]
    digest: str
    path: str

    def date(self, iso: str | None) -> str:
        """A yyyy-mm-dd date in the file's format; a year alone stays as it is, nothing stays empty."""
        if not iso:
            return ""
        if len(iso) != 10:
            return iso
        fmt = self.file["date_format"]
        return fmt.replace("YYYY", iso[:4]).replace("MM", iso[5:7]).replace("DD", iso[8:10])


def load_mapping(path: str | Path | None = None) -> Mapping:
    """The mapping in ``path`` (None or empty: the packaged default); raise MappingError naming the key at fault."""
    path = Path(path) if path else DEFAULT_MAPPING
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise MappingError(f"cannot read the export mapping file {path}: {exc.strerror or exc}") from None
    try:
        parsed = tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise MappingError(f"{path}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise MappingError(f"{path} is not valid TOML: {exc}") from None
    try:
        return build_mapping(parsed, hashlib.sha256(data).hexdigest(), str(path))
    except MappingError as exc:
        raise MappingError(f"{path}: {exc}") from None


def build_mapping(data: dict[str, Any], digest: str = "", path: str = "") -> Mapping:
    """A Mapping from a parsed TOML document; raise MappingError naming the key at fault."""
    unknown = sorted(set(data) - {*SECTIONS, *OPEN_SECTIONS, "columns"})
    if unknown:
        raise MappingError(f"[{unknown[0]}]: not a section of the mapping file "
                           f"({', '.join([*SECTIONS, *OPEN_SECTIONS, 'columns'])})")
    fixed = {name: fixed_section(name, data.get(name), keys) for name, keys in SECTIONS.items()}
    opened = {name: open_section(name, data.get(name, {})) for name in OPEN_SECTIONS}
    check_file(fixed["file"])
    return Mapping(columns=columns(data.get("columns")), **fixed, **opened, digest=digest, path=path)


def fixed_section(name: str, values: Any, keys: dict[str, type]) -> dict[str, Any]:
    if not isinstance(values, dict):
        raise MappingError(f"[{name}]: missing, or not a table")
    for key, value in values.items():
        if key not in keys:
            raise MappingError(f"{name}.{key}: not a key of [{name}] ({', '.join(keys)})")
        if type(value) is not keys[key]:
            raise MappingError(f"{name}.{key}: expected {kind_name(keys[key])}, got {kind_name(type(value))} {value!r}")
    missing = [key for key in keys if key not in values]
    if missing:
        raise MappingError(f"{name}.{missing[0]}: missing")
    return dict(values)


def open_section(name: str, values: Any) -> dict[str, str]:
    if not isinstance(values, dict):
        raise MappingError(f"[{name}]: not a table")
    for key, value in values.items():
        if not isinstance(value, str):
            raise MappingError(f"{name}.{key}: expected text, got {kind_name(type(value))} {value!r}")
    return dict(values)


def columns(items: Any) -> tuple[Column, ...]:
    """The [[columns]] array, each with a header (unique, not empty) and a known field."""
    if not isinstance(items, list) or not items:
        raise MappingError("columns: expected at least one [[columns]] table with header and field")
    found = []
    for index, item in enumerate(items):
        where = f"columns[{index + 1}]"
        if not isinstance(item, dict):
            raise MappingError(f"{where}: expected a table with header and field")
        for key, value in item.items():
            if key not in ("header", "field"):
                raise MappingError(f"{where}.{key}: not a key of a column (header, field)")
            if not isinstance(value, str):
                raise MappingError(f"{where}.{key}: expected text, got {kind_name(type(value))} {value!r}")
        header, field = item.get("header", "").strip(), item.get("field", "")
        if not header:
            raise MappingError(f"{where}.header: missing or empty")
        if field not in FIELDS:
            raise MappingError(f"{where}.field: {field!r} is not a field ({', '.join(FIELDS)})")
        if header in (c.header for c in found):
            raise MappingError(f"{where}.header: {header!r} is already the header of another column")
        found.append(Column(header, field))
    return tuple(found)


def check_file(values: dict[str, Any]) -> None:
    fmt = values["date_format"]
    if not all(token in fmt for token in ("DD", "MM", "YYYY")):
        raise MappingError(f"file.date_format: must hold DD, MM and YYYY, got {fmt!r}")
    if not 0 < len(values["sheet"].strip()) <= 31 or any(c in values["sheet"] for c in "[]:*?/\\"):
        raise MappingError(f"file.sheet: 1 to 31 characters, none of []:*?/\\, got {values['sheet']!r}")
    delimiter = values["csv_delimiter"]
    if len(delimiter) != 1 or delimiter in "\"\r\n":
        raise MappingError(f"file.csv_delimiter: expected one character (not a quote or a line end), got {delimiter!r}")


def kind_name(kind: type) -> str:
    return {str: "text", bool: "true or false", int: "a whole number", float: "a number", list: "a list",
            dict: "a table"}.get(kind, kind.__name__)

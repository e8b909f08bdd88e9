"""The national-platform export, pure: which of a day's doses a line list must carry and why (new, changed, voided),
each dose's class (Decision 43/QĐ-BYT), the same-day entry gauge per site, and the file (XLSX or CSV, every cell
neutralised against formulas: hub/xlsx.py) laid out by the mapping file (platform.py).

A dose is *exported* once a file held it; the row it wrote is kept as a digest of its content. When the dose's
current content (the person's identity, their roster entry, the dose, its site, a void) digests differently, it
*changed after export* and goes out again: as ``voided`` when it is voided now, else as ``changed``. The digest is of
the content, not of the cells, so editing the mapping file (a header, a date format) changes no dose's state.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import io
import operator
from collections.abc import Mapping as MappingType
from dataclasses import dataclass
from typing import Any

from .. import xlsx
from .platform import FIELDS, Mapping

FORMATS = ("xlsx", "csv")
ACTIONS = ("new", "changed", "voided")
CONTENT = ("event_id", "id_number", "full_name", "birth_date", "sex", "phone", "commune", "product", "lot_number",
           "given_on", "dose_number", "booster", "site", "voided")
"""What a dose's row says, in the order its digest reads it (the store's platform_rows give each)."""
MEDIA_TYPES = {"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "csv": "text/csv"}


@dataclass(frozen=True)
class PlatformFile:
    """One export as built: the file and, per dose it holds, (event id, action, digest)."""

    format: str
    content: bytes
    lines: list[tuple[str, str, bytes]]
    mapping: str
    """The mapping file's digest."""


def digest(row: MappingType[str, Any]) -> bytes:
    """The first 16 bytes of the SHA-256 of a dose's content: what the export wrote of it, independent of the mapping.
    It reads the tuple's repr (text, whole numbers, booleans and None only: the same on every Python), a quarter of
    JSON's cost."""
    return hashlib.sha256(repr(tuple([row[key] for key in CONTENT])).encode("utf-8", "backslashreplace")).digest()[:16]


def state(row: MappingType[str, Any], current: bytes | None = None) -> str | None:
    """The dose's export state: ``exported`` (up to date), ``not_exported`` (live, never exported), ``changed`` (its
    content differs from the row last exported, a void included), or None (voided before anyone exported it).
    ``current``: its digest, when already computed."""
    if row["exported_digest"] is None:
        return None if row["voided"] else "not_exported"
    return "exported" if row["exported_digest"] == (current or digest(row)) else "changed"


def action(row: MappingType[str, Any], current: bytes | None = None) -> str | None:
    """What an export must tell the platform of this dose now, or None (nothing)."""
    now = state(row, current)
    if now == "not_exported":
        return "new"
    if now == "changed":
        return "voided" if row["voided"] else "changed"
    return None


def dose_class(product: str, dose_number: int, booster: int | None, catalogue: Any) -> tuple[str, int | None]:
    """(class, number in the class) by Decision 43/QĐ-BYT: a booster when ``booster`` >= 1 (booster N); else additional
    when the dose number passes the product's primary series in the catalogue; else primary (dose N)."""
    if booster is not None and booster >= 1:
        return "booster", booster
    product_ = catalogue.products.get(product)
    if product_ is not None and dose_number > product_.primary_doses:
        return "additional", None
    return "primary", dose_number


def gauge(rows: list[MappingType[str, Any]]) -> dict[str, Any]:
    """The same-day entry gauge: per site (by name) and in total, the day's live doses, how many of them are exported
    and up to date, not exported, and changed after export (those voided since, too: the platform must hear of it);
    ``pending`` is what the next export carries."""
    sites: dict[str, dict[str, Any]] = {}
    total = empty("")
    for row in rows:
        site = sites.setdefault(row["site"] or "", empty(row["site"] or ""))
        now = state(row)
        if row["voided"] and now == "exported":  # the platform was told of the void: nothing left to do, nor a dose
            now = None
        for counts in (site, total):
            counts["doses"] += not row["voided"]
            if now:
                counts[now] += 1
    for counts in (*sites.values(), total):
        counts["pending"] = counts["not_exported"] + counts["changed"]
    return {"sites": [sites[name] for name in sorted(sites)], "total": total}


def empty(site: str) -> dict[str, Any]:
    return {"site": site, "doses": 0, "exported": 0, "not_exported": 0, "changed": 0}


def build(rows: list[MappingType[str, Any]], fmt: str, mapping: Mapping, catalogue: Any) -> PlatformFile:
    """The export file of the doses that need one (new, changed, voided), by site then time given; raise ValueError for
    a format not in FORMATS."""
    if fmt not in FORMATS:
        raise ValueError(f"format {fmt!r}: expected one of {', '.join(FORMATS)}")
    digests = [digest(row) for row in rows]
    due = [(row, act, current) for row, current in zip(rows, digests) if (act := action(row, current))]
    due.sort(key=lambda item: (item[0]["site"] or "", item[0]["given_at"], item[0]["event_id"]))
    cells = lines([(row, act) for row, act, _d in due], mapping, catalogue)
    header = [xlsx.neutral(column.header) for column in mapping.columns]
    content = xlsx_file(header, cells, mapping) if fmt == "xlsx" else csv_file(header, cells, mapping)
    return PlatformFile(fmt, content, [(row["event_id"], act, current) for row, act, current in due], mapping.digest)


def lines(due: list[tuple[MappingType[str, Any], str]], mapping: Mapping, catalogue: Any) -> list[tuple[Any, ...]]:
    """Each dose's cells (dose, action), in the mapping's column order, every cell neutral (hub/xlsx.py). The values
    that repeat down a day's list (the day, a site, a lot, a product, a commune) are neutralised once."""
    safe = xlsx.neutral
    once = functools.lru_cache(maxsize=None, typed=True)(safe)
    day = functools.lru_cache(maxsize=None)(lambda iso: safe(mapping.date(iso)))
    kind = functools.lru_cache(maxsize=None)(lambda product, number, booster: once(
        class_name(dose_class(product, number, booster, catalogue), mapping)))
    province, district = safe(mapping.place["province"]), safe(mapping.place["district"])
    columns = [FIELD_ORDER.index(column.field) for column in mapping.columns]
    pick = operator.itemgetter(*columns) if len(columns) > 1 else lambda values: (values[columns[0]],)
    cells = []
    for number, (row, act) in enumerate(due, start=1):
        cells.append(pick((  # in FIELD_ORDER: platform.FIELDS
            number, once(mapping.actions[act]), safe(row["full_name"]), safe(mapping.date(row["birth_date"])),
            once(mapping.sexes.get(row["sex"] or "", row["sex"])), safe(row["id_number"]), safe(row["phone"]), province,
            district, once(row["commune"]), once(mapping.products.get(row["product"], row["product"])),
            once(row["lot_number"]), day(row["given_on"]), safe(row["dose_number"]),
            kind(row["product"], row["dose_number"], row["booster"]), once(row["site"]), safe(row["event_id"]))))
    return cells


FIELD_ORDER = tuple(FIELDS)
"""The fields ``lines`` makes for each dose, in the order hub/reports/platform.py FIELDS lists (and says what each
holds)."""


def class_name(found: tuple[str, int | None], mapping: Mapping) -> str:
    """A dose's class (dose_class) as the mapping writes it."""
    kind, within = found
    return mapping.dose_classes[kind].replace("{n}", str(within or ""))


def csv_file(header: list[str], cells: list[tuple[Any, ...]], mapping: Mapping) -> bytes:
    """The CSV (UTF-8, with a BOM when the mapping asks) of cells already neutral (lines)."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, delimiter=mapping.file["csv_delimiter"], lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(cells)
    text = ("\ufeff" if mapping.file["csv_bom"] else "") + out.getvalue()
    return text.encode("utf-8", "replace")  # a lone surrogate (JSON allows one) becomes "?", never an error


def xlsx_file(header: list[str], cells: list[tuple[Any, ...]], mapping: Mapping) -> bytes:
    """The XLSX of one sheet (hub/xlsx.py stream_workbook: every cell a string or a number, never a formula)."""
    widths = [max(8, min(40, len(name) + 2)) for name in header]
    return xlsx.stream_workbook(xlsx.Sheet(mapping.file["sheet"], header, cells, widths), neutralised=True)


def file_name(export_id: int, day: str, fmt: str) -> str:
    """The name a downloaded export is saved under: the day and the export's id, never a person's data."""
    return f"tiem-chung-{day}-{export_id}.{fmt}"

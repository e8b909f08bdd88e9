"""Read a roster file (CSV in UTF-8, or XLSX) and check every row: the entries to import and the rows refused.

Reading only: nothing here writes. openpyxl is imported when an XLSX file is
read (it pulls in Pillow and numpy where they are installed, which `hub run`
must not). Formulas are never evaluated: the workbook is opened with
data_only=True, so a formula cell gives the value Excel last saved with it
(None if it never computed one) and a text cell that starts with "=" is text.
"""

from __future__ import annotations

import csv
import datetime
import io
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..errors import RosterFileError
from .columns import find_columns, missing
from .rows import Entry, Refused, check_row, read_id

MAX_FILE_BYTES = 50 * 1024 * 1024
"""The largest file read (50 MiB); a larger one is refused whole (too_large)."""
MAX_ROWS = 2_000_000
"""The most data rows one file may hold (a province-sized district's roster is ~1,000,000)."""
MAX_XLSX_UNPACKED = 1024 * 1024 * 1024
"""The most an XLSX file may unpack to (1 GiB), so a zip bomb is refused before it is read."""
HEADER_ROWS = 20
"""The header is the first of this many rows that names every required column (a title may sit above it)."""
XLSX_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0"
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


@dataclass
class Parsed:
    """What a file holds: the entries to import (one per ID number), the rows refused, and the data rows read."""

    entries: list[Entry] = field(default_factory=list)
    refused: list[Refused] = field(default_factory=list)
    rows: int = 0
    district: str = ""
    """The district the list belongs to (a province's import), "" at a district's hub."""

    def in_district(self, district: str) -> Parsed:
        """The same file as the list of ``district`` (a province's import, hub/roster/district.py): every entry's
        district set to it."""
        return replace(self, entries=[entry._replace(district=district) for entry in self.entries], district=district)


def read_roster(path: str | Path, today: datetime.date) -> Parsed:
    """Read and check the roster in a file; raise RosterFileError when the file cannot be read at all."""
    path = Path(path)
    if path.stat().st_size > MAX_FILE_BYTES:
        raise RosterFileError("too_large", f"({path.stat().st_size} bytes)")
    return parse_roster(path.read_bytes(), path.name, today)


def parse_roster(data: bytes, name: str, today: datetime.date) -> Parsed:
    """Check the rows of a file's bytes (XLSX by its content, else CSV); raise RosterFileError for an unreadable file."""
    if len(data) > MAX_FILE_BYTES:
        raise RosterFileError("too_large", f"({len(data)} bytes)")
    return check_rows(table_rows(data, name), today)


def table_rows(data: bytes, name: str) -> Iterator[tuple[int, list[object]]]:
    """(row number, cells) of the file's first sheet or of the CSV."""
    suffix = Path(name).suffix.lower()
    if data.startswith(XLSX_MAGIC):
        return xlsx_rows(data)
    if data.startswith(OLE_MAGIC):
        raise RosterFileError("wrong_type", "(an old .xls workbook: save it as .xlsx)")
    if suffix == ".xlsx":
        raise RosterFileError("malformed_xlsx", "(it is not a zip archive)")
    if suffix not in (".csv", ".txt", ""):
        raise RosterFileError("wrong_type", f"({suffix} file)")
    return csv_rows(data)


def csv_rows(data: bytes) -> Iterator[tuple[int, list[object]]]:
    if data.startswith(UTF16_BOMS):
        raise RosterFileError("not_utf8", "(it is UTF-16)")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise RosterFileError("not_utf8", f"(byte {exc.start} is not UTF-8)") from None
    if "\x00" in text:
        raise RosterFileError("wrong_type", "(it holds NUL characters: not a text file)")
    first = text[: text.find("\n")] if "\n" in text else text
    delimiter = max(",;\t", key=first.count)
    return csv_records(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))


def csv_records(reader) -> Iterator[tuple[int, list[object]]]:
    """Each record with its number as a spreadsheet shows it (a quoted cell's line breaks do not count)."""
    try:
        yield from enumerate(reader, start=1)
    except csv.Error as exc:
        raise RosterFileError("malformed_csv", f"(record {reader.line_num}: {exc})") from None


def xlsx_rows(data: bytes) -> Iterator[tuple[int, list[object]]]:
    import openpyxl  # here: see the module's docstring

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, ValueError, EOFError) as exc:
        raise RosterFileError("malformed_xlsx", f"({exc})") from None
    if unpacked > MAX_XLSX_UNPACKED:
        raise RosterFileError("too_large", f"(it unpacks to {unpacked} bytes)")
    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises KeyError, ValueError, zipfile and XML errors for a broken file
        raise RosterFileError("malformed_xlsx", f"({type(exc).__name__})") from None
    return sheet_rows(book)


def sheet_rows(book) -> Iterator[tuple[int, list[object]]]:
    try:
        sheet = book.worksheets[0]
        sheet.reset_dimensions()  # some writers save a wrong sheet size, which read-only mode would trust
        for number, row in enumerate(sheet.iter_rows(values_only=True), start=1):
            yield number, list(row)
    except RosterFileError:
        raise
    except Exception as exc:
        raise RosterFileError("malformed_xlsx", f"({type(exc).__name__})") from None
    finally:
        book.close()


def check_rows(rows: Iterable[tuple[int, list[object]]], today: datetime.date) -> Parsed:
    """Find the header, then check each data row; the first row of an ID number wins, later ones are duplicate_id."""
    rows = iter(rows)
    columns = find_header(rows)
    parsed, seen = Parsed(), set()
    for number, cells in rows:
        if not any(cell not in (None, "") for cell in cells):
            continue
        parsed.rows += 1
        if parsed.rows > MAX_ROWS:
            raise RosterFileError("too_large", f"(more than {MAX_ROWS} rows)")
        checked = check_row(cells, columns, today)
        if isinstance(checked, str):
            parsed.refused.append(Refused(number, checked, valid_id(cells, columns)))
        elif checked.id_number in seen:
            parsed.refused.append(Refused(number, "duplicate_id", checked.id_number))
        else:
            seen.add(checked.id_number)
            parsed.entries.append(checked)
    return parsed


def find_header(rows: Iterator[tuple[int, list[object]]]) -> dict[str, int]:
    """The columns of the first row (of the first HEADER_ROWS) that names every required one; RosterFileError if none."""
    best: dict[str, int] = {}
    for _, (_, cells) in zip(range(HEADER_ROWS), rows):
        columns = find_columns(cells)
        if not missing(columns):
            return columns
        best = max(best, columns, key=len)
    if not best:
        raise RosterFileError("empty")
    raise RosterFileError("missing_column", "(" + ", ".join(missing(best)) + ")")


def valid_id(cells: list[object], columns: dict[str, int]) -> str | None:
    """The row's ID number when it is a valid one (kept with a refused row so staff can find the person), else None."""
    position = columns["id_number"]
    number = read_id(cells[position]) if position < len(cells) else None
    return number if number and not number.startswith("!") else None

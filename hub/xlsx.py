"""Spreadsheets the workspace hands out (the outreach list, the police list): one writer, every cell neutralised.

A cell whose text starts with ``=``, ``+``, ``-``, ``@`` (or a tab or carriage
return, which some programs strip before looking) would be read as a formula
by Excel or LibreOffice: a name typed at a kiosk could then run a command on
the district office's computer (CSV/XLSX injection). ``neutral`` prefixes such
text with an apostrophe, shown as text and never evaluated, and every cell
this module writes is a string cell or a number, never a formula.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
"""Characters an XLSX file cannot hold (openpyxl refuses them); each becomes U+FFFD so the export still succeeds."""


def neutral(value: object) -> object:
    """The value as a cell may hold it safely: numbers stay numbers, None stays empty, text that could start a
    formula gets a leading apostrophe, characters a worksheet cannot hold become U+FFFD, line ends become LF (what
    the file keeps of a CR)."""
    if value is None or isinstance(value, bool):
        return "" if value is None else str(value)
    if isinstance(value, (int, float)):
        return value
    text = CONTROL.sub("\ufffd", str(value)).replace("\r\n", "\n").replace("\r", "\n")  # XML keeps no CR
    return "'" + text if text.startswith(FORMULA_STARTS) else text


@dataclass(frozen=True)
class Sheet:
    """One worksheet: its title, the header row and the data rows; ``widths`` in characters, per column."""

    title: str
    header: Sequence[str]
    rows: Iterable[Sequence[object]]
    widths: Sequence[int] = ()


def workbook(sheets: Sequence[Sheet]) -> bytes:
    """The XLSX file of these sheets (write-only, so a long list streams), every cell passed through ``neutral``
    and typed as a string or a number (openpyxl would otherwise store a text starting with "=" as a formula)."""
    import openpyxl  # here: the hub's other programs never load it (see hub/roster/files.py)
    from openpyxl.cell import WriteOnlyCell

    book = openpyxl.Workbook(write_only=True)
    for sheet in sheets:
        out = book.create_sheet(title=sheet.title[:31])
        for index, width in enumerate(sheet.widths):
            out.column_dimensions[openpyxl.utils.get_column_letter(index + 1)].width = width
        out.append([text_cell(out, WriteOnlyCell, name) for name in sheet.header])
        for row in sheet.rows:
            out.append([text_cell(out, WriteOnlyCell, value) for value in row])
    data = io.BytesIO()
    book.save(data)
    return data.getvalue()


def text_cell(sheet, cell_type, value: object):
    value = neutral(value)
    cell = cell_type(sheet, value=value)
    if isinstance(value, str):
        cell.data_type = "s"  # a string, whatever it looks like: never a formula
    return cell

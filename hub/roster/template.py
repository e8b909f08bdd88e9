"""The empty roster template (CSV or XLSX) the upload page offers and `hub roster template` writes."""

from __future__ import annotations

import csv
import io

from .columns import FIELDS, TEMPLATE_HEADERS

EXAMPLE = ("001190012345", "Nguyễn Thị Lan", "15/03/1990", "Nữ", "Phường Bến Nghé", "Số 12, Đường Lê Lợi", "1", "0901234567")
"""One example row (a made-up person whose ID digits agree with the birth year and sex)."""


def template_csv() -> bytes:
    """The template as CSV: UTF-8 with a BOM (so Excel opens it as UTF-8), the header and the example row."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([TEMPLATE_HEADERS[f] for f in FIELDS])
    writer.writerow(EXAMPLE)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def template_xlsx() -> bytes:
    """The template as XLSX: the header, the example row, and every column formatted as text (so ID numbers keep
    their leading zeros and dates stay as typed)."""
    import openpyxl  # here: see hub/roster/files.py

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Danh sách"
    sheet.append([TEMPLATE_HEADERS[f] for f in FIELDS])
    sheet.append(list(EXAMPLE))
    for column in sheet.iter_cols(min_row=1, max_row=1000, max_col=len(FIELDS)):
        for cell in column:
            cell.number_format = "@"
    for letter, width in zip("ABCDEFGH", (16, 28, 12, 10, 22, 36, 14, 16)):
        sheet.column_dimensions[letter].width = width
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def template(suffix: str) -> bytes:
    """The template for a file name's suffix (.csv or .xlsx); raise ValueError for another."""
    makers = {".csv": template_csv, ".xlsx": template_xlsx}
    if suffix.lower() not in makers:
        raise ValueError(f"the template is .csv or .xlsx, not {suffix or 'a file without a suffix'}")
    return makers[suffix.lower()]()

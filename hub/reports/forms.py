"""The daily report as files: XLSX (the form, by product, by age band, arrived after the cut), CSV (the form) and
JSON, headed in Vietnamese as the form is; every cell neutralised (hub/xlsx.py)."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from ..xlsx import Sheet, neutral, workbook
from .daily import CLASSES, NUMBERS

HEADINGS = {
    "site": "Điểm tiêm", "present": "Số người đến (check-in)", "referred": "Chuyển viện tiêm",
    "refused": "Từ chối tiêm", "deferred": "Tạm hoãn", "contraindicated": "Chống chỉ định",
    "vaccinated": "Số người được tiêm", "dose_1": "Mũi 1", "dose_2": "Mũi 2", "dose_3": "Mũi 3",
    "dose_4": "Mũi 4 trở lên", "primary_1": "Cơ bản mũi 1", "primary_2": "Cơ bản mũi 2", "primary_3": "Cơ bản mũi 3",
    "additional": "Mũi bổ sung", "booster_1": "Nhắc lại lần 1", "booster_2": "Nhắc lại lần 2",
    "booster_3": "Nhắc lại lần 3 trở lên", "doses_given": "Số mũi đã tiêm", "doses_discarded": "Số liều hủy",
    "doses_used": "Số liều sử dụng", "reactions_common": "Phản ứng thông thường",
    "aefi_serious": "Tai biến nặng", "product": "Vắc xin", "note": "Ghi chú", "district": "Quận/huyện",
}
"""The form's column headings (English in docs/reports.md)."""
TOTAL = "Tổng cộng"
PROVINCE_TOTAL = "Tổng cộng toàn tỉnh (mỗi người tính một lần)"
"""A province's total row: people counted once however many districts they came to (hub/reports/daily.py)."""


def form_rows(report: dict[str, Any]) -> tuple[list[str], list[list[Any]]]:
    """The form's header and rows: one per site, then the district's total; the note on the total's row. A province's
    report: a district column, each district's total after the sites, then the province's total."""
    figures, provincial = report["figures"], bool(report.get("districts"))
    header = [*place_headings(report), *(HEADINGS[f] for f in figures), HEADINGS["note"]]
    rows = [[*place(row, provincial), *(row[f] for f in figures), ""] for row in report["sites"]]
    for entry in report.get("districts", []):
        rows.append([*place({"district": entry["district"] or "", "site": TOTAL}, True),
                     *(entry["total"][f] for f in figures), ""])
    total = [PROVINCE_TOTAL, ""] if provincial else [TOTAL]
    rows.append([*total, *(report["total"][f] for f in figures), report.get("note", "")])
    return header, rows


def place_headings(report: dict[str, Any]) -> list[str]:
    return [HEADINGS["district"], HEADINGS["site"]] if report.get("districts") else [HEADINGS["site"]]


def place(row: dict[str, Any], provincial: bool) -> list[str]:
    """A row's leading cells: its site, after its district at a province."""
    return [row.get("district", ""), row["site"]] if provincial else [row["site"]]


def product_rows(report: dict[str, Any]) -> tuple[list[str], list[list[Any]]]:
    figures, provincial = [*NUMBERS, *CLASSES, "doses_given", "doses_discarded"], bool(report.get("districts"))
    header = [*place_headings(report), HEADINGS["product"], *(HEADINGS[f] for f in figures)]
    return header, [[*place(row, provincial), row["product"], *(row[f] for f in figures)]
                    for row in report["by_product"]]


def age_rows(report: dict[str, Any]) -> tuple[list[str], list[list[Any]]]:
    bands, provincial = report["age_bands"], bool(report.get("districts"))
    header = [*place_headings(report), *(band_heading(b) for b in bands)]
    return header, [[*place(row, provincial), *(row[b] for b in bands)] for row in report["by_age"]]


def band_heading(band: str) -> str:
    if band == "unknown":
        return "Không rõ tuổi"
    if band.startswith("<"):
        return f"Dưới {band[1:]} tuổi"
    if band.endswith("+"):
        return f"Từ {band[:-1]} tuổi"
    return f"{band} tuổi"


def late_rows(late: list[dict[str, Any]]) -> tuple[list[str], list[list[Any]]]:
    header = [HEADINGS["site"], "Liều", "Kết quả khám", "Liều hủy", "Hủy bỏ ghi nhận", "Lần cuối (giờ hub, UTC)"]
    return header, [[s["site"], s["doses"], s["outcomes"], s["discards"], s["voids"], s["last_at"]] for s in late]


def xlsx(report: dict[str, Any], late: list[dict[str, Any]] | None = None) -> bytes:
    """The report as a workbook: the form, by product, by age band, and what arrived after its cut when given."""
    sheets = [Sheet("Báo cáo ngày " + report["day"], *form_rows(report), widths=[28] + [12] * 30),
              Sheet("Theo vắc xin", *product_rows(report), widths=[28, 16] + [12] * 20),
              Sheet("Theo nhóm tuổi", *age_rows(report), widths=[28] + [12] * 12)]
    if late is not None:
        sheets.append(Sheet("Đến sau giờ chốt", *late_rows(late), widths=[28, 10, 14, 10, 14, 28]))
    return workbook(sheets)


def csv_text(report: dict[str, Any]) -> str:
    """The form as CSV (UTF-8 with a byte-order mark, so a spreadsheet program reads the Vietnamese right)."""
    header, rows = form_rows(report)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([neutral(h) for h in header])
    writer.writerows([[neutral(cell) for cell in row] for row in rows])
    return "\ufeff" + out.getvalue()


def json_text(report: dict[str, Any]) -> str:
    return json.dumps(report, ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def render(report: dict[str, Any], kind: str, late: list[dict[str, Any]] | None = None) -> bytes:
    """The report as a file of ``kind`` (xlsx, csv or json)."""
    if kind == "xlsx":
        return xlsx(report, late)
    if kind == "csv":
        return csv_text(report).encode("utf-8")
    if kind == "json":
        return json_text(report if late is None else {**report, "arrived_after_cut": late}).encode("utf-8")
    raise ValueError(f"unknown report format {kind!r}: xlsx, csv or json")


MEDIA_TYPES = {"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
               "csv": "text/csv; charset=utf-8", "json": "application/json"}

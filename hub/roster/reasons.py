"""Why a roster row or file is refused: stable codes, each with a sentence in Vietnamese and in English.

The codes are part of the interface (the database keeps them, the web page and
`hub roster import --json` show them); docs/roster.md lists every one with
both sentences and tests/test_roster.py fails when one is missing there.
"""

from __future__ import annotations

ROW_REASONS: dict[str, tuple[str, str]] = {
    "missing_value": ("Thiếu giá trị bắt buộc (số CCCD, họ và tên, ngày sinh, giới tính hoặc xã/phường).",
                      "A required value is empty (ID number, full name, date of birth, sex or commune/ward)."),
    "bad_id_number": ("Số CCCD phải có đúng 12 chữ số (hoặc 9 chữ số đối với CMND cũ).",
                      "The ID number must be exactly 12 digits (or 9 digits for an old CMND)."),
    "id_stored_as_number": ("Số CCCD được lưu dạng số nên đã mất các số 0 ở đầu; hãy định dạng cột là Văn bản (Text).",
                            "The ID number is stored as a number and has lost its leading zeros; format the column as Text."),
    "bad_date": ("Ngày sinh không hợp lệ (dùng dd/mm/yyyy, yyyy-mm-dd hoặc chỉ năm yyyy).",
                 "The date of birth is not a valid date (use dd/mm/yyyy, yyyy-mm-dd or the year alone, yyyy)."),
    "birth_in_future": ("Ngày sinh ở sau ngày nhập danh sách.", "The date of birth is after the day of the import."),
    "bad_sex": ("Giới tính phải là Nam hoặc Nữ.", "Sex must be Nam (male) or Nữ (female)."),
    "bad_phone": ("Số điện thoại chỉ được gồm chữ số, dấu cách, dấu chấm, gạch ngang và dấu + ở đầu.",
                  "The phone number may hold only digits, spaces, dots, dashes and a leading +."),
    "value_too_long": ("Một ô quá dài.", "A cell is too long."),
    "bad_characters": ("Một ô có ký tự điều khiển.", "A cell holds control characters."),
    "duplicate_id": ("Số CCCD này đã xuất hiện ở một dòng trước trong tệp; chỉ dòng đầu tiên được nhập.",
                     "This ID number appears on an earlier row of the file; only the first one is imported."),
    "id_century_mismatch": ("Chữ số thứ 4 của số CCCD (thế kỷ và giới tính) không khớp với năm sinh.",
                            "The ID number's 4th digit (century and sex) contradicts the year of birth."),
    "id_year_mismatch": ("Chữ số thứ 5-6 của số CCCD không khớp với năm sinh.",
                         "The ID number's 5th and 6th digits contradict the year of birth."),
    "id_sex_mismatch": ("Chữ số thứ 4 của số CCCD (thế kỷ và giới tính) không khớp với giới tính.",
                        "The ID number's 4th digit (century and sex) contradicts the sex."),
}
"""Why one row was not imported: code -> (Vietnamese, English)."""

FILE_REASONS: dict[str, tuple[str, str]] = {
    "missing_column": ("Tệp thiếu cột bắt buộc.", "The file lacks a required column."),
    "wrong_type": ("Tệp không phải CSV hoặc XLSX.", "The file is neither CSV nor XLSX."),
    "not_utf8": ("Tệp CSV không được mã hóa UTF-8; hãy lưu lại dưới dạng \"CSV UTF-8\".",
                 "The CSV file is not UTF-8; save it again as \"CSV UTF-8\"."),
    "malformed_csv": ("Không đọc được tệp CSV (một ô dài hơn 131.072 ký tự hoặc dấu ngoặc kép không đóng).",
                      "The CSV file cannot be read (a cell longer than 131,072 characters, or an unclosed quote)."),
    "malformed_xlsx": ("Không đọc được tệp XLSX (hỏng hoặc không đúng định dạng).",
                       "The XLSX file cannot be read (damaged or not really XLSX)."),
    "too_large": ("Tệp quá lớn (tối đa 50 MB và 2.000.000 dòng).", "The file is too large (at most 50 MB and 2,000,000 rows)."),
    "empty": ("Tệp không có dòng tiêu đề nào nhận ra được.", "The file has no header row that can be recognised."),
}
"""Why a whole file was refused (hub.errors.RosterFileError): code -> (Vietnamese, English)."""


def sentences(code: str) -> tuple[str, str]:
    """Return (Vietnamese, English) for a row or file reason code; raise KeyError for an unknown one."""
    return ROW_REASONS.get(code) or FILE_REASONS[code]

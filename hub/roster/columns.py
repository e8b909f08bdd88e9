"""The roster's columns and the header names each is known by, in Vietnamese or English, with or without diacritics."""

from __future__ import annotations

import re
import unicodedata

FIELDS = ("id_number", "full_name", "birth_date", "sex", "commune", "address", "priority_group", "phone")
"""Every column of a roster entry, in the template's order."""
REQUIRED = ("id_number", "full_name", "birth_date", "sex", "commune")
"""The columns a file must have; a row with one of them empty is refused (missing_value)."""

TEMPLATE_HEADERS = {
    "id_number": "Số CCCD", "full_name": "Họ và tên", "birth_date": "Ngày sinh", "sex": "Giới tính",
    "commune": "Xã/Phường", "address": "Địa chỉ", "priority_group": "Nhóm ưu tiên", "phone": "Số điện thoại",
}
"""The header the template writes for each column."""

ALIASES = {
    "id_number": ("so cccd", "cccd", "so cmnd cccd", "so cccd cmnd", "cccd cmnd", "so dinh danh", "so dinh danh ca nhan",
                  "id number", "id", "national id", "citizen id"),
    "full_name": ("ho va ten", "ho ten", "full name", "name"),
    "birth_date": ("ngay sinh", "ngay thang nam sinh", "nam sinh", "date of birth", "birth date", "dob"),
    "sex": ("gioi tinh", "sex", "gender"),
    "commune": ("xa phuong", "phuong xa", "xa", "phuong", "commune", "ward", "commune ward"),
    "address": ("dia chi", "address"),
    "priority_group": ("nhom uu tien", "doi tuong uu tien", "priority group", "priority"),
    "phone": ("so dien thoai", "dien thoai", "sdt", "phone", "phone number", "telephone"),
}
"""Header names (as `plain` writes them) -> the column they name."""

HEADER_TO_FIELD = {alias: field for field, names in ALIASES.items() for alias in names}
_NOT_ALNUM = re.compile(r"[^0-9a-z]+")


def plain(text: str) -> str:
    """A header as compared: no diacritics (đ as d), lower case, every run of other characters one space."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()
    return _NOT_ALNUM.sub(" ", bare).strip()


def find_columns(header: list[object]) -> dict[str, int]:
    """Map each column named in a header row to its position (the first one, when a name repeats); others are ignored."""
    found: dict[str, int] = {}
    for position, cell in enumerate(header):
        field = HEADER_TO_FIELD.get(plain(cell)) if isinstance(cell, str) else None
        if field is not None and field not in found:
            found[field] = position
    return found


def missing(columns: dict[str, int]) -> list[str]:
    """The required columns a header lacks, in REQUIRED order."""
    return [field for field in REQUIRED if field not in columns]

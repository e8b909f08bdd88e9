"""Reason and warning codes for scanned payloads, each with its English and Vietnamese sentence.

Codes are stable snake_case strings: the hub's data staff count them, so never
rename one. Sentences are shown on the kiosk's public screen and may be logged,
so they are fixed text: none of them may ever include anything read from a card.
"""

from dataclasses import dataclass

from kiosk.errors import PayloadRejected
from wire import limits

_ASK_STAFF_EN = "Please ask a staff member for help."
_ASK_STAFF_VI = "Vui lòng nhờ nhân viên hỗ trợ."
_SHOW_CARD_EN = "Please show the QR code printed on your chip ID card (CCCD)."
_SHOW_CARD_VI = "Vui lòng xuất trình mã QR in trên thẻ căn cước gắn chip (CCCD)."
_CHECK_CARD_EN = "Compare with the printed card before checking this person in."
_CHECK_CARD_VI = "Hãy đối chiếu với thông tin in trên thẻ trước khi tiếp nhận."

REASONS: dict[str, tuple[str, str]] = {
    "not_utf8": (
        f"This code could not be read as text. {_SHOW_CARD_EN}",
        f"Không đọc được nội dung mã này. {_SHOW_CARD_VI}",
    ),
    "too_long": (
        f"This code is too long to be a chip ID card code. {_SHOW_CARD_EN}",
        f"Mã này quá dài, không phải mã QR của thẻ căn cước. {_SHOW_CARD_VI}",
    ),
    "not_cccd": (
        f"This is not a chip ID card code. {_SHOW_CARD_EN}",
        f"Đây không phải mã QR của thẻ căn cước. {_SHOW_CARD_VI}",
    ),
    "wrong_field_count": (
        f"This code does not have the layout of a chip ID card code. {_ASK_STAFF_EN}",
        f"Mã này không đúng cấu trúc mã QR của thẻ căn cước. {_ASK_STAFF_VI}",
    ),
    "bad_characters": (
        f"This code contains characters that never appear on an ID card. {_ASK_STAFF_EN}",
        f"Mã này chứa ký tự không bao giờ có trên thẻ căn cước. {_ASK_STAFF_VI}",
    ),
    "bad_id_number": (
        f"The ID number in this code is not 12 digits. {_ASK_STAFF_EN}",
        f"Số định danh cá nhân trong mã này không phải là dãy 12 chữ số. {_ASK_STAFF_VI}",
    ),
    "bad_old_id": (
        f"The old ID card number in this code is not 9 or 12 digits. {_ASK_STAFF_EN}",
        f"Số chứng minh nhân dân cũ trong mã này không phải là dãy 9 hoặc 12 chữ số. {_ASK_STAFF_VI}",
    ),
    "empty_name": (
        f"This code does not contain a name. {_ASK_STAFF_EN}",
        f"Mã này không có họ và tên. {_ASK_STAFF_VI}",
    ),
    "name_too_long": (
        f"The name is longer than {limits.FULL_NAME_MAX} characters, more than the district's records can hold. "
        f"{_ASK_STAFF_EN}",
        f"Họ và tên dài hơn {limits.FULL_NAME_MAX} ký tự, vượt quá độ dài hồ sơ của quận, huyện có thể lưu. "
        f"{_ASK_STAFF_VI}",
    ),
    "bad_date": (
        f"The date of birth or the date of issue in this code is not a valid date. {_ASK_STAFF_EN}",
        f"Ngày sinh hoặc ngày cấp trong mã này không phải là ngày hợp lệ. {_ASK_STAFF_VI}",
    ),
    "birth_in_future": (
        f"The date of birth in this code is after today's date. {_ASK_STAFF_EN}",
        f"Ngày sinh trong mã này muộn hơn ngày hôm nay. {_ASK_STAFF_VI}",
    ),
    "bad_sex": (
        f'The sex in this code is neither "Nam" nor "Nữ". {_ASK_STAFF_EN}',
        f'Giới tính trong mã này không phải là "Nam" hoặc "Nữ". {_ASK_STAFF_VI}',
    ),
    "issue_before_birth": (
        f"The date of issue in this code is earlier than the date of birth. {_ASK_STAFF_EN}",
        f"Ngày cấp trong mã này sớm hơn ngày sinh. {_ASK_STAFF_VI}",
    ),
}

WARNINGS: dict[str, tuple[str, str]] = {
    "id_century_mismatch": (
        f"The century encoded in the ID number (digit 4) does not match the year of birth. {_CHECK_CARD_EN}",
        f"Mã thế kỷ trong số định danh (chữ số thứ 4) không khớp với năm sinh. {_CHECK_CARD_VI}",
    ),
    "id_year_mismatch": (
        f"The birth year encoded in the ID number (digits 5 and 6) does not match the year of birth. {_CHECK_CARD_EN}",
        f"Năm sinh trong số định danh (chữ số thứ 5 và 6) không khớp với năm sinh. {_CHECK_CARD_VI}",
    ),
    "id_sex_mismatch": (
        f"The sex encoded in the ID number (digit 4) does not match the sex on the card. {_CHECK_CARD_EN}",
        f"Giới tính trong số định danh (chữ số thứ 4) không khớp với giới tính trên thẻ. {_CHECK_CARD_VI}",
    ),
}


@dataclass(frozen=True)
class PayloadWarning:
    """Something on an accepted card that a supervisor should look at before check-in."""

    code: str
    message_en: str
    message_vi: str


def reject(reason: str) -> PayloadRejected:
    """Return (for the caller to raise) the PayloadRejected for a code in REASONS."""
    message_en, message_vi = REASONS[reason]
    return PayloadRejected(reason, message_en, message_vi)


def warn(code: str) -> PayloadWarning:
    """Return the PayloadWarning for a code in WARNINGS."""
    message_en, message_vi = WARNINGS[code]
    return PayloadWarning(code, message_en, message_vi)

"""Tests for kiosk.payloads: the CCCD parser, its reasons, warnings and documentation.

Every person, ID number and address here is invented.
"""

import dataclasses
import datetime
import pathlib
import re
import traceback
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.errors import PayloadRejected
from kiosk.payloads import (
    MAX_PAYLOAD_BYTES,
    REASONS,
    WARNINGS,
    CccdCard,
    PayloadWarning,
    parse_payload,
)
from kiosk.payloads.cccd import SEXES, format_cccd, manual_card
from wire import limits

DOCS = pathlib.Path(__file__).resolve().parent.parent / "docs" / "payloads.md"

# An invented woman born in 1990: digit 4 is 1 (1900s, female), digits 5-6 are 90.
PERSON = {
    "id_number": "001190004217",
    "old_id": "012345678",
    "full_name": "Trần Thị Mai Anh",
    "birth": "05061990",
    "sex": "Nữ",
    "address": "Số 7 ngõ 12 phố Giả Định, phường Thử Nghiệm, quận Mẫu, Hà Nội",
    "issue": "10042021",
}
BIRTH = datetime.date(1990, 6, 5)
ISSUE = datetime.date(2021, 4, 10)


def payload(*extra: str, **changes: str) -> str:
    """Return PERSON's payload with some fields changed and extra fields appended."""
    fields = {**PERSON, **changes}
    return "|".join([*fields.values(), *extra])


# --- accepted payloads -----------------------------------------------------

OK_CASES = [
    pytest.param(payload(), {}, id="seven_field_card"),
    pytest.param(
        payload("", "Trần Văn Bình", "", ""),
        {"extra": ("", "Trần Văn Bình", "", "")},
        id="eleven_field_card",
    ),
    pytest.param(payload("", "", "", ""), {"extra": ("", "", "", "")}, id="eleven_field_card_all_empty"),
    pytest.param(payload(birth="05/06/1990", issue="10/04/2021"), {}, id="slashed_dates"),
    pytest.param(payload(birth="05/06/1990"), {}, id="mixed_date_styles"),
    pytest.param(payload().encode(), {}, id="utf8_bytes"),
    pytest.param(("\ufeff" + payload() + "\r\n").encode(), {}, id="bom_and_crlf_bytes"),
    pytest.param("\ufeff" + payload() + "\n", {}, id="bom_and_lf_text"),
    pytest.param(payload("", "", "", "") + "\r\n", {"extra": ("", "", "", "")}, id="crlf_after_empty_field"),
    pytest.param(unicodedata.normalize("NFD", payload()), {}, id="nfd_text_becomes_nfc"),
    pytest.param(unicodedata.normalize("NFD", payload()).encode(), {}, id="nfd_bytes_become_nfc"),
    pytest.param(payload(old_id=""), {"old_id": ""}, id="empty_old_id"),
    pytest.param(payload(old_id="001190004217"), {"old_id": "001190004217"}, id="old_id_12_digit_cmnd"),
    pytest.param(
        payload(id_number="079305001234", full_name="Lê Ngọc Hân", birth="12082005"),
        {"id_number": "079305001234", "full_name": "Lê Ngọc Hân", "birth_date": datetime.date(2005, 8, 12)},
        id="born_2000s_female_digit_3",
    ),
    pytest.param(
        payload(id_number="079204001234", full_name="Lê Minh Khôi", birth="29022004", sex="Nam"),
        {
            "id_number": "079204001234",
            "full_name": "Lê Minh Khôi",
            "birth_date": datetime.date(2004, 2, 29),
            "sex": "Nam",
        },
        id="born_2000s_male_digit_2_leap_day",
    ),
    pytest.param(
        payload(full_name="  Trần Thị  Mai Anh ", address=" Hà Nội "),
        {"full_name": "Trần Thị  Mai Anh", "address": "Hà Nội"},
        id="name_and_address_edges_stripped_inside_kept",
    ),
    pytest.param(payload(full_name="TRẦN THỊ MAI ANH"), {"full_name": "TRẦN THỊ MAI ANH"}, id="case_kept"),
    pytest.param(payload(address=""), {"address": ""}, id="empty_address"),
    pytest.param(payload(issue="05061990"), {"issue_date": BIRTH}, id="issued_on_birth_day"),
]


@pytest.mark.parametrize(("data", "changes"), OK_CASES)
def test_ok__accepted(data, changes):
    expected = {
        "id_number": PERSON["id_number"],
        "old_id": PERSON["old_id"],
        "full_name": PERSON["full_name"],
        "birth_date": BIRTH,
        "sex": PERSON["sex"],
        "address": PERSON["address"],
        "issue_date": ISSUE,
        "extra": (),
        "warnings": (),
        **changes,
    }
    card = parse_payload(data)
    assert dataclasses.asdict(card) == dataclasses.asdict(CccdCard(**expected))
    assert all(unicodedata.is_normalized("NFC", value) for value in (card.full_name, card.sex, card.address))


def test_ok__given_name_is_last_word():
    assert parse_payload(payload()).given_name == "Anh"
    assert CccdCard.kind == "cccd"


def test_ok__birth_on_today():
    assert parse_payload(payload(), today=BIRTH).birth_date == BIRTH


# --- rejected payloads -----------------------------------------------------

FAIL_CASES = [
    pytest.param(b"\xff\xfe\x00garbage", "not_utf8", id="not_utf8_garbage"),
    pytest.param(payload().encode("cp1258", errors="replace"), "not_utf8", id="not_utf8_legacy_codepage"),
    pytest.param(payload().encode()[:-30] + b"\xe1\xbb", "not_utf8", id="not_utf8_truncated"),
    pytest.param("001190004217|\ud800|x", "not_utf8", id="not_utf8_lone_surrogate_text"),
    pytest.param(bytes(range(256)) * 12, "too_long", id="too_long_3kb_binary"),
    pytest.param(payload(address="Hà Nội " * 300), "too_long", id="too_long_text"),
    pytest.param("1" * 10_000_000, "too_long", id="too_long_huge_text"),
    pytest.param("https://example.vn/check?id=1|2|3|4|5|6", "not_cccd", id="not_cccd_url_with_pipes"),
    pytest.param("https://example.vn/", "not_cccd", id="not_cccd_url"),
    pytest.param("WIFI:S:Tram-Y-Te;T:WPA;P:x|y;;", "not_cccd", id="not_cccd_wifi_code"),
    pytest.param("000201010211385400..5802VN6304ABCD", "not_cccd", id="not_cccd_payment_code"),
    pytest.param('{"id": "a|b|c|d|e|f|g"}', "not_cccd", id="not_cccd_json"),
    pytest.param("xin chào", "not_cccd", id="not_cccd_plain_text"),
    pytest.param("", "not_cccd", id="not_cccd_empty"),
    pytest.param(b"\xef\xbb\xbf\r\n", "not_cccd", id="not_cccd_bom_and_crlf_only"),
    pytest.param(None, "not_cccd", id="not_cccd_none"),
    pytest.param(1234, "not_cccd", id="not_cccd_int"),
    pytest.param("|".join(list(PERSON.values())[:6]), "wrong_field_count", id="wrong_field_count_6"),
    pytest.param(payload(""), "wrong_field_count", id="wrong_field_count_8"),
    pytest.param(payload("", "", ""), "wrong_field_count", id="wrong_field_count_10"),
    pytest.param(payload("", "", "", "", ""), "wrong_field_count", id="wrong_field_count_12"),
    pytest.param(payload(full_name="Trần\x00Anh"), "bad_characters", id="bad_characters_nul"),
    pytest.param(payload() + "\r\n" + payload(), "bad_characters", id="bad_characters_two_lines"),
    pytest.param(payload(address="Hà\x1b[2JNội"), "bad_characters", id="bad_characters_escape"),
    pytest.param(payload(id_number="00119000421"), "bad_id_number", id="bad_id_number_11_digits"),
    pytest.param(payload(id_number="0011900042170"), "bad_id_number", id="bad_id_number_13_digits"),
    pytest.param(payload(id_number="00119000421A"), "bad_id_number", id="bad_id_number_letter"),
    pytest.param(payload(id_number="００１１９０００４２１７"), "bad_id_number", id="bad_id_number_fullwidth"),
    pytest.param(payload(id_number=" 001190004217"), "bad_id_number", id="bad_id_number_space"),
    pytest.param(payload(id_number=""), "bad_id_number", id="bad_id_number_empty"),
    pytest.param(payload(old_id="01234567"), "bad_old_id", id="bad_old_id_8_digits"),
    pytest.param(payload(old_id="0011900042"), "bad_old_id", id="bad_old_id_10_digits"),
    pytest.param(payload(old_id="01234567X"), "bad_old_id", id="bad_old_id_letter"),
    pytest.param(payload(full_name=""), "empty_name", id="empty_name"),
    pytest.param(payload(full_name="   "), "empty_name", id="empty_name_spaces"),
    pytest.param(payload(full_name="Nguyễn " + "Thị " * 24 + "Lan"), "name_too_long", id="name_too_long"),
    pytest.param(payload(birth="31021990"), "bad_date", id="bad_date_31_feb"),
    pytest.param(payload(birth="29021990"), "bad_date", id="bad_date_29_feb_not_leap"),
    pytest.param(payload(birth="05001990"), "bad_date", id="bad_date_month_00"),
    pytest.param(payload(birth="00061990"), "bad_date", id="bad_date_day_00"),
    pytest.param(payload(birth="05131990"), "bad_date", id="bad_date_month_13"),
    pytest.param(payload(birth="05060000"), "bad_date", id="bad_date_year_0000"),
    pytest.param(payload(birth="1990-06-05"), "bad_date", id="bad_date_iso"),
    pytest.param(payload(birth="5061990"), "bad_date", id="bad_date_7_digits"),
    pytest.param(payload(birth="05/061990"), "bad_date", id="bad_date_half_slashed"),
    pytest.param(payload(birth=""), "bad_date", id="bad_date_empty"),
    pytest.param(payload(issue="30/02/2021"), "bad_date", id="bad_date_issue_30_feb"),
    pytest.param(payload(issue="10042021 "), "bad_date", id="bad_date_issue_trailing_space"),
    pytest.param(payload(sex="nam"), "bad_sex", id="bad_sex_lowercase"),
    pytest.param(payload(sex="Nu"), "bad_sex", id="bad_sex_no_diacritics"),
    pytest.param(payload(sex="Female"), "bad_sex", id="bad_sex_english"),
    pytest.param(payload(sex=""), "bad_sex", id="bad_sex_empty"),
    pytest.param(payload(issue="04061990"), "issue_before_birth", id="issue_before_birth"),
]


@pytest.mark.parametrize(("data", "reason"), FAIL_CASES)
def test_fail__rejected(data, reason):
    with pytest.raises(PayloadRejected) as caught:
        parse_payload(data)
    assert caught.value.reason == reason
    assert (caught.value.message_en, caught.value.message_vi) == REASONS[reason]


def test_fail__birth_in_future():
    with pytest.raises(PayloadRejected) as caught:
        parse_payload(payload(), today=BIRTH - datetime.timedelta(days=1))
    assert caught.value.reason == "birth_in_future"


def test_fail__table_covers_every_reason():
    tested = {case.values[1] for case in FAIL_CASES} | {"birth_in_future"}
    assert tested == set(REASONS)


@pytest.mark.parametrize(("data", "reason"), FAIL_CASES)
def test_fail__rejection_never_quotes_personal_data(data, reason):
    with pytest.raises(PayloadRejected) as caught:
        parse_payload(data)
    exc = caught.value
    # A traceback shows a chained exception too; none may be attached.
    assert exc.__cause__ is None and (exc.__context__ is None or exc.__suppress_context__)
    shown = " ".join([str(exc), repr(exc), exc.message_en, exc.message_vi, *traceback.format_exception(exc)])
    for value in (PERSON["id_number"], PERSON["old_id"], PERSON["full_name"], PERSON["address"], "1990"):
        assert value not in shown


# --- warnings --------------------------------------------------------------

WARNING_CASES = [
    pytest.param({}, (), id="consistent_id_no_warning"),
    pytest.param({"id_number": "001390004217"}, ("id_century_mismatch",), id="century_mismatch"),
    pytest.param({"id_number": "001191004217"}, ("id_year_mismatch",), id="year_mismatch"),
    pytest.param({"id_number": "001090004217"}, ("id_sex_mismatch",), id="sex_mismatch"),
    pytest.param({"sex": "Nam"}, ("id_sex_mismatch",), id="sex_mismatch_field_side"),
    pytest.param(
        {"id_number": "001289004217"},
        ("id_century_mismatch", "id_year_mismatch", "id_sex_mismatch"),
        id="all_three",
    ),
    pytest.param({"id_number": "001590004217", "birth": "05062190", "issue": "10042191"}, (), id="born_2100s_female"),
    pytest.param({"id_number": "001099004217", "birth": "31121999", "sex": "Nam"}, (), id="last_day_of_1900s"),
    pytest.param({"id_number": "001200004217", "birth": "01012000", "sex": "Nam"}, (), id="first_day_of_2000s"),
]


@pytest.mark.parametrize(("changes", "codes"), WARNING_CASES)
def test_ok__warnings(changes, codes):
    card = parse_payload(payload(**changes))
    assert tuple(w.code for w in card.warnings) == codes
    assert all(w == PayloadWarning(w.code, *WARNINGS[w.code]) for w in card.warnings)


def test_ok__table_covers_every_warning():
    tested = {code for case in WARNING_CASES for code in case.values[1]}
    assert tested == set(WARNINGS)


# --- messages and documentation ---------------------------------------------

ALL_MESSAGES = [pytest.param(code, *sentences, id=code) for code, sentences in {**REASONS, **WARNINGS}.items()]


@pytest.mark.parametrize(("code", "message_en", "message_vi"), ALL_MESSAGES)
def test_ok__codes_and_sentences_are_well_formed(code, message_en, message_vi):
    assert re.fullmatch(r"[a-z0-9]+(?:_[a-z0-9]+)*", code)
    assert message_en.endswith(".") and message_vi.endswith(".")
    assert unicodedata.is_normalized("NFC", message_vi)
    assert any(letter in message_vi for letter in "ăâđêôơưàảãáạèẻẽéẹìỉĩíịòỏõóọùủũúụỳỷỹýỵ")
    assert not set(REASONS) & set(WARNINGS)


@pytest.mark.parametrize(("code", "message_en", "message_vi"), ALL_MESSAGES)
def test_ok__code_is_documented(code, message_en, message_vi):
    docs = DOCS.read_text(encoding="utf-8")
    assert f"### `{code}`" in docs, f"{code} is missing from docs/payloads.md"
    assert message_en in docs, f"the English sentence of {code} differs in docs/payloads.md"
    assert message_vi in docs, f"the Vietnamese sentence of {code} differs in docs/payloads.md"


def test_fail__docs_name_no_unknown_code():
    documented = set(re.findall(r"^### `([a-z0-9_]+)`", DOCS.read_text(encoding="utf-8"), re.MULTILINE))
    assert documented - set(REASONS) - set(WARNINGS) == set()


def test_ok__docs_state_the_length_bound():
    assert f"{MAX_PAYLOAD_BYTES} bytes" in DOCS.read_text(encoding="utf-8")


# --- properties --------------------------------------------------------------

FAST = settings(max_examples=150, deadline=None)

FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô", "Dương"]
SYLLABLES = ["Thị", "Văn", "Hữu", "Đức", "Minh", "Thu", "Ngọc", "Quốc", "Lan", "Hương", "Tuấn", "Khánh", "Quỳnh", "Yến"]
NO_PIPE_TEXT = st.text(
    alphabet=st.characters(exclude_categories=("Cc", "Cs"), exclude_characters="|"), max_size=30
).map(lambda text: unicodedata.normalize("NFC", text).strip())
STABLE_TEXT = NO_PIPE_TEXT.filter(lambda text: unicodedata.is_normalized("NFC", text))
VIETNAMESE_NAMES = st.builds(
    lambda family, rest: " ".join([family, *rest]),
    st.sampled_from(FAMILY),
    st.lists(st.sampled_from(SYLLABLES), min_size=1, max_size=3),
)


@st.composite
def cards(draw, names=st.one_of(VIETNAMESE_NAMES, STABLE_TEXT.filter(bool))):
    """Draw a valid card whose ID number agrees with its date of birth and sex."""
    birth = draw(st.dates(datetime.date(1900, 1, 1), datetime.date(2399, 12, 31)))
    sex = draw(st.sampled_from(SEXES))
    century_sex = (birth.year // 100 - 19) * 2 + SEXES.index(sex)
    province = draw(st.text("0123456789", min_size=3, max_size=3))
    serial = draw(st.text("0123456789", min_size=6, max_size=6))
    return CccdCard(
        id_number=f"{province}{century_sex}{birth.year % 100:02d}{serial}",
        old_id=draw(st.sampled_from(["", "012345678", "987654321"])),
        full_name=draw(names),
        birth_date=birth,
        sex=sex,
        address=draw(STABLE_TEXT),
        issue_date=birth + datetime.timedelta(days=draw(st.integers(0, 40_000))),
        extra=draw(st.one_of(st.just(()), st.tuples(*[STABLE_TEXT] * 4))),
    )


@FAST
@given(st.binary(max_size=MAX_PAYLOAD_BYTES + 100))
def test_fail__arbitrary_bytes_raise_only_payload_rejected(data):
    try:
        parse_payload(data)
    except PayloadRejected as exc:
        assert exc.reason in REASONS


@FAST
@given(st.one_of(st.text(), st.lists(st.text(), min_size=5, max_size=13).map("|".join)))
def test_fail__arbitrary_text_raises_only_payload_rejected(text):
    try:
        parse_payload(text)
    except PayloadRejected as exc:
        assert exc.reason in REASONS


@FAST
@given(st.integers(0, 10), st.text(max_size=40))
def test_fail__valid_card_with_one_field_replaced_raises_only_payload_rejected(index, text):
    fields = payload("", "", "", "").split("|")
    fields[index] = text
    try:
        parse_payload("|".join(fields))
    except PayloadRejected as exc:
        assert exc.reason in REASONS


@FAST
@given(cards(), st.booleans(), st.booleans())
def test_ok__round_trip(card, slashed_dates, as_bytes):
    text = format_cccd(card, slashed_dates=slashed_dates)
    parsed = parse_payload(text.encode() if as_bytes else text)
    assert dataclasses.asdict(parsed) == dataclasses.asdict(card)


@settings(max_examples=60, deadline=None)
@given(cards(names=VIETNAMESE_NAMES))
def test_ok__repr_reveals_no_personal_data(card):
    card = parse_payload(format_cccd(card))
    codes = [w.code for w in card.warnings]
    for shown in (repr(card), str(card), f"{card}"):
        assert shown == f"CccdCard(<redacted>, warnings={codes!r})"
        assert card.id_number not in shown and card.full_name not in shown and card.given_name not in shown


# --- what the hub would refuse, refused here --------------------------------------------------------------------------


@pytest.mark.parametrize("length", [limits.FULL_NAME_MAX, limits.FULL_NAME_MAX + 1])
def test_fail__a_name_longer_than_the_hub_holds_is_refused_scanned_or_typed(length):
    name = ("Nguyễn Thị Lan " * 10)[: length - 1].strip().ljust(length - 1, "a") + "n"
    assert len(name) == length
    scanned, typed = (lambda: parse_payload(payload(full_name=f"  {name}  ")),
                      lambda: manual_card("001190012345", name, "1990-03-15", "Nữ"))
    for read in (scanned, typed):
        if length <= limits.FULL_NAME_MAX:
            assert read().full_name == name
        else:
            with pytest.raises(PayloadRejected) as caught:
                read()
            assert caught.value.reason == "name_too_long" and str(limits.FULL_NAME_MAX) in caught.value.message_vi


@pytest.mark.parametrize("field", ["full_name", "sex", "old_id", "id_number", "birth_date"])
@pytest.mark.parametrize("bad", ["\x00", "\x1b", "\ud800"])
def test_fail__typed_details_with_control_characters_or_lone_surrogates_are_refused(field, bad):
    details = {"id_number": "001190012345", "full_name": "Nguyễn Thị Lan", "birth_date": "1990-03-15", "sex": "Nữ",
               "old_id": ""}
    details[field] += bad
    with pytest.raises(PayloadRejected) as caught:
        manual_card(details.pop("id_number"), details.pop("full_name"), details.pop("birth_date"), details.pop("sex"),
                    **details)
    assert caught.value.reason == "bad_characters"

"""wire.identity, the one rule kiosk and hub use to tell whether two records of an ID number are one person's.

Classes, not cases: any Unicode form, letter case or spacing of the same details
is the same person; any change of a name's letters or accents, a birth date, the
sex, or an old ID that both records have, is a difference, and only that field
is reported.
"""

from __future__ import annotations

import datetime
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wire import identity

LAN = {"full_name": "Nguyễn Thị Lan", "birth_date": "1990-03-15", "sex": "Nữ", "old_id": "123456789"}

SYLLABLES = ["Nguyễn", "Thị", "Lan", "Trần", "Văn", "Hùng", "Lê", "Mai", "Phạm", "Minh", "Khoa", "Đặng", "Ngọc", "Ánh",
             "Hoàng", "Yến", "Bùi", "Đức", "Thắng", "Vũ", "Thuỷ", "Thủy", "Hương", "Quốc", "Ưng"]
ACCENTED = {"a": "â", "â": "ă", "ă": "á", "e": "ê", "ê": "ế", "o": "ô", "ô": "ơ", "ơ": "ờ", "u": "ư", "ư": "ừ", "i": "í",
            "y": "ý", "d": "đ"}
"""A letter and another one a slip of the keyboard (or another person) gives: Lan and Lân are different people."""

names = st.lists(st.sampled_from(SYLLABLES), min_size=2, max_size=5).map(" ".join)
birth_dates = st.dates(datetime.date(1900, 1, 1), datetime.date(2024, 12, 31))
old_ids = st.one_of(st.just(""), st.from_regex(r"[0-9]{9}|[0-9]{12}", fullmatch=True))
people = st.builds(
    lambda name, born, sex, old: {"full_name": name, "birth_date": born.isoformat(), "sex": sex, "old_id": old},
    names, birth_dates, st.sampled_from(["Nam", "Nữ"]), old_ids,
)


@st.composite
def respelled(draw, text: str) -> str:
    """The same text as another keyboard, input method or hand would write it: NFC or NFD, any case, extra spaces."""
    form = draw(st.sampled_from(["NFC", "NFD"]))
    cased = "".join(c.upper() if draw(st.booleans()) else c.lower() for c in text)
    gaps = [" " * draw(st.integers(1, 3)) for _ in text.split()]
    words = unicodedata.normalize(form, cased).split()
    edge = " " * draw(st.integers(0, 2))
    return edge + "".join(word + gap for word, gap in zip(words, gaps)).rstrip() + edge


@st.composite
def mistyped(draw, name: str) -> str:
    """Another name: one letter accented otherwise, or a syllable more or fewer."""
    letters = [i for i, c in enumerate(name) if c.lower() in ACCENTED]
    how = draw(st.sampled_from(["accent", "more", "fewer"] if letters else ["more", "fewer"]))
    if how == "accent":
        i = draw(st.sampled_from(letters))
        return name[:i] + ACCENTED[name[i].lower()] + name[i + 1:]
    words = name.split()
    if how == "fewer" and len(words) > 1:
        return " ".join(words[:-1])
    return f"{name} {draw(st.sampled_from(SYLLABLES))}"


@given(person=people, data=st.data())
def test_ok__form_case_and_spacing_never_count(person, data):
    again = {**person, "full_name": data.draw(respelled(person["full_name"])), "sex": data.draw(respelled(person["sex"]))}
    assert identity.differences(person, again) == []
    assert identity.disagreements([person, again, person]) == []


@given(person=people, data=st.data())
def test_fail__each_changed_field_is_reported_and_only_it(person, data):
    changed = data.draw(st.sets(st.sampled_from(identity.FIELDS), min_size=1))
    other = dict(person)
    if "full_name" in changed:
        other["full_name"] = data.draw(respelled(data.draw(mistyped(person["full_name"]))))
    if "birth_date" in changed:
        shift = data.draw(st.integers(-40000, 40000).filter(bool))
        other["birth_date"] = (datetime.date.fromisoformat(person["birth_date"]) + datetime.timedelta(days=shift)).isoformat()
    if "sex" in changed:
        other["sex"] = {"Nam": "Nữ", "Nữ": "Nam"}[person["sex"]]
    if "old_id" in changed:
        person = {**person, "old_id": person["old_id"] or "123456789"}
        other["old_id"] = data.draw(old_ids.filter(lambda o: o and o != person["old_id"]))
    assert identity.differences(person, other) == [f for f in identity.FIELDS if f in changed]


@given(person=people, old=old_ids)
def test_ok__an_old_id_counts_only_when_both_records_have_one(person, old):
    assert identity.differences({**person, "old_id": ""}, {**person, "old_id": old}) == []
    assert identity.differences({**person, "old_id": old}, {**person, "old_id": None}) == []


@pytest.mark.parametrize("a, b, fields", [
    (LAN, {**LAN, "full_name": "Nguyễn Thị Lân", "birth_date": "1990-03-16"}, ["full_name", "birth_date"]),
    (LAN, {**LAN, "full_name": "NGUYỄN  THỊ LAN "}, []),
    (LAN, {**LAN, "full_name": unicodedata.normalize("NFD", "Nguyễn Thị Lan")}, []),
    (LAN, {**LAN, "full_name": "Nguyen Thi Lan"}, ["full_name"]),  # the accents are the name: Lan is not Lân
    (LAN, {**LAN, "old_id": "987654321"}, ["old_id"]),
    (LAN, {key: value for key, value in LAN.items() if key != "old_id"}, []),
])
def test_ok__the_issue_s_cases(a, b, fields):
    assert identity.differences(a, b) == fields


def test_ok__identity_keeps_what_was_written():
    assert identity.identity({"full_name": " Lan ", "birth_date": "1990-03-15", "sex": "Nữ", "address": "x"}) == {
        "full_name": " Lan ", "birth_date": "1990-03-15", "sex": "Nữ", "old_id": "",
    }

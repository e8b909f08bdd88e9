"""The desk: a decoded code becomes a ticket or a clear refusal, with feedback and nothing personal shown."""



from kiosk.decode import Code
from kiosk.scan.desk import Desk

from .conftest import LAN, MAI_SEX_MISMATCH
from .test_checkin import fill_disk



def code(text: str | bytes) -> Code:
    raw = text.encode() if isinstance(text, str) else text
    return Code(raw.decode("utf-8", "replace"), raw, "zxing")


def make_desk(site, feedback, outcomes):
    return Desk(site, feedback, announce=outcomes.append)


def test_ok__card_gets_a_ticket_and_the_public_sees_only_the_given_name(store, site, feedback):
    outcomes = []
    outcome = make_desk(site, feedback, outcomes).handle(code(LAN))
    assert outcomes == [outcome]
    assert (outcome.accepted, outcome.ticket, outcome.given_name, outcome.returning) == (True, 1, "Lan", False)
    shown = str(outcome.public())
    for private in ("001190012345", "Nguyễn", "15031990", "Lê Lợi", "123456789"):
        assert private not in shown


def test_ok__returning_person_is_told_so(store, site, feedback):
    desk = make_desk(site, feedback, [])
    desk.handle(code(LAN))
    again = desk.handle(code(LAN))
    assert (again.ticket, again.returning) == (1, True)


def test_ok__id_mismatch_is_a_warning_not_a_refusal(store, site, feedback):
    outcome = make_desk(site, feedback, []).handle(code(MAI_SEX_MISMATCH))
    assert outcome.accepted and outcome.warnings


def test_fail__garbage_is_refused_with_a_reason_in_both_languages(store, site, feedback):
    outcomes = []
    outcome = make_desk(site, feedback, outcomes).handle(code(b"\xff\xfe" * 1500))
    assert not outcome.accepted and outcome.reason and outcome.message_vi and outcome.message_en
    assert outcome.ticket is None and store.db["tickets"].count == 0
    assert outcomes == [outcome]


def test_fail__url_is_refused(store, site, feedback):
    outcome = make_desk(site, feedback, []).handle(code("https://example.org/x"))
    assert (outcome.accepted, outcome.reason) == (False, "not_cccd")


def test_fail__full_disk_refuses_and_saves_nothing(store, site, feedback):
    fill_disk(store)
    desk = make_desk(site, feedback, [])
    outcomes = [desk.handle(code(LAN.replace("001190012345", f"001190{i:06d}"))) for i in range(150)]
    refused = [o for o in outcomes if not o.accepted]
    assert refused and refused[0].reason == "not_saved"
    assert store.db["tickets"].count == sum(o.accepted for o in outcomes)


LAN_OTHER_CARD = LAN.replace("Nguyễn Thị Lan", "Nguyễn Thị Lân").replace("15031990", "16031990")
"""A card with Lan's ID number but another name and birth date."""


def test_fail__a_card_whose_id_is_known_with_other_details_is_not_attached(store, site, feedback):
    desk = make_desk(site, feedback, [])
    desk.handle(code(LAN))
    outcome = desk.handle(code(LAN_OTHER_CARD))
    assert (outcome.accepted, outcome.reason, outcome.ticket) == (False, "identity_mismatch", None)
    shown = str(outcome.public())
    for private in ("001190012345", "2345", "Nguyễn", "Lan", "Lân", "1990"):
        assert private not in shown
    assert store.db["tickets"].get(1)["scans"] == 1, "not counted as Lan's return"


def test_ok__a_held_scan_becomes_one_question_for_the_supervisor_and_nothing_personal_is_logged(store, site, feedback, caplog):
    desk = make_desk(site, feedback, [])
    desk.handle(code(LAN))
    caplog.set_level("DEBUG")
    outcomes = [desk.handle(code(LAN_OTHER_CARD)) for _ in range(3)]
    assert {(o.message_vi, o.message_en) for o in outcomes} == {
        ("Vui lòng gặp cán bộ giám sát để kiểm tra thông tin.", "Please see the supervisor to check your details.")}
    [question] = store.db["identity_questions"].rows
    assert (question["full_name"], question["birth_date"], question["scans"], question["resolution"]) == (
        "Nguyễn Thị Lân", "1990-03-16", 3, None)
    assert store.db.execute("select accepted, reason from scans where ticket_id is null").fetchall() == [(0, "identity_mismatch")] * 3
    assert store.db["events"].count == 1, "asking writes no event: nobody's record changed"
    assert store.db["people"].get("001190012345")["full_name"] == "Nguyễn Thị Lan"
    assert "full_name, birth_date" in caplog.text
    for private in ("001190012345", "2345", "Nguyễn", "Lân", "1990", "16031990"):
        assert private not in caplog.text


def test_ok__another_card_of_the_same_id_is_another_question(store, site, feedback):
    desk = make_desk(site, feedback, [])
    desk.handle(code(LAN))
    desk.handle(code(LAN_OTHER_CARD))
    desk.handle(code(LAN.replace("|Nữ|", "|Nam|")))
    assert [q["sex"] for q in store.db["identity_questions"].rows] == ["Nữ", "Nam"]


def test_ok__the_same_person_respelled_by_another_card_is_welcomed_back(store, site, feedback):
    desk = make_desk(site, feedback, [])
    desk.handle(code(LAN))
    again = desk.handle(code(LAN.replace("Nguyễn Thị Lan", "NGUYỄN THỊ  LAN").replace("|123456789|", "||")))
    assert (again.accepted, again.ticket, again.returning) == (True, 1, True)
    assert store.db["identity_questions"].count == 0

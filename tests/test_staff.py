"""Staff members: adding, PIN checks, enabling, and the `kiosk staff` commands (the PIN rule and hash: test_staff_pins.py)."""

import io
import json
from datetime import datetime, timezone

import pytest

from kiosk import cli
from kiosk.errors import StaffError
from kiosk.queue.staff import add_staff, get_staff, list_staff, set_active, set_pin, verify_pin

NOW = datetime(2026, 3, 2, 7, 30, tzinfo=timezone.utc)


def test_ok__verify_pin_returns_the_member_for_the_right_pin_only(store):
    lan = add_staff(store, "Nguyễn Thị Lan", "supervisor", "2580", NOW)
    assert verify_pin(store, lan.id, "2580") == lan
    assert verify_pin(store, lan.id, "2581") is None
    assert verify_pin(store, lan.id + 1, "2580") is None
    row = next(store.db["staff"].rows)
    others = {key: value for key, value in row.items() if key != "pin_hash"}
    assert row["created_at"] == "2026-03-02T07:30:00+00:00" and "2580" not in json.dumps(others)
    # the hash is scrypt's, whose random hex may hold "2580" by chance (it did once in make test): its fields, not a search
    scheme, *costs, salt, digest = row["pin_hash"].split("$")
    assert scheme == "scrypt" and len(bytes.fromhex(salt)) == 16 and len(bytes.fromhex(digest)) >= 32


def test_ok__names_are_stored_nfc_and_trimmed(store):
    decomposed = "Tra\u0302\u0300n Va\u0306n Hu\u0300ng "
    member = add_staff(store, decomposed, "vaccinator", "4826", NOW)
    assert member.name == "Trần Văn Hùng" and get_staff(store, member.id) == member


@pytest.mark.parametrize(
    "name, role, pin, says",
    [
        ("  ", "supervisor", "2580", "empty"), ("x" * 61, "supervisor", "2580", "longer"), ("A\nB", "supervisor", "2580", "control"),
        ("Lan", "admin", "2580", "unknown role"), ("Lan", "supervisor", "1111", "easy to guess"),
    ],
)
def test_fail__add_staff_refuses(store, name, role, pin, says):
    with pytest.raises(StaffError, match=says):
        add_staff(store, name, role, pin, NOW)
    assert list_staff(store, active_only=False) == []


def test_fail__a_name_is_taken_once(store):
    add_staff(store, "Lan", "supervisor", "2580", NOW)
    with pytest.raises(StaffError, match="already exists"):
        add_staff(store, "Lan", "vaccinator", "4826", NOW)


def test_ok__a_disabled_member_is_not_listed_and_cannot_sign_in(store):
    lan = add_staff(store, "Lan", "supervisor", "2580", NOW)
    add_staff(store, "Bình", "vaccinator", "4826", NOW)
    assert set_active(store, "Lan", False).active is False
    assert [m.name for m in list_staff(store)] == ["Bình"]
    assert [m.name for m in list_staff(store, active_only=False)] == ["Bình", "Lan"]
    assert verify_pin(store, lan.id, "2580") is None
    set_active(store, "Lan", True)
    assert verify_pin(store, lan.id, "2580") == lan


def test_ok__set_pin_replaces_the_old_pin(store):
    lan = add_staff(store, "Lan", "supervisor", "2580", NOW)
    set_pin(store, "Lan", "9031")
    assert verify_pin(store, lan.id, "2580") is None and verify_pin(store, lan.id, "9031") == lan


@pytest.mark.parametrize("change", [lambda s: set_active(s, "Nobody", False), lambda s: set_pin(s, "Nobody", "2580")])
def test_fail__changing_an_unknown_member(store, change):
    with pytest.raises(StaffError, match="no staff member is named"):
        change(store)


def test_ok__api_client_is_recorded_as_the_api_token():
    from kiosk.queue.staff import API_CLIENT, Staff

    assert API_CLIENT.is_token and API_CLIENT.actor == "api token" and API_CLIENT.id is None
    assert Staff(3, "Lan", "supervisor").actor == "Lan"


def kiosk_staff(monkeypatch, *args, stdin=""):
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    monkeypatch.delenv("KIOSK_CONFIG", raising=False)
    return cli.main(["staff", *args])


def test_ok__cli_adds_lists_and_disables_staff(monkeypatch, capsys, tmp_path):
    db = str(tmp_path / "k.db")
    assert kiosk_staff(monkeypatch, "add", "Nguyễn Thị Lan", "--role", "supervisor", "--pin-stdin", "--db", db, stdin="2580\n") == 0
    assert kiosk_staff(monkeypatch, "add", "Bình", "--role", "vaccinator", "--pin-stdin", "--db", db, stdin="4826\n") == 0
    assert kiosk_staff(monkeypatch, "disable", "Bình", "--db", db) == 0
    capsys.readouterr()
    assert kiosk_staff(monkeypatch, "list", "--json", "--db", db) == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed == [
        {"id": 2, "name": "Bình", "role": "vaccinator", "active": False},
        {"id": 1, "name": "Nguyễn Thị Lan", "role": "supervisor", "active": True},
    ]
    assert kiosk_staff(monkeypatch, "enable", "Bình", "--db", db) == 0
    assert kiosk_staff(monkeypatch, "list", "--db", db) == 0
    assert "vaccinator  active    Bình" in capsys.readouterr().out


def test_ok__cli_sets_a_new_pin(monkeypatch, tmp_path):
    from kiosk.queue.store import Store

    db = str(tmp_path / "k.db")
    kiosk_staff(monkeypatch, "add", "Lan", "--role", "supervisor", "--pin-stdin", "--db", db, stdin="2580\n")
    assert kiosk_staff(monkeypatch, "pin", "Lan", "--pin-stdin", "--db", db, stdin="9031\n") == 0
    store = Store(db)
    assert verify_pin(store, 1, "9031") is not None and verify_pin(store, 1, "2580") is None
    store.close()


@pytest.mark.parametrize(
    "args, stdin, says",
    [
        (["add", "Lan", "--role", "supervisor", "--pin-stdin"], "4321\n", "easy to guess"),
        (["add", "Lan", "--role", "supervisor", "--pin-stdin"], "", "4 to 8 digits"),
        (["disable", "Nobody"], "", "no staff member"),
    ],
)
def test_fail__cli_says_why_and_exits_2(monkeypatch, capsys, tmp_path, args, stdin, says):
    assert kiosk_staff(monkeypatch, *args, "--db", str(tmp_path / "k.db"), stdin=stdin) == 2
    error = capsys.readouterr().err
    assert says in error and "4321" not in error


def test_fail__cli_refuses_two_different_pins_typed_at_the_terminal(monkeypatch, capsys, tmp_path):
    typed = iter(["2580", "2581"])
    monkeypatch.setattr("getpass.getpass", lambda prompt: next(typed))
    assert kiosk_staff(monkeypatch, "add", "Lan", "--role", "supervisor", "--db", str(tmp_path / "k.db")) == 2
    assert "differ" in capsys.readouterr().err

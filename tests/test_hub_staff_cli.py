"""`hub staff add|list|disable|password`: accounts from the command line, passwords from stdin only, every change audited."""

from __future__ import annotations

import io
import json
import sys

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from hub import cli, passwords
from hub.store.sqlite import open_store

PASSWORD = "ngaytiem2026"


def run(capsys, monkeypatch, *argv: str, stdin: str = "") -> tuple[int, str, str]:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_ok__add_list_password_disable(tmp_path, capsys, monkeypatch):
    db = str(tmp_path / "hub.db")
    code, out, _ = run(capsys, monkeypatch, "staff", "add", " Nguyễn  Thị Lan", "--role", "data", "--password-stdin", "--db", db,
                       stdin=PASSWORD + "\n")
    assert code == 0 and "added Nguyễn Thị Lan (data)" in out and PASSWORD not in out
    code, out, _ = run(capsys, monkeypatch, "staff", "list", "--json", "--db", db)
    [row] = json.loads(out)
    assert row["name"] == "Nguyễn Thị Lan" and row["role"] == "data" and row["disabled_at"] is None
    assert "password" not in json.dumps(row) and "scrypt" not in out
    code, out, _ = run(capsys, monkeypatch, "staff", "password", "nguyễn thị lan", "--password-stdin", "--db", db,
                       stdin="mật khẩu mới 2026\r\n")
    assert code == 0
    with open_store(db) as store:
        assert passwords.verify_password("mật khẩu mới 2026", store.staff_named("Nguyễn Thị Lan").password_hash)
    assert run(capsys, monkeypatch, "staff", "disable", "NGUYỄN THỊ LAN", "--db", db)[0] == 0
    code, out, _ = run(capsys, monkeypatch, "staff", "list", "--db", db)
    assert "Nguyễn Thị Lan" in out and "data" in out and out.splitlines()[1].split()[-1] != "-"
    with open_store(db) as store:
        assert [e.action for e in store.audit_log()] == ["staff_disable", "staff_password", "staff_add"]
        assert {e.staff_id for e in store.audit_log()} == {None}


@pytest.mark.parametrize("argv, stdin, message", [
    (["add", "Lan", "--role", "data", "--password-stdin"], "short1\n", "at least 10 characters"),
    (["add", "Lan", "--role", "data", "--password-stdin"], "\n", "at least 10 characters"),
    (["add", "Lan", "--role", "data", "--password-stdin"], "onlyletters\n", "two kinds"),
    (["add", "   ", "--role", "data", "--password-stdin"], PASSWORD + "\n", "the name is empty"),
    (["add", "Lan1234567", "--role", "data", "--password-stdin"], "lan1234567\n", "may not be the staff member's name"),
    (["password", "Nobody", "--password-stdin"], PASSWORD + "\n", "no account named 'Nobody'"),
    (["disable", "Nobody"], "", "no account named 'Nobody'"),
])
def test_fail__refused_with_one_line_and_status_2(tmp_path, capsys, monkeypatch, argv, stdin, message):
    db = str(tmp_path / "hub.db")
    code, out, err = run(capsys, monkeypatch, "staff", *argv, "--db", db, stdin=stdin)
    assert code == 2 and message in err and len(err.splitlines()) == 1
    with open_store(db) as store:
        assert store.list_staff() == [] and store.audit_log() == []


def test_fail__a_name_taken_in_another_case(tmp_path, capsys, monkeypatch):
    db = str(tmp_path / "hub.db")
    add = ["staff", "add", "Lan", "--role", "admin", "--password-stdin", "--db", db]
    assert run(capsys, monkeypatch, *add, stdin=PASSWORD + "\n")[0] == 0
    code, _, err = run(capsys, monkeypatch, "staff", "add", "LAN", "--role", "data", "--password-stdin", "--db", db, stdin=PASSWORD + "\n")
    assert code == 2 and "already an account" in err


def test_fail__no_password_on_the_command_line(tmp_path, capsys, monkeypatch):
    with pytest.raises(SystemExit):
        run(capsys, monkeypatch, "staff", "add", "Lan", "--role", "data", "--db", str(tmp_path / "hub.db"))
    with pytest.raises(SystemExit):
        run(capsys, monkeypatch, "staff", "add", "Lan", "--role", "supervisor", "--password-stdin", "--db", str(tmp_path / "hub.db"))


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.text(max_size=100) | st.sampled_from(["-x", "--role", " \u200b ", "Lan\x00", "ＬＡＮ"]))
def test_fail__any_name_is_refused_whole_or_kept_whole(tmp_path_factory, name):
    # garbage in NAME never crashes `hub staff add`: exit 2 and nothing stored, or exit 0 and found again by that name
    db = str(tmp_path_factory.mktemp("staff") / "hub.db")
    code = subprocess_free_add(db, name)
    with open_store(db) as store:
        found = store.list_staff()
        if code == 0:
            assert [m.name for m in found] == [passwords.check_name(name)] and store.staff_named(name) == found[0]
            assert [e.action for e in store.audit_log()] == ["staff_add"]
        else:
            assert code == 2 and found == [] and store.audit_log() == []


def subprocess_free_add(db: str, name: str) -> int:
    """`hub staff add NAME` in this process (cli.main), the password on stdin."""
    stdin, sys.stdin = sys.stdin, io.StringIO(PASSWORD + "\n")
    try:
        return cli.main(["--log-level", "ERROR", "staff", "add", name, "--role", "officer", "--password-stdin", "--db", db])
    except SystemExit as refused:  # argparse: a name that reads as an option ("-x")
        return refused.code
    finally:
        sys.stdin = stdin


def test_ok__grant_and_revoke_see_people_for_an_officer(tmp_path, capsys, monkeypatch):
    db = str(tmp_path / "hub.db")
    run(capsys, monkeypatch, "staff", "add", "Lê Hoa", "--role", "officer", "--password-stdin", "--db", db, stdin=PASSWORD + "\n")
    code, out, _ = run(capsys, monkeypatch, "staff", "grant", "lê hoa", "see_people", "--db", db)
    assert code == 0 and "Lê Hoa has see_people" in out
    code, out, _ = run(capsys, monkeypatch, "staff", "list", "--json", "--db", db)
    assert json.loads(out)[0]["rights"] == ["see_people"]
    assert run(capsys, monkeypatch, "staff", "grant", "Lê Hoa", "see_people", "--db", db)[0] == 0  # again: no change
    code, out, _ = run(capsys, monkeypatch, "staff", "revoke", "LÊ HOA", "see_people", "--db", db)
    assert code == 0 and "no longer has see_people" in out
    with open_store(db) as store:
        assert not store.staff_named("Lê Hoa").has("see_people")
        assert [e.action for e in store.audit_log()][:3] == ["staff_revoke", "staff_grant", "staff_grant"]


@pytest.mark.parametrize("argv, message", [
    (["grant", "Nobody", "see_people"], "no account named 'Nobody'"),
    (["revoke", "Nobody", "see_people"], "no account named 'Nobody'"),
    (["grant", "Trần Văn Bình", "see_people"], "rights are for officers"),
])
def test_fail__a_right_for_no_account_or_a_role_that_has_it_is_refused(tmp_path, capsys, monkeypatch, argv, message):
    db = str(tmp_path / "hub.db")
    run(capsys, monkeypatch, "staff", "add", "Trần Văn Bình", "--role", "data", "--password-stdin", "--db", db, stdin=PASSWORD + "\n")
    code, _, err = run(capsys, monkeypatch, "staff", *argv, "--db", db)
    assert code == 2 and message in err


def test_fail__an_unknown_right_is_refused_by_the_arguments(tmp_path, capsys, monkeypatch):
    with pytest.raises(SystemExit):
        run(capsys, monkeypatch, "staff", "grant", "Lê Hoa", "see_everything", "--db", str(tmp_path / "hub.db"))

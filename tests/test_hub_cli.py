"""`hub enroll`, `hub passwd`, `hub stats`, `hub quarantine`, `hub conflicts`; the password file and ACL against a real Mosquitto."""

from __future__ import annotations

import io
import os
import json
import re
import signal
import sqlite3
import subprocess
from pathlib import Path

import pytest

import wire
from hub import cli, credentials
from hub.sqlite_store import open_store
from hub.store import Batch, Quarantined
from tests.hub_process import Client, wait_until
from tests.mosquitto import Broker

ROOT = Path(__file__).resolve().parent.parent
ACL = (ROOT / "provision" / "mosquitto-hub.acl").read_text(encoding="utf-8")
MOSQUITTO_LINE = re.compile(r"^(?P<user>[^:]+):\$7\$101\$[A-Za-z0-9+/]{16}\$[A-Za-z0-9+/]{86}==$")


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def enroll(capsys, db: Path, kiosk: str, *extra: str) -> dict:
    code, out, err = run(capsys, "enroll", kiosk, "--site", "phuong-1", "--db", str(db), "--json", *extra)
    assert code == 0, err
    return json.loads(out)


def password_hash(db: Path, kiosk: str) -> str:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT password_hash FROM kiosks WHERE kiosk = ?", (kiosk,)).fetchone()[0]


def test_ok__enroll_prints_the_credentials_and_keeps_only_a_hash(capsys, tmp_path):
    db = tmp_path / "hub.db"
    result = enroll(capsys, db, "k1", "--broker", "mqtts://hub.example:8883")
    assert (result["kiosk"], result["username"], result["site"], result["re_keyed"]) == ("k1", "k1", "phuong-1", False)
    assert len(result["password"]) == 32 and result["credential"] == "kiosk-hub-password"
    assert 'broker = "mqtts://hub.example:8883"' in result["kiosk_toml"] and 'username = "k1"' in result["kiosk_toml"]
    assert result["password"] not in result["kiosk_toml"] and result["password"] in result["credential_command"]
    assert credentials.verify_password(result["password"], password_hash(db, "k1"))
    assert result["password"].encode() not in db.read_bytes()
    code, out, _ = run(capsys, "enroll", "k2", "--site", "phuong-1", "--db", str(db))
    assert code == 0 and "hub.password" in out and "[hub]" in out and "kiosk-hub-password" in out


def test_ok__enrolling_again_gives_a_new_password_and_the_old_one_stops_working(capsys, tmp_path):
    db = tmp_path / "hub.db"
    first = enroll(capsys, db, "k1")
    second = enroll(capsys, db, "k1")
    assert second["re_keyed"] and second["password"] != first["password"]
    assert not credentials.verify_password(first["password"], password_hash(db, "k1"))
    assert credentials.verify_password(second["password"], password_hash(db, "k1"))


@pytest.mark.parametrize("kiosk", ["K1", "k_1", "k1/x", "k+", "k" * 64, ""])
def test_fail__enroll_refuses_an_id_that_cannot_be_a_topic_level(capsys, tmp_path, kiosk):
    code, _, err = run(capsys, "enroll", kiosk, "--site", "s", "--db", str(tmp_path / "hub.db"))
    assert code == 2 and "kiosk id" in err


def test_ok__our_hash_is_mosquitto_passwd_s_format_and_reads_its_lines(tmp_path):
    theirs = tmp_path / "theirs"
    subprocess.run(["mosquitto_passwd", "-c", "-b", str(theirs), "k1", "s3cret"], check=True, capture_output=True)
    their_line = theirs.read_text().strip()
    ours = f"k1:{credentials.hash_password('s3cret')}"
    assert MOSQUITTO_LINE.match(their_line) and MOSQUITTO_LINE.match(ours)
    hashed = their_line.split(":", 1)[1]
    assert credentials.verify_password("s3cret", hashed) and not credentials.verify_password("s3creT", hashed)
    assert not credentials.verify_password("s3cret", "$6$not$ours")


def connack(broker: Broker, user: str, password: str) -> int:
    client = Client(broker, f"{user}-probe", username=user, password=password)
    client.close()
    return client.connack


def test_ok__the_password_file_we_write_lets_the_kiosk_in_and_keeps_a_wrong_password_out(capsys, tmp_path):
    broker = Broker(tmp_path / "mosquitto", passwords={"hub": "hub-secret"}, acl=ACL)  # its file: mosquitto_passwd's
    passwd, db = broker.folder / "passwd", tmp_path / "hub.db"
    first = enroll(capsys, db, "k1", "--passwd-file", str(passwd))
    k2 = enroll(capsys, db, "k2", "--passwd-file", str(passwd))
    assert [MOSQUITTO_LINE.match(line)["user"] for line in passwd.read_text().splitlines()] == ["hub", "k1", "k2"]
    with broker:
        assert connack(broker, "k1", first["password"]) == 0 and connack(broker, "k2", k2["password"]) == 0
        assert connack(broker, "hub", "hub-secret") == 0
        assert connack(broker, "k1", k2["password"]) in (134, 135)  # bad user name or password / not authorized
        second = enroll(capsys, db, "k1", "--passwd-file", str(passwd))
        assert len(passwd.read_text().splitlines()) == 3  # replaced, not appended
        os.kill(broker.proc.pid, signal.SIGHUP)  # `systemctl reload mosquitto`: the broker reads the file again
        wait_until(lambda: connack(broker, "k1", second["password"]) == 0, what="the new password accepted after the reload")
        assert connack(broker, "k1", first["password"]) in (134, 135)


def test_ok__hub_passwd_sets_the_hub_s_own_line_from_stdin(capsys, tmp_path, monkeypatch):
    passwd = tmp_path / "passwd"
    passwd.write_text("k1:$7$101$xxxxxxxxxxxxxxxx$yyyy\n")
    monkeypatch.setattr("sys.stdin", io.StringIO("hub-secret\n"))
    code, out, _ = run(capsys, "passwd", "hub", "--passwd-file", str(passwd))
    assert code == 0 and "added hub's line" in out
    lines = passwd.read_text().splitlines()
    assert lines[0].startswith("k1:") and credentials.verify_password("hub-secret", lines[1].split(":", 1)[1])
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    assert run(capsys, "passwd", "hub", "--passwd-file", str(passwd))[0] == 2


# -- the ACL, enforced by a real Mosquitto --------------------------------------------------------------------------


@pytest.fixture
def acl_broker(tmp_path):
    with Broker(tmp_path / "mosquitto", passwords={"k1": "p1", "k2": "p2", "hub": "ph"}, acl=ACL) as broker:
        yield broker


PASSWORDS = {"k1": "p1", "k2": "p2", "hub": "ph"}


def puback(broker: Broker, user: str, topic: str) -> int:
    """The v5 PUBACK reason code for one QoS 1 publish (Mosquitto 2.0.11 then drops a client it refused: one client per probe)."""
    client = Client(broker, f"{user}-probe", username=user, password=PASSWORDS[user])
    try:
        return client.puback(client.publish(topic, b"probe"))
    finally:
        client.close()


@pytest.mark.parametrize("user, topic, allowed", [
    ("k1", wire.topic("k1", wire.EVENT), True),
    ("k1", wire.topic("k1", wire.STATUS), True),
    ("k1", wire.topic("k2", wire.EVENT), False),
    ("k1", wire.topic("k2", wire.STATUS), False),
    ("k1", wire.topic("k1", wire.ACK), False),
    ("k1", wire.HUB_STATUS_TOPIC, False),
    ("hub", wire.topic("k1", wire.ACK), True),
    ("hub", wire.HUB_STATUS_TOPIC, True),
    ("hub", wire.topic("k1", wire.EVENT), False),
])
def test_ok__the_acl_confines_each_kiosk_to_its_own_topics(acl_broker, user, topic, allowed):
    code = puback(acl_broker, user, topic)
    assert (code < 0x80) == allowed, f"{user} publishing on {topic}: reason code {code}"
    assert allowed or code == 135


def test_ok__a_kiosk_reads_its_own_ack_and_not_another_s(acl_broker):
    hub = Client(acl_broker, "hub", username="hub", password="ph")
    for kiosk in ("k1", "k2"):
        hub.puback(hub.publish(wire.topic(kiosk, wire.ACK), f"ack of {kiosk}".encode(), retain=True))
    hub.puback(hub.publish(wire.HUB_STATUS_TOPIC, b"online", retain=True))
    k1 = Client(acl_broker, "k1", username="k1", password="p1",
                subscribe=(wire.topic("k2", wire.ACK), wire.topic("k1", wire.ACK), wire.HUB_STATUS_TOPIC, "vax/k/+/event")).wait_subscribed()
    try:
        hub.puback(hub.publish(wire.topic("k2", wire.ACK), b"ack of k2, again", retain=True))
        wait_until(lambda: k1.on(wire.topic("k1", wire.ACK)) and k1.on(wire.HUB_STATUS_TOPIC), what="k1's own ack and the hub status")
        k2 = Client(acl_broker, "k2", username="k2", password="p2")
        k2.puback(k2.publish(wire.topic("k2", wire.EVENT), b"k2's event"))
        k2.close()
        hub.puback(hub.publish(wire.topic("k1", wire.ACK), b"ack of k1, again", retain=True))
        wait_until(lambda: len(k1.on(wire.topic("k1", wire.ACK))) == 2, what="the second ack of k1")
        assert k1.on(wire.topic("k2", wire.ACK)) == [] and k1.on(wire.topic("k2", wire.EVENT)) == []
    finally:
        k1.close()
        hub.close()


# -- reports ------------------------------------------------------------------------------------------------------------


def test_ok__stats_shows_an_enrolled_kiosk(capsys, tmp_path):
    db = tmp_path / "hub.db"
    enroll(capsys, db, "k1")
    code, out, _ = run(capsys, "stats", "--db", str(db), "--json")
    figures = json.loads(out)
    assert code == 0 and figures["events"] == 0 and [k["kiosk"] for k in figures["kiosks"]] == ["k1"]
    assert figures["kiosks"][0]["enrolled"] is True and figures["kiosks"][0]["watermark"] == 0
    code, out, _ = run(capsys, "stats", "--db", str(db))
    assert code == 0 and re.search(r"^k1\s+phuong-1\s+yes\s+0\s", out, re.MULTILINE), out
    assert re.search(r"^events\s+0$", out, re.MULTILINE) and "duplicates" in out
    assert re.search(r"^merging\s+hub run has not run on this database$", out, re.MULTILINE)
    assert figures["merging"] == {"state": "never_run", "summary": "hub run has not run on this database"}


def test_fail__run_refuses_a_stall_threshold_of_zero(capsys, tmp_path, broker):
    code, _, err = run(capsys, "run", "--broker", broker.url, "--db", str(tmp_path / "hub.db"), "--stall-seconds", "0")
    assert code == 2 and "--stall-seconds" in err


def test_ok__quarantine_lists_reasons_and_sizes_never_bodies(capsys, tmp_path):
    db = tmp_path / "hub.db"
    code, out, _ = run(capsys, "quarantine", "--db", str(db))
    assert code == 2  # no database yet
    store = open_store(db)
    body = b'{"id_number": "001190012345"}'
    store.commit(Batch(quarantined=[Quarantined(wire.topic("k9", wire.EVENT), "k9", "not_enrolled", "kiosk 'k9' is not enrolled",
                                                body, "2026-03-02T01:00:00Z")]), "2026-03-02T01:00:00Z")
    store.close()
    code, out, _ = run(capsys, "quarantine", "--db", str(db))
    assert code == 0 and "not_enrolled" in out and "vax/k/k9/event" in out and str(len(body)) in out
    assert "001190012345" not in out
    code, out, _ = run(capsys, "quarantine", "--db", str(db), "--json", "--reason", "not_enrolled", "--limit", "5")
    rows = json.loads(out)
    assert [(r["reason"], r["kiosk"], r["size"]) for r in rows] == [("not_enrolled", "k9", len(body))] and "body" not in rows[0]
    assert json.loads(run(capsys, "quarantine", "--db", str(db), "--json", "--reason", "schema")[1]) == []


def test_ok__conflicts_lists_nothing_on_a_clean_database(capsys, tmp_path):
    db = tmp_path / "hub.db"
    open_store(db).close()
    assert run(capsys, "conflicts", "--db", str(db))[1].strip() == "no conflicts"
    assert json.loads(run(capsys, "conflicts", "--db", str(db), "--json", "--kind", "duplicate_dose")[1]) == []


@pytest.mark.parametrize("broker", ["http://x", "mqtt://", "mqtt://host:notaport", "mqtt://hub:secret@host:1883", "mqtt://host/vax"])
def test_fail__run_refuses_a_bad_broker_address(capsys, tmp_path, broker):
    code, _, err = run(capsys, "run", "--broker", broker, "--db", str(tmp_path / "hub.db"))
    assert code == 2 and "broker" in err and "secret" not in err
    assert not (tmp_path / "hub.db").exists(), "a refused address leaves no database behind"


# -- docs ---------------------------------------------------------------------------------------------------------------


def test_ok__docs_hub_lists_every_quarantine_reason():
    doc = (ROOT / "docs" / "hub.md").read_text(encoding="utf-8")
    missing = [reason for reason in wire.REJECTION_REASONS if f"`{reason}`" not in doc]
    assert not missing, f"quarantine reasons missing from docs/hub.md: {missing}"


def test_ok__readme_points_at_the_hub_guide():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "docs/hub.md" in readme and "hub enroll" in readme and "hub run" in readme

"""`hub ca init`, `hub enroll`, `hub revoke`, `hub passwd`, `hub stats`, `hub quarantine`, `hub conflicts`; the ACL against a real Mosquitto."""

from __future__ import annotations

import io
import os
import json
import re
import signal
import subprocess
from pathlib import Path

import pytest

import wire
from wire import signature
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from hub import ca, credentials
from hub.bridge import BridgeSettings, config as bridge_config
from hub.store import Batch, Quarantined
from hub.store.open import open_store
from tests import pki
from tests.hub_stores import database
from tests.hub_helpers import run_hub as run
from tests.hub_process import Client, wait_until
from tests.mosquitto import Broker

ROOT = Path(__file__).resolve().parent.parent
MOSQUITTO_LINE = re.compile(r"^(?P<user>[^:]+):\$7\$101\$[A-Za-z0-9+/]{16}\$[A-Za-z0-9+/]{86}==$")


@pytest.fixture
def hub_dirs(tmp_path):
    """A district CA (`hub ca init`), a broker folder for the ACL and CRL, and the database path."""
    (tmp_path / "broker").mkdir()
    return HubDirs(pki.district_ca(tmp_path / "ca"), tmp_path / "broker", tmp_path / "hub.db", tmp_path / "kiosks")


@pytest.fixture(params=["sqlite", "postgres"])
def both_dirs(request, tmp_path):
    """hub_dirs with the database on either store (tests/hub_stores.py): `--db` takes a file or a PostgreSQL URL."""
    (tmp_path / "broker").mkdir()
    return HubDirs(pki.district_ca(tmp_path / "ca"), tmp_path / "broker", database(request, tmp_path).location,
                   tmp_path / "kiosks")


class HubDirs:
    def __init__(self, ca_dir: Path, broker: Path, db: Path, kiosks: Path):
        self.ca_dir, self.broker, self.db, self.kiosks = ca_dir, broker, db, kiosks

    def args(self) -> list[str]:
        return ["--db", str(self.db), "--ca-dir", str(self.ca_dir), "--broker-dir", str(self.broker)]


def enroll(capsys, dirs: HubDirs, kiosk: str, *extra: str, csr: Path | None = None) -> dict:
    """`hub enroll KIOSK --csr` for a new key made as on the kiosk (or the given CSR); its JSON."""
    csr = csr or pki.identity(dirs.kiosks, kiosk).csr
    code, out, err = run(capsys, "enroll", kiosk, "--site", "phuong-1", "--csr", str(csr), "--json", *dirs.args(), *extra)
    assert code == 0, err
    return json.loads(out)


def test_ok__ca_init_makes_the_ca_once_and_the_broker_certificate_for_its_names(capsys, tmp_path):
    folder = tmp_path / "ca"
    code, out, _ = run(capsys, "ca", "init", "--dir", str(folder), "--tls-name", "hub.example.vn", "--tls-name", "10.0.0.5")
    assert code == 0 and 'made the CA "vax district CA"' in out
    assert {p.name: p.stat().st_mode & 0o777 for p in folder.iterdir()} == {
        "ca.key": 0o600, "ca.crt": 0o644, "server.key": 0o600, "server.crt": 0o644}
    authority = ca.load(folder)
    assert authority.certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert ca.server_names(folder) == ("hub.example.vn", "10.0.0.5")
    server = ca.load_certificate(folder / "server.crt")
    server.verify_directly_issued_by(authority.certificate)
    before = (folder / "ca.crt").read_bytes(), (folder / "server.crt").read_bytes()
    code, out, _ = run(capsys, "ca", "init", "--dir", str(folder))  # again: nothing changes
    assert code == 0 and 'kept the CA "vax district CA"' in out and "kept the broker's" in out
    assert ((folder / "ca.crt").read_bytes(), (folder / "server.crt").read_bytes()) == before
    code, out, _ = run(capsys, "ca", "init", "--dir", str(folder), "--tls-name", "hub2.example.vn")
    assert code == 0 and (folder / "ca.crt").read_bytes() == before[0] and ca.server_names(folder) == ("hub2.example.vn",)


def test_ok__ca_init_names_a_new_ca_and_an_existing_one_keeps_its_name(capsys, tmp_path):
    folder = tmp_path / "ca"
    code, out, _ = run(capsys, "ca", "init", "--dir", str(folder), "--name", "vax province CA", "--tls-name", "province.vn")
    assert code == 0 and 'made the CA "vax province CA"' in out
    certificate = ca.load(folder).certificate
    assert ca.common_name(certificate.subject) == ca.common_name(certificate.issuer) == "vax province CA"
    code, out, _ = run(capsys, "ca", "init", "--dir", str(folder), "--name", "another name")
    assert code == 0 and 'kept the CA "vax province CA"' in out


@pytest.mark.parametrize("name", ["hub example", "http://hub", ""])
def test_fail__ca_init_refuses_a_name_that_is_no_host(capsys, tmp_path, name):
    code, _, err = run(capsys, "ca", "init", "--dir", str(tmp_path / "ca"), "--tls-name", name)
    assert code == 2 and "host name" in err


def test_ok__enroll_certifies_the_kiosk_s_key_and_prints_no_password(capsys, both_dirs):
    result = enroll(capsys, both_dirs, "k1", "--broker", "mqtts://hub.example:8883")
    assert (result["kiosk"], result["site"], result["re_keyed"], result["revoked_keys"]) == ("k1", "phuong-1", False, [])
    certificate = x509.load_pem_x509_certificate(result["certificate"].encode())
    assert certificate.subject.rfc4514_string() == "CN=k1" and format(certificate.serial_number, "x") == result["serial"]
    certificate.verify_directly_issued_by(ca.load(both_dirs.ca_dir).certificate)
    usage = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usage) == [x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH]
    key = signature.load_private_key(both_dirs.kiosks / "k1.key")
    assert result["key_id"] == signature.key_id(key.public_key())
    assert 'broker = "mqtts://hub.example:8883"' in result["kiosk_toml"] and 'cert_file = "' in result["kiosk_toml"]
    assert "password" not in json.dumps(result)
    store = open_store(both_dirs.db)
    try:
        stored = store.keys()[result["key_id"]]
        assert store.enrolled() == {"k1": "phuong-1"}
    finally:
        store.close()
    assert (stored.kiosk, stored.serial, stored.certificate, stored.revoked_at) == ("k1", result["serial"], result["certificate"], None)
    assert "user k1\n" in (both_dirs.broker / "acl").read_text()


def test_ok__enroll_prints_the_certificate_or_writes_it_and_says_what_to_do(capsys, hub_dirs, tmp_path):
    made = pki.identity(hub_dirs.kiosks, "k2")
    code, out, err = run(capsys, "enroll", "k2", "--site", "s", "--csr", str(made.csr), *hub_dirs.args())
    assert code == 0 and out.startswith("-----BEGIN CERTIFICATE-----") and out.count("BEGIN") == 1
    assert "hub.cert_file" not in err and "cert_file = " in err and "systemctl restart kiosk-publish" in err
    code, out, err = run(capsys, "enroll", "k2", "--site", "s", "--csr", str(made.csr), "--out", str(tmp_path / "k2.crt"), *hub_dirs.args())
    assert code == 0 and "BEGIN" not in out and "enrolled kiosk k2" in out and str(tmp_path / "k2.crt") in out
    assert x509.load_pem_x509_certificate((tmp_path / "k2.crt").read_bytes()).subject.rfc4514_string() == "CN=k2"


def test_ok__enrolling_again_with_a_new_key_revokes_the_old_one(capsys, both_dirs):
    first = enroll(capsys, both_dirs, "k1")
    same = enroll(capsys, both_dirs, "k1", csr=both_dirs.kiosks / "k1.csr")  # the same key again: a new certificate for it
    assert same["key_id"] == first["key_id"] and not same["re_keyed"] and same["revoked_keys"] == []
    second = enroll(capsys, both_dirs, "k1")  # `kiosk identity new --force`: a new key
    assert second["re_keyed"] and second["revoked_keys"] == [first["key_id"]] and second["key_id"] != first["key_id"]
    crl = x509.load_pem_x509_crl((both_dirs.broker / "crl.pem").read_bytes())
    assert {format(r.serial_number, "x") for r in crl} == {same["serial"]}  # the old key's current certificate
    assert crl.is_signature_valid(ca.load(both_dirs.ca_dir).key.public_key())
    assert "user k1\n" in (both_dirs.broker / "acl").read_text()
    old_again = run(capsys, "enroll", "k1", "--site", "s", "--csr", str(both_dirs.kiosks / "k1.csr"), *both_dirs.args())
    assert old_again[0] == 0  # k1.csr is the new key's by now
    stale = pki.identity(both_dirs.kiosks / "old", "k1")
    enroll(capsys, both_dirs, "k1", csr=stale.csr)
    enroll(capsys, both_dirs, "k1")
    code, _, err = run(capsys, "enroll", "k1", "--site", "s", "--csr", str(stale.csr), *both_dirs.args())
    assert code == 2 and "was revoked" in err  # a revoked key never comes back


@pytest.mark.parametrize("kiosk", ["K1", "k_1", "k1/x", "k+", "k" * 64, ""])
def test_fail__enroll_refuses_an_id_that_cannot_be_a_topic_level(capsys, hub_dirs, kiosk):
    csr = pki.identity(hub_dirs.kiosks, "k1").csr
    code, _, err = run(capsys, "enroll", kiosk, "--site", "s", "--csr", str(csr), *hub_dirs.args())
    assert code == 2 and "kiosk id" in err


def test_fail__enroll_refuses_the_hub_s_name_a_csr_for_another_kiosk_and_a_bad_csr(capsys, hub_dirs, tmp_path):
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import rsa

    def refused(kiosk: str, csr: Path) -> str:
        code, _, err = run(capsys, "enroll", kiosk, "--site", "s", "--csr", str(csr), *hub_dirs.args())
        assert code == 2
        return err

    assert "reserved" in refused("hub", pki.identity(hub_dirs.kiosks, "hub").csr)
    assert "not 'k2'" in refused("k2", pki.identity(hub_dirs.kiosks, "k1").csr)
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    (tmp_path / "rsa.csr").write_bytes(x509.CertificateSigningRequestBuilder().subject_name(ca.name("k1")).sign(
        rsa_key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM))
    assert "P-256" in refused("k1", tmp_path / "rsa.csr")
    (tmp_path / "junk.csr").write_text("-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n")
    assert "not a PEM certificate signing request" in refused("k1", tmp_path / "junk.csr")
    store = open_store(hub_dirs.db)
    try:
        assert store.enrolled() == {} and store.keys() == {}
    finally:
        store.close()


def test_fail__enroll_without_a_ca_says_how_to_make_one(capsys, tmp_path):
    csr = pki.identity(tmp_path, "k1").csr
    code, _, err = run(capsys, "enroll", "k1", "--site", "s", "--csr", str(csr), "--db", str(tmp_path / "hub.db"),
                       "--ca-dir", str(tmp_path / "no-ca"), "--broker-dir", str(tmp_path))
    assert code == 2 and "hub ca init" in err


def test_ok__revoke_takes_the_kiosk_out_of_the_acl_and_puts_its_certificate_in_the_crl(capsys, both_dirs):
    k1, k2 = enroll(capsys, both_dirs, "k1"), enroll(capsys, both_dirs, "k2")
    code, out, _ = run(capsys, "revoke", "k1", "--reason", "stolen", *both_dirs.args())
    assert code == 0 and k1["key_id"] in out
    acl = (both_dirs.broker / "acl").read_text()
    assert "user k1\n" not in acl and "vax/k/k1/" not in acl and "user k2\n" in acl and "user hub\n" in acl
    crl = x509.load_pem_x509_crl((both_dirs.broker / "crl.pem").read_bytes())
    assert [format(r.serial_number, "x") for r in crl] == [k1["serial"]]
    store = open_store(both_dirs.db)
    try:
        keys = store.keys()
    finally:
        store.close()
    assert keys[k1["key_id"]].revoked_at is not None and keys[k2["key_id"]].revoked_at is None
    code, out, _ = run(capsys, "revoke", "k1", "--reason", "stolen", "--json", *both_dirs.args())  # again: nothing more
    assert code == 0 and json.loads(out)["revoked_keys"] == []
    assert run(capsys, "revoke", "k9", "--reason", "x", *both_dirs.args())[0] == 2
    assert run(capsys, "revoke", "k2", "--reason", " ", *both_dirs.args())[0] == 2


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


def test_ok__the_hub_s_password_line_lets_it_in_and_keeps_a_wrong_password_out(capsys, tmp_path, monkeypatch):
    broker = Broker(tmp_path / "mosquitto", passwords={"someone": "else"})  # its file: mosquitto_passwd's
    passwd = broker.folder / "passwd"
    monkeypatch.setattr("sys.stdin", io.StringIO("hub-secret\n"))
    assert run(capsys, "passwd", "hub", "--passwd-file", str(passwd))[0] == 0
    with broker:
        assert connack(broker, "hub", "hub-secret") == 0
        assert connack(broker, "hub", "wrong") in (134, 135)  # bad user name or password / not authorized
        monkeypatch.setattr("sys.stdin", io.StringIO("new-secret\n"))
        assert run(capsys, "passwd", "hub", "--passwd-file", str(passwd))[0] == 0
        assert len(passwd.read_text().splitlines()) == 2  # replaced, not appended
        os.kill(broker.proc.pid, signal.SIGHUP)  # `systemctl reload mosquitto`: the broker reads the file again
        wait_until(lambda: connack(broker, "hub", "new-secret") == 0, what="the new password accepted after the reload")
        assert connack(broker, "hub", "hub-secret") in (134, 135)


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
def acl_broker(capsys, hub_dirs, tmp_path):
    """A password broker with the ACL `hub enroll` writes for k1 and k2 and `hub revoke` for k3 (usernames = kiosk ids)."""
    for kiosk in ("k1", "k2", "k3"):
        enroll(capsys, hub_dirs, kiosk)
    assert run(capsys, "revoke", "k3", "--reason", "lost", *hub_dirs.args())[0] == 0
    acl = (hub_dirs.broker / "acl").read_text()
    with Broker(tmp_path / "mosquitto", passwords=PASSWORDS, acl=acl) as broker:
        yield broker


PASSWORDS = {"k1": "p1", "k2": "p2", "k3": "p3", "hub": "ph"}


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
    ("k1", wire.province_ack_topic("k1"), False),
    ("k1", wire.HUB_STATUS_TOPIC, False),
    ("k3", wire.topic("k3", wire.EVENT), False),
    ("k3", wire.topic("k3", wire.STATUS), False),
    ("hub", wire.topic("k1", wire.ACK), True),
    ("hub", wire.HUB_STATUS_TOPIC, True),
    ("hub", wire.topic("k1", wire.EVENT), False),
    ("hub", wire.province_ack_topic("k1"), False),
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


def test_ok__a_kiosk_reads_the_province_s_acks_of_itself_only_through_a_real_bridge(capsys, hub_dirs, tmp_path):
    """On a district broker with the ACL `hub enroll` writes and the bridge `hub bridge-config` writes: the province's
    acknowledgements arrive on vax/p/k/<kiosk>/ack (the bridge is no ACL user), and k1 reads its own only."""
    for kiosk in ("k1", "k2"):
        enroll(capsys, hub_dirs, kiosk)
    acl = (hub_dirs.broker / "acl").read_text()
    with Broker(tmp_path / "province") as province:
        with Broker(tmp_path / "district", passwords=PASSWORDS, acl=acl,
                    extra=bridge_config(BridgeSettings("d1", province.url))) as district:
            k1 = Client(district, "k1", username="k1", password="p1",
                        subscribe=(wire.province_ack_topic("k1"), wire.province_ack_topic("k2"))).wait_subscribed()
            worker = Client(province, "hub-province-1")
            try:
                wait_until(lambda: worker.puback(worker.publish(wire.district_topic("d1", "k2", wire.ACK), b"k2", retain=True))
                           == 0 and worker.puback(worker.publish(wire.district_topic("d1", "k1", wire.ACK), b"k1", retain=True))
                           == 0 and k1.on(wire.province_ack_topic("k1")), what="the province's ack of k1 at k1")
                assert k1.on(wire.province_ack_topic("k2")) == []
            finally:
                worker.close()
                k1.close()


# -- reports ------------------------------------------------------------------------------------------------------------


def test_ok__stats_shows_an_enrolled_kiosk(capsys, both_dirs):
    db = both_dirs.db
    enroll(capsys, both_dirs, "k1")
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


@pytest.mark.parametrize("store_name", ["sqlite", "postgres"])
def test_ok__quarantine_lists_reasons_and_sizes_never_bodies(capsys, tmp_path, request, store_name):
    if store_name == "sqlite":
        db = tmp_path / "hub.db"
        code, out, _ = run(capsys, "quarantine", "--db", str(db))
        assert code == 2  # no database yet
    else:
        db = request.getfixturevalue("pg_url")
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

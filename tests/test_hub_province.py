"""The province tier's wiring (docs/province.md): `hub run --district` on the prefixed topics, on both stores."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import wire
from hub import kiosk_files
from hub.ingest import Ingest
from hub.store import KioskKey, reports
from hub.store.sqlite import open_store
from tests.hub_helpers import run_hub as cli
from tests.hub_process import Client, HubProcess, event, wait_until
from tests.hub_stores import PostgresDb, SqliteDb
from tests.keys import REGISTERED_AT, enroll, registered
from wire import signature


def import_kiosk(store, kiosk: str, district: str, site: str = "site-a") -> None:
    """What `hub kiosks import` leaves: the kiosk enrolled for its district, with its key."""
    store.enroll(kiosk, site, None, REGISTERED_AT, district)
    store.add_key(registered(kiosk))


@pytest.fixture
def province_db(hub_db):
    """A hub database (either store) that knows k1 of district d1 and k5 of district d2."""
    with hub_db.open() as store:
        import_kiosk(store, "k1", "d1")
        import_kiosk(store, "k5", "d2")
    return hub_db


@pytest.fixture
def kiosk(broker):
    client = Client(broker, "kiosk-test")
    yield client
    client.close()


@pytest.fixture
def district_watcher(broker):
    """Sees every acknowledgement on the province broker, prefixed or not."""
    client = Client(broker, "province-watcher", subscribe=("vax/d/+/k/+/ack", "vax/k/+/ack")).wait_subscribed()
    yield client
    client.close()


def last_ack(watcher: Client, topic: str, kiosk: str) -> wire.Ack | None:
    bodies = [body for body in watcher.on(topic) if body]
    return wire.parse_ack(kiosk, bodies[-1]) if bodies else None


def reasons(db) -> list[str]:
    return sorted(row["reason"] for row in reports.quarantine(db.location, limit=1000))


def test_ok__a_province_worker_merges_its_districts_and_acks_on_their_topics(broker, province_db, district_watcher, kiosk):
    with HubProcess(broker.url, province_db.location, "--client-id", "hub-province-1", "--district", "d1",
                    "--district", "d2"):
        for seq in (1, 2, 3):
            kiosk.publish(wire.district_topic("d1", "k1", wire.EVENT), event("k1", seq))
        kiosk.publish(wire.district_topic("d2", "k5", wire.EVENT), event("k5", 1))
        topic = wire.district_topic("d1", "k1", wire.ACK)
        wait_until(lambda: (last_ack(district_watcher, topic, "k1") or wire.Ack("k1", 0, 0, (), "")).watermark == 3,
                   what="k1's ack on its district topic")
        wait_until(lambda: last_ack(district_watcher, wire.district_topic("d2", "k5", wire.ACK), "k5") is not None,
                   what="k5's ack on d2's topic")
        kiosk.publish(wire.district_topic("d2", "k1", wire.EVENT), event("k1", 4))  # k1 is d1's
        kiosk.publish(wire.district_topic("d1", "k9", wire.EVENT), event("k9", 1))  # never imported
        kiosk.publish(wire.topic("k1", wire.EVENT), event("k1", 5))  # a district's own topic: not this worker's
        wait_until(lambda: reasons(province_db) == ["not_enrolled", "wrong_district"], what="the two quarantined")
    assert [seq for (seq,) in province_db.rows("SELECT seq FROM events WHERE kiosk = 'k1' ORDER BY seq")] == [1, 2, 3]
    assert not district_watcher.on(wire.topic("k1", wire.ACK)), "a province worker acked on a district's own topic"
    assert last_ack(district_watcher, topic, "k1").watermark == 3
    with province_db.open() as store:
        merging = store.stats()["merging"]
    assert merging["state"] == "stopped" and merging.get("worker", "hub-province-1") == "hub-province-1"


# -- hub kiosks export / import -----------------------------------------------------------------------------------------


@pytest.fixture
def district(tmp_path):
    """A district's SQLite hub: k1 (key revoked, then a new key), k2, k3 (revoked: a stolen Pi), enrolled with keys."""
    path = tmp_path / "district.db"
    with open_store(path) as store:
        for kiosk in ("k1", "k2", "k3"):
            enroll(store, kiosk, f"site-{kiosk}")
        store.revoke_keys("k1", "2026-02-01T00:00:00Z", "lost, police report 123 by Nguyễn Văn A")
        fresh = signature.generate_key().public_key()
        store.add_key(KioskKey(signature.key_id(fresh), "k1", signature.public_der(fresh), "2026-02-02T00:00:00Z"))
        store.revoke_keys("k3", "2026-02-03T00:00:00Z", "stolen")
    return path


def keys_of(store) -> dict[str, tuple]:
    return {key_id: (k.kiosk, bytes(k.public_key), k.added_at, k.revoked_at, k.certificate) for key_id, k in store.keys().items()}


def test_ok__a_province_imports_a_district_s_kiosks_keys_and_revocations(capsys, district, hub_db, tmp_path):
    exported = tmp_path / "kiosks.json"
    code, _, err = cli(capsys, "kiosks", "export", "--db", str(district), "--out", str(exported))
    assert code == 0 and "wrote 3 kiosks" in err
    text = exported.read_text()
    assert "police" not in text and "Nguyễn" not in text and "stolen" not in text  # a revocation's reason stays home
    for _ in range(2):  # idempotent
        code, out, _ = cli(capsys, "kiosks", "import", str(exported), "--district", "d1", "--db", hub_db.location, "--json")
        assert code == 0 and json.loads(out) == {"district": "d1", "kiosks": 3, "keys": 4, "revoked_keys": 2}
    with open_store(district) as home, hub_db.open() as province:
        assert keys_of(province) == {**keys_of(home), **{key_id: row for key_id, row in keys_of(province).items()
                                                          if key_id not in keys_of(home)}}
        assert province.districts() == {"k1": "d1", "k2": "d1", "k3": "d1"}
        assert {k: province.enrolled()[k] for k in ("k1", "k2", "k3")} == {"k1": "site-k1", "k2": "site-k2", "k3": "site-k3"}
        home.revoke_keys("k2", "2026-03-01T00:00:00Z", "stolen")
    cli(capsys, "kiosks", "export", "--db", str(district), "--out", str(exported))
    assert cli(capsys, "kiosks", "import", str(exported), "--district", "d1", "--db", hub_db.location)[0] == 0
    with hub_db.open() as province:
        assert {k.revoked_at for k in province.keys().values() if k.kiosk == "k2"} == {"2026-03-01T00:00:00Z"}


def test_fail__a_changed_file_or_another_kiosk_s_key_imports_nothing(capsys, district, hub_db, tmp_path):
    code, text, _ = cli(capsys, "kiosks", "export", "--db", str(district))
    data = json.loads(text)
    data["kiosks"][1]["keys"][0]["key_id"] = data["kiosks"][0]["keys"][0]["key_id"]
    (tmp_path / "changed.json").write_text(json.dumps(data))
    code, _, err = cli(capsys, "kiosks", "import", str(tmp_path / "changed.json"), "--district", "d1", "--db", hub_db.location)
    assert code == 2 and "is not the id of its public key" in err
    data = json.loads(text)
    data["kiosks"][1]["keys"] = data["kiosks"][0]["keys"]  # k2 claims k1's keys: the file names another kiosk's key
    (tmp_path / "stolen.json").write_text(json.dumps(data))
    code, _, err = cli(capsys, "kiosks", "import", str(tmp_path / "stolen.json"), "--district", "d1", "--db", hub_db.location)
    assert code == 2 and "already registered to kiosk 'k1'" in err
    with hub_db.open() as province:
        assert province.districts() == {}  # all or nothing
    for name, body in [("bad.json", "[]"), ("not.json", "{oops")]:
        (tmp_path / name).write_text(body)
        code, _, err = cli(capsys, "kiosks", "import", str(tmp_path / name), "--district", "d1", "--db", hub_db.location)
        assert code == 2 and "not a kiosks file" in err
    assert cli(capsys, "kiosks", "import", str(tmp_path / "bad.json"), "--district", "D 1", "--db", hub_db.location)[0] == 2


KIOSKS = ("k1", "k2", "k3", "k4")


@pytest.mark.parametrize("store_name", ["sqlite", "postgres"])
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(enrolled=st.dictionaries(st.sampled_from(KIOSKS), st.tuples(st.sampled_from(("a", "b")), st.booleans()), min_size=1),
       earlier=st.sampled_from(("d1", "d2")))
def test_ok__what_the_province_holds_after_an_import_is_what_the_file_says(tmp_path_factory, request, store_name, enrolled,
                                                                           earlier):
    """Any district (kiosks at sites, some revoked) imported into a province that knows the other kiosks from another
    district: it then holds every kiosk of the file for its district with each key as the district has it, and the
    other kiosks as they were."""
    folder = tmp_path_factory.mktemp("district")
    with open_store(folder / "district.db") as home:
        for kiosk, (site, revoked) in enrolled.items():
            enroll(home, kiosk, site)
            if revoked:
                home.revoke_keys(kiosk, "2026-02-01T00:00:00Z", "lost")
        entries = kiosk_files.parse(json.dumps(kiosk_files.export(home, "2026-03-01T00:00:00Z")))
        expected = keys_of(home)
    province = PostgresDb(request.getfixturevalue("pg_url")) if store_name == "postgres" else SqliteDb(folder / "province.db")
    province.reset()
    with province.open() as store:
        others = [kiosk for kiosk in KIOSKS if kiosk not in enrolled]
        for kiosk in others:
            import_kiosk(store, kiosk, earlier)
        kiosk_files.import_file(store, entries, "d3", "2026-03-02T00:00:00Z")
        assert store.districts() == {**{kiosk: earlier for kiosk in others}, **{kiosk: "d3" for kiosk in enrolled}}
        assert {key_id: row for key_id, row in keys_of(store).items() if row[0] in enrolled} == expected
        assert {kiosk: store.enrolled()[kiosk] for kiosk in enrolled} == {kiosk: site for kiosk, (site, _) in enrolled.items()}


# -- a district hub under a province: province.acks ------------------------------------------------------------------


def merged(db) -> int:
    with open_store(db) as store:
        return store.stats()["events"]


def settings_file(folder, text: str):
    path = folder / "hub.toml"
    path.write_text(text)
    return str(path)


def test_ok__a_district_hub_whose_kiosks_also_wait_for_the_province_acks_and_is_online_only_with_its_bridge(
        broker, db, watcher, kiosk, tmp_path):
    """province.acks = "province": the district hub acknowledges as a lone district's does (its kiosks wait for its
    ack and the province's, kiosk/uplink/sources.py), and says online only once the bridge says it is up."""
    config = settings_file(tmp_path, '[province]\nacks = "province"\n')
    with HubProcess(broker.url, db, "--config", config):
        wait_until(lambda: watcher.last_ack("k2") is not None, what="the acks re-published on connect")
        for seq in (1, 2, 3):
            kiosk.publish(wire.topic("k1", wire.EVENT), event("k1", seq))
        wait_until(lambda: merged(db) == 3, what="the three events merged")
        watcher.wait_watermark("k1", 3)
        wait_until(lambda: watcher.hub_states()[-1:] == ["offline"], what="offline: no bridge has said it is up")
        watcher.publish(wire.BRIDGE_STATE_TOPIC, b"1", retain=True)  # as Mosquitto's bridge notification does
        wait_until(lambda: watcher.hub_states()[-1:] == ["online"], what="the hub online once the bridge is")


@pytest.mark.parametrize("text, args, says", [
    ('[province]\nacks = "both"\n', (), "province.acks: expected one of district, province"),
    ('[province]\nacks = "province"\n', ("--district", "d1"), "--district makes a province worker"),
    ("", ("--district", "D1"), "district 'D1' must be"),
])
def test_fail__run_refuses_an_ack_mode_it_does_not_know_or_that_contradicts_district(capsys, tmp_path, broker, text, args,
                                                                                   says):
    config = settings_file(tmp_path, text)
    code, _, err = cli(capsys, "run", "--broker", broker.url, "--db", str(tmp_path / "hub.db"), "--config", config, *args)
    assert code == 2 and says in err


# -- hub bridge-config ------------------------------------------------------------------------------------------------


def test_ok__bridge_config_maps_the_district_s_topics_and_keeps_sessions_and_queues(capsys, tmp_path):
    code, out, _ = cli(capsys, "bridge-config", "--district", "quan-3", "--province", "mqtts://province.example",
                       "--ca-file", "/etc/mosquitto/province-ca.crt", "--cert-file", "/etc/mosquitto/bridge.crt",
                       "--key-file", "/etc/mosquitto/bridge.key")
    lines = [line for line in out.splitlines() if line and not line.startswith("#")]
    assert code == 0 and lines == [
        "max_queued_messages 0", "persistence true",
        "connection province-quan-3", "address province.example:8883", "remote_clientid bridge-quan-3",
        "cleansession false", "restart_timeout 1 30", "bridge_protocol_version mqttv311",
        "notifications true", "notifications_local_only true", "notification_topic vax/hub/bridge",
        "bridge_cafile /etc/mosquitto/province-ca.crt", "bridge_certfile /etc/mosquitto/bridge.crt",
        "bridge_keyfile /etc/mosquitto/bridge.key",
        "topic k/+/event out 1 vax/ vax/d/quan-3/", "topic k/+/status out 1 vax/ vax/d/quan-3/",
        "topic k/+/ack in 1 vax/p/ vax/d/quan-3/"]
    code, _, err = cli(capsys, "bridge-config", "--district", "d1", "--province", "mqtts://p:8883", "--out",
                       str(tmp_path / "province.conf"))
    assert code == 0 and "bridge_capath /etc/ssl/certs\n" in (tmp_path / "province.conf").read_text()
    assert "wrote the bridge province-d1 to" in err


@pytest.mark.parametrize("args, says", [
    (("--district", "Quận 3", "--province", "mqtt://p"), "district 'Quận 3' must be"),
    (("--district", "d1", "--province", "http://p"), "expected mqtt://HOST:PORT"),
    (("--district", "d1", "--province", "mqtt://p", "--ca-file", "ca.crt"), "are for an mqtts:// province broker"),
    (("--district", "d1", "--province", "mqtts://p", "--cert-file", "c.crt"), "--cert-file and --key-file go together"),
])
def test_fail__bridge_config_refuses_what_would_not_bridge(capsys, args, says):
    code, out, err = cli(capsys, "bridge-config", *args)
    assert code == 2 and says in err and not out


# -- hub bridge-csr, hub bridge-cert ----------------------------------------------------------------------------------


def certified(capsys, folder, district: str, *, csr_for: str | None = None) -> tuple[int, str, str]:
    """`hub bridge-csr --district CSR_FOR` (default: district) at the district, then `hub bridge-cert --district
    DISTRICT` at the province, whose CA is folder/ca; bridge-cert's exit status, certificate and stderr."""
    folder.mkdir(exist_ok=True)
    if not (folder / "ca").exists():
        assert cli(capsys, "ca", "init", "--dir", str(folder / "ca"), "--tls-name", "province.example")[0] == 0
    code, _, _ = cli(capsys, "bridge-csr", "--district", csr_for or district, "--key-out", str(folder / "bridge.key"),
                     "--csr-out", str(folder / "bridge.csr"))
    assert code == 0
    return cli(capsys, "bridge-cert", "--csr", str(folder / "bridge.csr"), "--district", district,
               "--ca-dir", str(folder / "ca"))


def test_ok__a_bridge_s_key_stays_at_the_district_and_the_province_s_ca_certifies_it_as_bridge_district(capsys, tmp_path):
    from cryptography import x509
    from cryptography.x509.oid import ExtendedKeyUsageOID

    from hub import ca

    code, out, err = certified(capsys, tmp_path, "quan-3")
    assert code == 0 and "certified bridge-quan-3 until" in err
    assert (tmp_path / "bridge.key").stat().st_mode & 0o777 == 0o600
    certificate = x509.load_pem_x509_certificate(out.encode())
    authority = ca.load(tmp_path / "ca")
    certificate.verify_directly_issued_by(authority.certificate)
    assert ca.common_name(certificate.subject) == "bridge-quan-3"
    usage = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usage) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    key = signature.load_private_key(tmp_path / "bridge.key")
    assert signature.public_der(certificate.public_key()) == signature.public_der(key.public_key())
    code, again, err = certified(capsys, tmp_path, "quan-3")  # a renewal: the key is kept, the CSR is for it
    assert code == 0 and signature.public_der(x509.load_pem_x509_certificate(again.encode()).public_key()) == \
        signature.public_der(key.public_key())


@pytest.mark.parametrize("district, csr_for, says", [
    ("d2", "d1", "the CSR is for 'bridge-d1', not 'bridge-d2'"),
    ("quan-30", "quan-3", "not 'bridge-quan-30'"),
])
def test_fail__bridge_cert_refuses_a_csr_made_for_another_district(capsys, tmp_path, district, csr_for, says):
    code, out, err = certified(capsys, tmp_path, district, csr_for=csr_for)
    assert code == 2 and says in err and not out


def test_fail__bridge_cert_refuses_a_kiosk_s_csr_and_what_is_no_csr(capsys, tmp_path):
    from tests.pki import identity

    assert certified(capsys, tmp_path, "d1")[0] == 0
    kiosk = identity(tmp_path / "kiosks", "bridge-d1x")
    code, out, err = cli(capsys, "bridge-cert", "--csr", str(kiosk.csr), "--district", "d1", "--ca-dir", str(tmp_path / "ca"))
    assert code == 2 and "not 'bridge-d1'" in err and not out
    code, out, err = cli(capsys, "bridge-cert", "--csr", str(tmp_path / "bridge.key"), "--district", "d1",
                         "--ca-dir", str(tmp_path / "ca"))
    assert code == 2 and "is not a PEM certificate signing request" in err and not out


# -- hub bridge-revoke, hub bridge-crl ---------------------------------------------------------------------------------


def revoked_serials(crl_file, ca_dir) -> set[int]:
    """The serials the CRL at crl_file lists, once its signature by the CA in ca_dir is checked."""
    from cryptography import x509

    from hub import ca

    crl = x509.load_pem_x509_crl(crl_file.read_bytes())
    assert crl.is_signature_valid(ca.load(ca_dir).key.public_key())
    return {entry.serial_number for entry in crl}


def test_ok__bridge_revoke_shuts_out_every_certificate_of_the_district_for_good_and_a_new_key_gets_one(capsys, tmp_path):
    """Each `hub bridge-cert` is recorded beside the CA; `hub bridge-revoke` puts all of the district's in the CRL and
    keeps them there at later revocations; the stolen key is never certified again, the rebuilt district's new key is;
    another district's certificate is untouched until its own revocation."""
    from cryptography import x509

    serial = lambda pem: x509.load_pem_x509_certificate(pem.encode()).serial_number  # noqa: E731
    ca_dir, crl_file = tmp_path / "ca", tmp_path / "crl.pem"
    revoke = lambda district: cli(capsys, "bridge-revoke", "--district", district, "--ca-dir", str(ca_dir),  # noqa: E731
                                  "--crl-out", str(crl_file))
    d2 = serial(certified(capsys, tmp_path, "d2")[1])
    (tmp_path / "bridge.key").unlink()
    d1 = [serial(certified(capsys, tmp_path, "d1")[1]) for _ in range(2)]  # a renewal: the same key certified again
    code, out, err = revoke("d1")
    assert code == 0 and not out and all(format(s, "x") in err for s in d1) and "(2 bridge certificates revoked)" in err
    assert revoked_serials(crl_file, ca_dir) == set(d1)
    code, out, err = cli(capsys, "bridge-cert", "--csr", str(tmp_path / "bridge.csr"), "--district", "d1",
                         "--ca-dir", str(ca_dir))  # the stolen machine's key
    assert code == 2 and "was revoked: it is never certified again" in err and not out
    (tmp_path / "bridge.key").unlink()
    assert certified(capsys, tmp_path, "d1")[0] == 0  # a new key at the rebuilt district: not in the CRL, below
    assert revoke("d2")[0] == 0 and revoked_serials(crl_file, ca_dir) == {*d1, d2}
    code, _, err = revoke("d2")
    assert code == 0 and "none left to revoke" in err and revoked_serials(crl_file, ca_dir) == {*d1, d2}
    assert cli(capsys, "bridge-crl", "--ca-dir", str(ca_dir), "--out", str(tmp_path / "again.pem"))[0] == 0
    assert revoked_serials(tmp_path / "again.pem", ca_dir) == {*d1, d2}


def test_fail__bridge_revoke_refuses_a_district_never_certified_and_a_damaged_record(capsys, tmp_path):
    from hub import bridge_certificates

    assert certified(capsys, tmp_path, "d1")[0] == 0
    crl_file = tmp_path / "crl.pem"
    code, _, err = cli(capsys, "bridge-revoke", "--district", "d-1", "--ca-dir", str(tmp_path / "ca"),
                       "--crl-out", str(crl_file))
    assert code == 2 and "no bridge certificate of district 'd-1' is on record" in err and not crl_file.exists()
    (tmp_path / "ca" / bridge_certificates.RECORD).write_text('{"format": "hub-kiosks", "kiosks": []}')
    code, out, err = certified(capsys, tmp_path, "d1")
    assert code == 2 and "is not the CA's record of bridge certificates" in err and not out


def not_a_district(name: str) -> bool:
    try:
        wire.check_district(name)
    except ValueError:
        return True
    return False


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(min_size=1, max_size=70).filter(not_a_district))
def test_fail__bridge_csr_and_bridge_cert_take_only_district_names_that_can_be_a_topic_level(capsys, tmp_path, district):
    """Any name wire.check_district refuses is refused by both commands, before a key or certificate is made."""
    key = tmp_path / "refused.key"
    code, out, err = cli(capsys, "bridge-csr", f"--district={district}", "--key-out", str(key))
    assert code == 2 and "must be 1 to 63 lower-case letters" in err and not out and not key.exists()
    assert certified(capsys, tmp_path / "province", "d1")[0] == 0
    code, out, err = cli(capsys, "bridge-cert", "--csr", str(tmp_path / "province" / "bridge.csr"),
                         f"--district={district}", "--ca-dir", str(tmp_path / "province" / "ca"))
    assert code == 2 and "must be 1 to 63 lower-case letters" in err and not out


def test_ok__a_kiosk_imported_for_another_district_on_a_running_worker_merges_after_the_refresh(province_db):
    """The worker's Ingest re-reads the kiosks' districts at most every refresh_seconds (a `hub kiosks import` while
    it runs): until then the kiosk's event is quarantined as wrong_district and settles nothing."""
    now = [0.0]
    topic = wire.district_topic("d2", "k1", wire.EVENT)
    with province_db.open() as store:
        ingest = Ingest(store, clock=lambda: now[0], wall=lambda: "2026-03-02T01:00:00Z", refresh_seconds=2.0)
        ingest.receive(topic, event("k1", 1))
        assert ingest.flush().acks == [] and reasons(province_db) == ["wrong_district"]
        import_kiosk(store, "k1", "d2")  # k1 moved from d1 to d2
        now[0] = 1.0
        ingest.receive(topic, event("k1", 1))
        assert ingest.flush().acks == [] and reasons(province_db) == ["wrong_district"] * 2
        now[0] = 2.0
        ingest.receive(topic, event("k1", 1))
        assert [(ack.kiosk, ack.watermark) for ack in ingest.flush().acks] == [("k1", 1)]
        assert store.districts()["k1"] == "d2"


# -- hub province-acl -------------------------------------------------------------------------------------------------


def test_ok__the_province_acl_lets_each_bridge_only_its_district_and_the_workers_every_district(capsys, tmp_path,
                                                                                                province_db):
    from .mosquitto import Broker

    acl = tmp_path / "province.acl"
    code, _, err = cli(capsys, "province-acl", "--db", province_db.location, "--worker", "hub-province-1", "--out", str(acl))
    assert code == 0 and "2 districts' bridges and 1 workers" in err
    users = {"bridge-d1": "p1", "bridge-d2": "p2", "hub-province-1": "pw", "k1": "pk"}
    with Broker(tmp_path / "province", passwords=users, acl=acl.read_text()) as broker:
        bridge = Client(broker, "bridge-d1", username="bridge-d1", password="p1",
                        subscribe=("vax/d/d1/k/+/ack", "vax/d/d2/k/+/ack")).wait_subscribed()
        worker = Client(broker, "hub-province-1", username="hub-province-1", password="pw",
                        subscribe=("vax/d/+/k/+/event",)).wait_subscribed()
        try:
            # d1's bridge subscribed to d2's acks too (Mosquitto grants it) but is never given one: ACLs act on delivery
            assert worker.puback(worker.publish(wire.district_topic("d2", "k5", wire.ACK), b"a2")) == 0
            assert worker.puback(worker.publish(wire.district_topic("d1", "k1", wire.ACK), b"a1")) == 0
            wait_until(lambda: bridge.on(wire.district_topic("d1", "k1", wire.ACK)) == [b"a1"], what="d1's ack at d1's bridge")
            assert not bridge.on(wire.district_topic("d2", "k5", wire.ACK)), "d1's bridge read d2's acknowledgement"
            assert bridge.puback(bridge.publish(wire.district_topic("d1", "k1", wire.EVENT), b"e")) == 0
            wait_until(lambda: worker.on(wire.district_topic("d1", "k1", wire.EVENT)) == [b"e"], what="d1's event")
            # refused: 135, after which Mosquitto 2.0.11 may drop the client, so each is its last publish
            for client, topic in ((bridge, wire.district_topic("d2", "k5", wire.EVENT)),
                                  (worker, wire.district_topic("d1", "k1", wire.EVENT))):
                mid = client.publish(topic, b"x")
                wait_until(lambda: client.pubacks.get(mid) == 135 or client.disconnects, what=f"{topic} refused")
            assert worker.on(wire.district_topic("d1", "k1", wire.EVENT)) == [b"e"]
        finally:
            bridge.close()
            worker.close()

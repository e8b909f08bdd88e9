"""A province end to end, with real processes: a kiosk's publisher on its district broker, bridged (`hub bridge-config`)
to the province broker, a province worker (`hub run --db postgresql://... --district d1`) whose acknowledgement comes
back over the bridge, and the district hub merging the same events and acknowledging them too (`province.acks`): the
kiosk (`hub.province_acks`) marks an event done only once both acknowledgements cover it."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from types import SimpleNamespace

import paho.mqtt.client as mqtt
import pytest

import wire
from hub import credentials, kiosk_files
from hub.bridge import BridgeSettings, bridge_user, config as bridge_config, province_acl
from hub.store.postgres import open_store as open_province
from hub.store.sqlite import open_store
from kiosk.payloads import parse_payload
from kiosk.queue.checkin import check_in
from kiosk.queue.store import Store

from .conftest import HUNG, LAN
from .hub_helpers import run_hub
from .hub_process import Client, HubProcess
from .keys import enroll
from .mosquitto import Broker, free_port
from .pki import district_ca
from .polling import wait_until
from .test_hub_provision import try_connect
from .uplink_kiosk import kiosk_config, publishing

KIOSK = "kiosk-test"
MARKER = "vax/test/marker"


@pytest.fixture
def brokers(tmp_path):
    """The province's broker and district d1's, bridged to it by `hub bridge-config`'s lines."""
    province = Broker(tmp_path / "province").start()
    try:
        district = Broker(tmp_path / "district", extra=bridge_config(BridgeSettings("d1", province.url))).start()
        try:
            yield province, district
        finally:
            district.stop()
    finally:
        province.stop()


@pytest.fixture
def config(tmp_path, brokers):
    return kiosk_config(tmp_path, KIOSK, broker=brokers[1].url, resend_seconds=1.0, province_acks=True)


@pytest.fixture
def publisher(config, store, brokers):
    with publishing(config, brokers[1].url) as running:
        yield running


@pytest.fixture
def databases(tmp_path, pg_url):
    """The district's SQLite hub with the kiosk enrolled, and the province's PostgreSQL database that imported it."""
    district = tmp_path / "district.db"
    with open_store(district) as store:
        enroll(store, KIOSK)
        exported = kiosk_files.parse(json.dumps(kiosk_files.export(store, "2026-11-25T00:00:00Z")))
    with open_province(pg_url) as province:
        kiosk_files.import_file(province, exported, "d1", "2026-11-25T00:00:00Z")
    return district, pg_url


def outbox(store: Store) -> dict[int, bool]:
    """seq -> whether an acknowledgement covers it, of the kiosk's outbox rows."""
    return {seq: acked is not None for seq, acked in store.db.execute("select seq, acked_at from outbox")}


def watermark(open_db) -> int:
    with open_db() as store:
        return next((row["watermark"] for row in store.stats()["kiosks"] if row["kiosk"] == KIOSK), 0)


def seen_in_order(client: Client) -> None:
    """Publish a marker and wait for it: whatever the broker had for the client before it has arrived by then."""
    client.publish(MARKER, b"x")
    wait_until(lambda: client.on(MARKER), what="the marker back")


def test_ok__a_kiosk_s_event_is_done_only_once_its_district_hub_and_the_province_both_acknowledged_it(
        tmp_path, databases, brokers, store, site, publisher):
    district, province = databases
    province_broker, district_broker = brokers
    settings = tmp_path / "hub.toml"
    settings.write_text('[province]\nacks = "province"\n')
    district_hub = HubProcess(district_broker.url, district, "--config", str(settings))
    bridged = Client(province_broker, "province-watcher", subscribe=("vax/d/+/k/+/event",)).wait_subscribed()
    ears = Client(district_broker, "district-watcher", subscribe=(wire.topic(KIOSK, wire.ACK),
                                                                  wire.province_ack_topic(KIOSK), MARKER)).wait_subscribed()
    try:
        check_in(site, parse_payload(LAN, today=None), source="camera")
        check_in(site, parse_payload(HUNG, today=None), source="camera")
        wait_until(lambda: watermark(lambda: open_store(district)) == 2, what="the district hub merging both events")
        wait_until(lambda: ears.last_ack(KIOSK) is not None and ears.last_ack(KIOSK).watermark == 2,
                   what="the district hub's own acknowledgement")
        wait_until(lambda: len(bridged.on(wire.district_topic("d1", KIOSK, wire.EVENT))) >= 2,
                   what="both events on the province broker, under d1's prefix")
        seen_in_order(ears)
        assert not ears.on(wire.province_ack_topic(KIOSK)), "an acknowledgement of the province with no province worker"
        assert outbox(store) == {1: False, 2: False}, "done with the district hub's acknowledgement alone"
        # The province broker had no session for a worker yet: it dropped both events. The kiosk sends them again
        # (resend_seconds) while its district hub is online, and the province's worker now hears them.
        with HubProcess(province_broker.url, province, "--client-id", "hub-province-1", "--district", "d1"):
            wait_until(lambda: outbox(store) == {1: True, 2: True}, timeout=30, what="both acks at the kiosk")
            assert watermark(lambda: open_province(province)) == 2
        seen_in_order(ears)
        acks = [wire.parse_ack(KIOSK, body) for body in ears.on(wire.province_ack_topic(KIOSK)) if body]
        assert acks and acks[-1].watermark == 2  # over the bridge: vax/d/d1/k/kiosk-test/ack became vax/p/k/kiosk-test/ack
        assert watermark(lambda: open_store(district)) == 2 and publisher.flow.watermark == 2
    finally:
        ears.close()
        bridged.close()
        district_hub.terminate()


PROVINCE_CONF = (Path(__file__).resolve().parent.parent / "provision" / "mosquitto-province.conf").read_text()
WORKER = "hub-province-1"


def province_broker(capsys, folder: Path, acl: str, worker_password: str) -> tuple[Broker, SimpleNamespace]:
    """provision/mosquitto-province.conf with its paths and ports moved into folder, the CA `hub ca init` made in
    folder/ca, the CRL `hub bridge-crl` writes from it, a worker's password line and the ACL given; its bridges'
    listener (as a Broker) and its workers'."""
    authority = district_ca(folder / "ca")
    assert run_hub(capsys, "bridge-crl", "--ca-dir", str(authority), "--out", str(folder / "crl.pem"))[0] == 0
    broker, workers = Broker(folder), SimpleNamespace(port=free_port())  # Broker: the folder, a port, start and stop
    (folder / "certs").mkdir()
    for name in ("ca.crt", "server.crt", "server.key"):  # what install-province.sh copies for Mosquitto
        shutil.copy(authority / name, folder / "certs" / name)
    credentials.set_password_line(folder / "passwd", WORKER, credentials.hash_password(worker_password))
    (folder / "acl").write_text(acl)
    text = PROVINCE_CONF.replace("/etc/mosquitto/province", str(folder)).replace("/var/lib/mosquitto/", f"{folder}/data/")
    text = text.replace("listener 8883\n", f"listener {broker.port} 127.0.0.1\n")
    text = text.replace("listener 1883 127.0.0.1\n", f"listener {workers.port} 127.0.0.1\n")
    # debug: Mosquitto logs a PUBLISH its ACL denied only at that level
    broker.config.write_text(text + "log_type debug\n" + ("user root\n" if os.geteuid() == 0 else ""))
    return broker.start(), workers


def bridge_files(capsys, folder: Path, district: str, province_ca: Path, certified_for: str | None = None) -> Path:
    """`hub bridge-csr --district DISTRICT` at the district, `hub bridge-cert` at the province by the CA in province_ca
    (for the district ``certified_for``, default: the same); the folder holding bridge.key and bridge.crt."""
    folder.mkdir(parents=True)
    assert run_hub(capsys, "bridge-csr", "--district", certified_for or district, "--key-out", str(folder / "bridge.key"),
                   "--csr-out", str(folder / "bridge.csr"))[0] == 0
    assert run_hub(capsys, "bridge-cert", "--csr", str(folder / "bridge.csr"), "--district", certified_for or district,
                   "--ca-dir", str(province_ca), "--out", str(folder / "bridge.crt"))[0] == 0
    return folder


def bridged_district(folder: Path, district: str, province: Broker, province_ca: Path, files: Path) -> Broker:
    """A district broker with the bridge `hub bridge-config --ca-file --cert-file --key-file` writes."""
    return Broker(folder, extra=bridge_config(BridgeSettings(
        district, f"mqtts://127.0.0.1:{province.port}", str(province_ca / "ca.crt"), str(files / "bridge.crt"),
        str(files / "bridge.key")))).start()


def test_ok__only_a_bridge_the_province_ca_certified_for_its_district_gets_through_the_shipped_province_broker(
        capsys, tmp_path):
    """The province broker as install-province.sh configures it (mutual TLS, CN = username = client id, the ACL
    `hub province-acl` writes), and three district brokers bridged to it with `hub bridge-config`'s lines: d1's
    bridge, its key and CSR from `hub bridge-csr`, certified by `hub bridge-cert`, carries events out and the
    worker's acknowledgements in; a bridge certified by another CA is refused at the handshake; one certified for d2
    (a real certificate of the province) but bridging d1's kiosks has every publish under d1's prefix denied."""
    province, workers = province_broker(capsys, tmp_path / "province", province_acl(["d1", "d2"], [WORKER]),
                                        "worker-secret")
    province_ca = tmp_path / "province" / "ca"
    good = bridge_files(capsys, tmp_path / "good", "d1", province_ca)
    stranger = bridge_files(capsys, tmp_path / "stranger", "d1", district_ca(tmp_path / "stranger-ca"))
    as_d2 = bridge_files(capsys, tmp_path / "as-d2", "d1", province_ca, certified_for="d2")
    districts = [bridged_district(tmp_path / name, "d1", province, province_ca, files)
                 for name, files in (("d1", good), ("d1-stranger", stranger), ("d1-as-d2", as_d2))]
    worker = Client(workers, WORKER, username=WORKER, password="worker-secret",
                    subscribe=("vax/d/+/k/+/event",)).wait_subscribed()
    kiosks = [Client(district, kiosk, subscribe=(wire.province_ack_topic(kiosk),)).wait_subscribed()
              for district, kiosk in zip(districts, ("k1", "k2", "k3"))]
    try:
        for kiosk, kiosk_id in zip(kiosks[1:], ("k2", "k3")):
            kiosk.publish(wire.topic(kiosk_id, wire.EVENT), b"e")
        wait_until(lambda: kiosks[0].publish(wire.topic("k1", wire.EVENT), b"e") and
                   worker.on(wire.district_topic("d1", "k1", wire.EVENT)), what="k1's event at the province worker")
        worker.publish(wire.district_topic("d1", "k1", wire.ACK), b"a", retain=True)
        wait_until(lambda: kiosks[0].on(wire.province_ack_topic("k1")) == [b"a"], what="the ack at the district")
        log = province.log.read_text
        wait_until(lambda: "certificate verify failed" in log(), what="the stranger's certificate refused")
        wait_until(lambda: "Denied PUBLISH from bridge-d2" in log() and "'vax/d/d1/k/k3/event'" in log(),
                   what="the d2 bridge's publish under d1's prefix denied")
        assert not worker.on(wire.district_topic("d1", "k2", wire.EVENT)) and not worker.on(wire.district_topic("d1", "k3", wire.EVENT))
        assert "u'bridge-d1'" in log() and "u'bridge-d2'" in log()  # each bridge's username: its certificate's name
        assert "as bridge-d2 (" in log()  # and its client id: d2's bridge cannot take over d1's session (remote_clientid)
    finally:
        for client in (*kiosks, worker):
            client.close()
        for broker in (*districts, province):
            broker.stop()


def bridge_handshake(province: Broker, province_ca: Path, files: Path, district: str):
    """One connection to the province broker with the bridge certificate in files: the CONNACK code (0: let in), or
    what ended it before one came (with TLS 1.3 the broker's refusal of a certificate reaches the client as the end of
    the connection, after its own half of the handshake)."""
    at = SimpleNamespace(ca_dir=province_ca, tls_port=province.port)
    return try_connect(at, SimpleNamespace(cert=files / "bridge.crt", key=files / "bridge.key"), bridge_user(district))


def refused(outcome) -> bool:
    """The connection ended before a CONNACK: the handshake failed."""
    return str(outcome).startswith(("tls:", "disconnected", "closed"))


class HeldBridge:
    """A connection held open with a bridge certificate, as a district's bridge holds it: it reconnects by itself,
    and counts its connections and disconnections."""

    def __init__(self, province: Broker, province_ca: Path, files: Path, district: str):
        self.connects, self.disconnects = [], []
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=bridge_user(district), protocol=mqtt.MQTTv5)
        self.client.tls_set(ca_certs=str(province_ca / "ca.crt"), certfile=str(files / "bridge.crt"),
                            keyfile=str(files / "bridge.key"))
        self.client.reconnect_delay_set(min_delay=1, max_delay=1)
        self.client.on_connect = lambda c, u, f, code, p: self.connects.append(code.value)
        self.client.on_disconnect = lambda c, u, f, code, p: self.disconnects.append(str(code))
        self.client.connect_async("127.0.0.1", province.port)
        self.client.loop_start()

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def test_ok__a_revoked_bridge_is_cut_refused_at_the_handshake_and_its_district_s_new_key_gets_in(capsys, tmp_path):
    """A district machine stolen: `hub bridge-revoke --district d1` at the province writes the CRL; the connection the
    stolen bridge holds stays up until the shipped province broker restarts (what hub-broker-restart.path does when
    the CRL changes), which cuts it, and d1's certificate is refused at the TLS handshake from then on, also after
    `hub bridge-cert` certified the rebuilt district's new key, which gets in; d2's bridge is untouched."""
    province, _ = province_broker(capsys, tmp_path / "province", province_acl(["d1", "d2"], [WORKER]), "worker-secret")
    province_ca = tmp_path / "province" / "ca"
    stolen, d2 = (bridge_files(capsys, tmp_path / name, name, province_ca) for name in ("d1", "d2"))
    held = HeldBridge(province, province_ca, stolen, "d1")
    try:
        wait_until(lambda: held.connects == [0], what="the stolen bridge connected")
        code, _, err = run_hub(capsys, "bridge-revoke", "--district", "d1", "--ca-dir", str(province_ca),
                               "--crl-out", str(tmp_path / "province" / "crl.pem"))
        assert code == 0 and "(1 bridge certificates revoked)" in err and "hub-broker-restart.path" in err
        assert held.disconnects == [] and held.connects == [0]  # Mosquitto reads the CRL when it starts
        province.restart()  # what hub-broker-restart.path does when the CRL changes
        wait_until(lambda: held.disconnects, what="the stolen bridge's connection cut by the restart")
        assert refused(bridge_handshake(province, province_ca, stolen, "d1"))
        rebuilt = bridge_files(capsys, tmp_path / "d1-rebuilt", "d1", province_ca)
        assert bridge_handshake(province, province_ca, rebuilt, "d1") == 0
        assert bridge_handshake(province, province_ca, d2, "d2") == 0
        assert refused(bridge_handshake(province, province_ca, stolen, "d1"))
        assert "certificate verify failed" in province.log.read_text()
        assert held.connects == [0], "the held bridge, reconnecting every second, never got in again"
    finally:
        held.close()
        province.stop()


def hub_state(client: Client) -> str | None:
    """The last hub status the client heard (vax/hub/status), or None."""
    bodies = [body for body in client.on(wire.HUB_STATUS_TOPIC) if body]
    return wire.parse_hub_status(bodies[-1])["state"] if bodies else None


def test_ok__a_district_hub_hearing_the_province_says_online_only_while_its_bridge_is_up(tmp_path, databases, brokers):
    """Kiosks send their backlog again only while the hub says online (kiosk/uplink/flow.py): with province.acks =
    "province" that is while the bridge can carry it to the province, which Mosquitto's notification says."""
    district, _ = databases
    province_broker, district_broker = brokers
    settings = tmp_path / "hub.toml"
    settings.write_text('[province]\nacks = "province"\n')
    ears = Client(district_broker, "status-watcher", subscribe=(wire.HUB_STATUS_TOPIC, wire.BRIDGE_STATE_TOPIC)).wait_subscribed()
    try:
        with HubProcess(district_broker.url, district, "--config", str(settings)):
            wait_until(lambda: hub_state(ears) == "online", what="online while the bridge is up")
            province_broker.stop()
            wait_until(lambda: hub_state(ears) == "offline", timeout=30, what="offline once the bridge is down")
            province_broker.start()
            wait_until(lambda: hub_state(ears) == "online", timeout=30, what="online again once the bridge is back")
        assert ears.on(wire.BRIDGE_STATE_TOPIC)[-2:] == [b"0", b"1"]
    finally:
        ears.close()

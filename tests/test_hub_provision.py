"""The hub's machine: hub.service as installed, install-hub.sh, and the district broker's config run by a real Mosquitto."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

import wire
from hub import credentials
from tests.hub_process import Client, wait_until
from tests.mosquitto import MOSQUITTO, free_port
from tests.test_systemd import analyze, one, parse_unit, words

ROOT = Path(__file__).resolve().parent.parent
UNIT = ROOT / "systemd" / "hub.service"
INSTALLER = (ROOT / "provision" / "install-hub.sh").read_text(encoding="utf-8")
CONF = (ROOT / "provision" / "mosquitto-hub.conf").read_text(encoding="utf-8")
ACL = (ROOT / "provision" / "mosquitto-hub.acl").read_text(encoding="utf-8")
OPENSSL = shutil.which("openssl")


def installer_value(name: str) -> str:
    return re.search(rf"^{name}=(\S+)$", INSTALLER, re.MULTILINE).group(1)


def conf_value(key: str) -> str:
    return re.search(rf"^{key} (.+)$", CONF, re.MULTILINE).group(1)


def test_ok__hub_service_runs_the_installed_hub_with_its_credential_and_a_watchdog():
    unit = parse_unit(UNIT)
    assert one(unit, "Service", "Type") == "notify" and one(unit, "Service", "WatchdogSec") == "30"
    assert one(unit, "Service", "Restart") == "always" and one(unit, "Unit", "StartLimitIntervalSec") == "0"
    assert (one(unit, "Service", "User"), one(unit, "Service", "Group")) == ("hub", "hub")
    exec_start = one(unit, "Service", "ExecStart").split()
    assert exec_start[:2] == [f"{installer_value('dest')}/.venv/bin/hub", "run"]
    assert exec_start[exec_start.index("--db") + 1].startswith("/var/lib/hub/")
    assert one(unit, "Service", "StateDirectory") == "hub" and one(unit, "Service", "WorkingDirectory") == "/var/lib/hub"
    loaded = dict(value.split(":", 1) for value in unit["Service"]["LoadCredential"])
    assert loaded == {credentials.HUB_CREDENTIAL: f"{installer_value('credentials')}/{credentials.HUB_CREDENTIAL}"}
    assert credentials.HUB_CREDENTIAL in INSTALLER
    assert one(unit, "Service", "ProtectSystem") == "strict" and one(unit, "Service", "NoNewPrivileges") == "yes"
    assert "PYTHONFAULTHANDLER=1" in words(unit, "Service", "Environment")
    assert one(unit, "Install", "WantedBy") == "multi-user.target"


def test_ok__install_hub_installs_the_unit_and_the_broker_files():
    units = re.search(r"^units=\((.*)\)$", INSTALLER, re.MULTILINE).group(1).split()
    assert units == ["hub.service"]
    for name in ("provision/mosquitto-hub.conf", "provision/mosquitto-hub.acl"):
        assert f"$dest/{name}" in INSTALLER
    broker = installer_value("broker")
    assert conf_value("password_file") == f"{broker}/passwd" and conf_value("acl_file") == f"{broker}/acl"
    assert subprocess.run(["bash", "-n", str(ROOT / "provision" / "install-hub.sh")]).returncode == 0


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_ok__systemd_analyze_verifies_hub_service(tmp_path):
    stub = tmp_path / "stub"
    stub.write_text("#!/bin/sh\n")
    stub.chmod(0o755)
    copy = tmp_path / "hub.service"
    copy.write_text(re.sub(r"^ExecStart=/\S+", f"ExecStart={stub}", UNIT.read_text(), flags=re.MULTILINE))
    assert analyze([], [copy], {}) == []


def test_ok__the_broker_is_sized_for_a_day_of_fifty_kiosks():
    assert int(conf_value("max_queued_messages")) >= 50 * 4000
    assert int(conf_value("autosave_interval")) <= 10 and conf_value("persistence") == "true"
    assert conf_value("set_tcp_nodelay") == "true" and conf_value("allow_anonymous") == "false"


# -- the config itself, run by a real Mosquitto --------------------------------------------------------------------


def make_certificates(folder: Path) -> None:
    """A CA and a server certificate for 127.0.0.1, as install-hub.sh makes them (smaller keys: faster)."""
    folder.mkdir()

    def openssl(*args: str) -> None:
        subprocess.run([OPENSSL, *args], cwd=folder, check=True, capture_output=True)

    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=test CA", "-keyout", "ca.key", "-out", "ca.crt")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-keyout", "server.key", "-out", "server.csr")
    (folder / "san").write_text("subjectAltName=IP:127.0.0.1\n")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-days", "1",
            "-out", "server.crt", "-extfile", "san")


@pytest.fixture
def district_broker(tmp_path):
    """provision/mosquitto-hub.conf with its paths and ports moved into tmp_path; (tls port, local port, folder)."""
    folder = tmp_path / "vax"
    folder.mkdir()
    make_certificates(folder / "certs")
    (folder / "data").mkdir()
    (folder / "acl").write_text(ACL)
    (folder / "passwd").write_text("")
    for user, password in (("hub", "hub-secret"), ("k1", "k1-secret")):
        credentials.set_password_line(folder / "passwd", user, credentials.hash_password(password))
    tls_port, local_port = free_port(), free_port()
    text = CONF.replace("/etc/mosquitto/vax", str(folder)).replace("/var/lib/mosquitto/", f"{folder}/data/")
    text = re.sub(r"^listener 8883$", f"listener {tls_port} 127.0.0.1", text, flags=re.MULTILINE)
    text = re.sub(r"^listener 1883 127.0.0.1$", f"listener {local_port} 127.0.0.1", text, flags=re.MULTILINE)
    text += "user root\n" if os.geteuid() == 0 else ""
    (folder / "mosquitto.conf").write_text(text)
    with open(folder / "log", "wb") as log:
        proc = subprocess.Popen([MOSQUITTO, "-c", str(folder / "mosquitto.conf")], stdout=log, stderr=log)
    try:
        yield tls_port, local_port, folder
    finally:
        proc.terminate()
        proc.wait(10)


class Port:
    def __init__(self, port: int):
        self.port = port


@pytest.mark.skipif(OPENSSL is None, reason="openssl is not installed")
def test_ok__the_district_broker_config_runs_tls_for_kiosks_and_loopback_for_the_hub(district_broker):
    import paho.mqtt.client as mqtt

    tls_port, local_port, folder = district_broker
    wait_until(lambda: listening(tls_port) and listening(local_port), what=f"mosquitto listening: {(folder / 'log').read_bytes()[-500:]!r}")
    kiosk = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="k1", protocol=mqtt.MQTTv5, reconnect_on_failure=False)
    kiosk.tls_set(ca_certs=str(folder / "certs" / "ca.crt"))
    kiosk.username_pw_set("k1", "k1-secret")
    codes = []
    kiosk.on_connect = lambda client, userdata, flags, code, properties: codes.append(code.value)
    kiosk.connect("127.0.0.1", tls_port)
    kiosk.loop_start()
    try:
        wait_until(lambda: codes, what="the kiosk's CONNACK over TLS")
        assert codes == [0]
        assert kiosk.publish(wire.topic("k1", wire.EVENT), b"x", qos=1).rc == mqtt.MQTT_ERR_SUCCESS
    finally:
        kiosk.disconnect()
        kiosk.loop_stop()
    hub = Client(Port(local_port), "hub", username="hub", password="hub-secret")
    anonymous = Client(Port(local_port), "nobody")
    hub.close()
    anonymous.close()
    assert hub.connack == 0 and anonymous.connack == 135


def listening(port: int) -> bool:
    import socket

    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


@pytest.mark.skipif(OPENSSL is None, reason="openssl is not installed")
def test_ok__hub_run_merges_over_tls_through_the_district_broker(district_broker, tmp_path):
    from hub.sqlite_store import open_store
    from tests.hub_process import HubProcess, event

    tls_port, local_port, folder = district_broker
    wait_until(lambda: listening(tls_port), what="mosquitto listening")
    db = tmp_path / "hub.db"
    store = open_store(db)
    store.enroll("k1", "site-a", credentials.hash_password("k1-secret"), "2026-03-02T01:00:00Z")
    store.close()
    with HubProcess(f"mqtts://127.0.0.1:{tls_port}", db, "--ca-file", str(folder / "certs" / "ca.crt"),
                    env={"HUB_PASSWORD": "hub-secret"}) as hub:
        kiosk = Client(Port(local_port), "k1", username="k1", password="k1-secret", subscribe=(wire.topic("k1", wire.ACK),))
        try:
            kiosk.wait_subscribed()
            assert kiosk.puback(kiosk.publish(wire.topic("k1", wire.EVENT), event("k1", 1))) == 0
            assert kiosk.wait_watermark("k1", 1).watermark == 1  # the ACL let the hub read the event and write the ack
        finally:
            kiosk.close()
        assert "refused" not in hub.log

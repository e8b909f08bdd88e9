"""A real `python -m hub run` child and a raw paho client that plays kiosks and watches the hub, for the hub's tests."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

import wire

from .child import Child
from .keys import signer
from .mosquitto import disconnect
from .polling import wait_until

ROOT = Path(__file__).resolve().parent.parent
READY = "hub: merging from"


class HubProcess(Child):
    """`python -m hub run --broker URL --db PATH ...`, started and waited for (its ready line on stdout)."""

    def __init__(self, broker_url: str, db: Path, *args: str, env: dict[str, str] | None = None, wait: bool = True,
                 log_level: str = "INFO"):
        environ = {key: value for key, value in os.environ.items() if key not in ("HUB_PASSWORD", "CREDENTIALS_DIRECTORY")}
        environ.update({"PYTHONUNBUFFERED": "1", **(env or {})})
        command = [sys.executable, "-m", "hub", "--log-level", log_level, "run", "--broker", broker_url, "--db", str(db), "--batch-ms", "5", *args]
        self.proc = subprocess.Popen(command, cwd=ROOT, env=environ, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        self.start_drains((self.drain, self.proc.stdout, self.stdout), (self.drain, self.proc.stderr, self.stderr))
        if wait:
            self.wait_ready()

    @staticmethod
    def drain(stream, lines: list[str]) -> None:
        for line in stream:
            lines.append(line)

    def wait_ready(self, timeout: float = 20.0) -> None:
        wait_until(lambda: any(READY in line for line in self.stdout) or self.proc.poll() is not None, timeout, "the hub's ready line")
        assert self.proc.poll() is None, f"hub exited with {self.proc.returncode}: {self.log}"

    @property
    def log(self) -> str:
        return "".join(self.stderr)

    def __enter__(self) -> "HubProcess":
        return self

    def __exit__(self, *exc) -> None:
        if self.proc.poll() is None:
            self.terminate()
        else:
            self.close_pipes()


def worker_pid(hub: HubProcess) -> int:
    """The pid of the hub's merge worker (its other child is multiprocessing's resource tracker)."""
    wait_until(lambda: workers(hub.proc.pid), what="the merge worker")
    [pid] = workers(hub.proc.pid)
    return pid


def workers(parent: int) -> list[int]:
    with open(f"/proc/{parent}/task/{parent}/children") as children:
        pids = [int(pid) for pid in children.read().split()]
    return [pid for pid in pids if b"resource_tracker" not in Path(f"/proc/{pid}/cmdline").read_bytes()]


def gone(pid: int) -> bool:
    """True once the process no longer runs (a zombie, dead but not yet reaped, counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except FileNotFoundError:
        return True


class Client:
    """A raw paho v5 client (loop thread) that publishes at QoS 1 and records what it receives and every PUBACK code."""

    def __init__(self, broker, client_id: str, *, username: str | None = None, password: str | None = None,
                 subscribe: tuple[str, ...] = (), clean_start: bool = True, tls: tuple[Path, Path, Path] | None = None):
        """``tls``: (CA file, client certificate, client key) for mutual TLS; the connection then verifies the broker."""
        self.messages: list[mqtt.MQTTMessage] = []
        self.disconnects: list[int] = []
        self.pubacks: dict[int, int] = {}
        self.subacks: list[int] = []
        self.connack: int | None = None
        self.lock = threading.Lock()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5,
                                  reconnect_on_failure=False)
        self.client.max_inflight_messages_set(100)
        if username is not None:
            self.client.username_pw_set(username, password)
        if tls is not None:
            self.client.tls_set(ca_certs=str(tls[0]), certfile=str(tls[1]), keyfile=str(tls[2]))
        self.client.on_connect = self.on_connect
        self.client.on_disconnect = self.on_disconnect
        self.client.on_message = self.on_message
        self.client.on_publish = self.on_publish
        self.client.on_subscribe = self.on_subscribe
        self.topics = subscribe
        properties = Properties(PacketTypes.CONNECT)
        properties.SessionExpiryInterval = 0 if clean_start else 3600
        self.client.connect("127.0.0.1", broker.port, clean_start=clean_start, properties=properties)
        self.client.loop_start()
        wait_until(lambda: self.connack is not None, 10, f"{client_id}'s CONNACK")

    def on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        self.connack = reason_code.value
        if not reason_code.is_failure and self.topics:
            client.subscribe([(name, 1) for name in self.topics])

    def on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        self.disconnects.append(reason_code.value)

    def on_subscribe(self, client, userdata, mid, reason_codes, properties) -> None:
        self.subacks.extend(code.value for code in reason_codes)

    def on_message(self, client, userdata, message) -> None:
        with self.lock:
            self.messages.append(message)

    def on_publish(self, client, userdata, mid, reason_code, properties) -> None:
        self.pubacks[mid] = reason_code.value

    def wait_subscribed(self) -> "Client":
        wait_until(lambda: len(self.subacks) >= len(self.topics), 10, "SUBACK")
        return self

    def publish(self, topic: str, body: bytes | str, *, retain: bool = False) -> int:
        info = self.client.publish(topic, body, qos=1, retain=retain)
        assert info.rc == mqtt.MQTT_ERR_SUCCESS, mqtt.error_string(info.rc)
        return info.mid

    def puback(self, mid: int, timeout: float = 10.0) -> int:
        wait_until(lambda: mid in self.pubacks, timeout, f"the PUBACK of mid {mid}")
        return self.pubacks[mid]

    def on(self, topic: str) -> list[bytes]:
        with self.lock:
            return [m.payload for m in self.messages if m.topic == topic]

    def last_ack(self, kiosk: str) -> wire.Ack | None:
        bodies = [body for body in self.on(wire.topic(kiosk, wire.ACK)) if body]
        return wire.parse_ack(kiosk, bodies[-1]) if bodies else None

    def wait_watermark(self, kiosk: str, watermark: int, timeout: float = 10.0) -> wire.Ack:
        wait_until(lambda: (ack := self.last_ack(kiosk)) is not None and ack.watermark >= watermark, timeout,
                   f"kiosk {kiosk}'s watermark {watermark} (last: {self.last_ack(kiosk)})")
        return self.last_ack(kiosk)

    def hub_states(self) -> list[str]:
        return [wire.parse_hub_status(body)["state"] for body in self.on(wire.HUB_STATUS_TOPIC) if body]

    def close(self) -> None:
        disconnect(self.client)


def event(kiosk: str, seq: int, *, lot: str = "L1", at: str = "2026-03-02T08:00:00+07:00") -> bytes:
    """A valid event (LotOpened: no personal data) as a kiosk publishes it, signed with its test key."""
    return signer(kiosk).sign(wire.envelope(kiosk, seq, "LotOpened", boot="boot-1", at=at, clock_synced=True,
                                            payload={"lot": {"product": "Vaxzevria", "lot_number": lot}}))


def check_in(kiosk: str, seq: int, id_number: str = "001190012345", name: str = "Nguyễn Thị Lan") -> bytes:
    """A valid PersonCheckedIn, signed: it carries personal data, which must never reach a log."""
    payload = {"ticket": {"day": "2026-03-02", "number": seq}, "id_number": id_number,
               "person": {"full_name": name, "birth_date": "1990-05-17", "sex": "Nữ"}, "source": "cccd"}
    return signer(kiosk).sign(wire.envelope(kiosk, seq, "PersonCheckedIn", boot="boot-1", at="2026-03-02T08:00:00+07:00",
                                            clock_synced=True, payload=payload))

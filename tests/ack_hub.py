"""A stand-in for the district hub in the publisher's tests: a raw paho client that takes one kiosk's events and acknowledges them.

It is test scaffolding for the wire protocol, not the hub (hub/ is built
apart): a persistent session (Clean Start 0, a session expiry) subscribed to
the kiosk's event topic, a retained `wire.Ack` after every event with the
contiguous watermark and the gaps above it, and a retained hub status with a
Last Will. ``drop`` lists sequence numbers whose first delivery it ignores (a
message lost between broker and hub); ``acking`` False keeps it silent.
"""

from __future__ import annotations

import threading
from datetime import datetime, timezone

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

import wire
from wire import signature

from .mosquitto import disconnect
from .polling import wait_until


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def wait_for(predicate, timeout: float = 15.0, what: str = "condition", interval: float = 0.02):
    """Poll ``predicate`` until it returns something true, and return that; fail after ``timeout`` seconds."""
    return wait_until(predicate, timeout, what, interval)


class AckHub:
    """Takes the events of ``kiosk`` on ``port`` and acknowledges them; `close` when done."""

    def __init__(self, port: int, kiosk: str, *, drop=(), acking: bool = True, state: str = "online",
                 client_id: str = "test-hub", username: str | None = None, password: str | None = None, tls_ca: str | None = None,
                 tls_client: tuple[str, str] | None = None):
        self.kiosk = kiosk
        self.lock = threading.Lock()
        self.deliveries: list[int] = []
        """Every sequence number delivered, in arrival order, repeats included."""
        self.bodies: dict[int, bytes] = {}
        self.digests: dict[int, bytes] = {}
        """A test's stand-in for what the hub holds: seq -> the digest it folds instead of the body's own."""
        self.held: set[int] = set()
        self.drop = set(drop)
        self.acking = acking
        self.state = state
        self.watermark = 0
        self.chain = wire.chain_start(kiosk)
        self.connected = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
        if username:
            self.client.username_pw_set(username, password)
        if tls_ca:  # tls_client: (certificate, key) for a broker that asks for one
            self.client.tls_set(ca_certs=tls_ca, certfile=tls_client and tls_client[0], keyfile=tls_client and tls_client[1])
        self.client.will_set(wire.HUB_STATUS_TOPIC, wire.hub_status("offline", at=now_iso(), version="test"), qos=1, retain=True)
        self.client.on_connect = self.on_connect
        self.client.on_message = self.on_message
        self.client.on_disconnect = lambda *args: self.connected.clear()
        self.client.reconnect_delay_set(1, 1)
        properties = Properties(PacketTypes.CONNECT)
        properties.SessionExpiryInterval = 3600
        self.client.connect_async("127.0.0.1", port, keepalive=5, clean_start=False, properties=properties)
        self.client.loop_start()
        wait_for(self.connected.is_set, what="the test hub to connect")

    def on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            return
        client.subscribe(wire.topic(self.kiosk, wire.EVENT), options=SubscribeOptions(qos=1))
        client.publish(wire.HUB_STATUS_TOPIC, wire.hub_status(self.state, at=now_iso(), version="test"), qos=1, retain=True)
        self.connected.set()

    def on_message(self, client, userdata, message) -> None:
        event = wire.parse_event(message.topic, message.payload)
        with self.lock:
            self.deliveries.append(event.seq)
            if event.seq in self.drop:
                self.drop.discard(event.seq)
                return
            self.bodies[event.seq] = message.payload
            self.held.add(event.seq)
            while self.watermark + 1 in self.held:
                self.watermark += 1
                self.chain = wire.chain_next(self.chain, self.digests[self.watermark] if self.watermark in self.digests
                                             else signature.digest(signature.unsigned(self.bodies[self.watermark])))
            acking = self.acking
        if acking:
            self.acknowledge()

    def acknowledge(self) -> None:
        """Publish the retained watermark and gaps of what is held now."""
        with self.lock:
            above = sorted(seq for seq in self.held if seq > self.watermark)
            ack = wire.Ack(self.kiosk, self.watermark, max([self.watermark, *above]), wire.gaps_between(self.watermark, above),
                           now_iso(), self.chain.hex())
        self.client.publish(wire.topic(self.kiosk, wire.ACK), ack.encode(), qos=1, retain=True)

    def set_state(self, state: str) -> None:
        self.state = state
        self.client.publish(wire.HUB_STATUS_TOPIC, wire.hub_status(state, at=now_iso(), version="test"), qos=1, retain=True)

    def count(self, seq: int) -> int:
        with self.lock:
            return self.deliveries.count(seq)

    def close(self) -> None:
        disconnect(self.client)

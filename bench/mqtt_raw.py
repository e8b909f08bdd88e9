#!/usr/bin/env python3
"""Bare paho clients for the hub benchmarks' baselines, and the worker processes bench/hub.py starts.

Workers talk to bench/hub.py over stdin/stdout, one line each way at a time:

- ``mqtt_raw.py publish``: builds the wire bodies of its kiosks, prints
  ``ready``, waits for ``go`` on stdin, publishes every body at QoS 1 (one
  paho client per kiosk), waits for every PUBACK and prints one JSON line.
- ``mqtt_raw.py subscribe``: a QoS 1, MQTT v5 subscriber with a persistent
  session (Clean Start 0) and manual acknowledgement that only counts
  messages; prints ``ready`` after its SUBACK, then one JSON line once it has
  the expected count (or at its deadline).

Times are ``time.monotonic()`` (CLOCK_MONOTONIC, one clock for every process
of the machine) except per-message times for latency, which are ``time.time()``.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

HERE = Path(__file__).resolve().parent
for path in (HERE.parent, HERE):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

import wire  # noqa: E402

WINDOW = 32
"""In-flight QoS 1 messages per raw publisher: the kiosk publisher's default ``[hub] window``."""
SESSION_EXPIRY_S = 3600


def client(client_id: str, *, manual_ack: bool = False) -> mqtt.Client:
    """Return an MQTT v5 paho client (callback API 2)."""
    return mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5, manual_ack=manual_ack)


def connect(c: mqtt.Client, url: str, *, persistent: bool = True) -> None:
    """Connect (Clean Start 0 with a session expiry when persistent) and start the network thread."""
    properties = Properties(PacketTypes.CONNECT)
    properties.SessionExpiryInterval = SESSION_EXPIRY_S if persistent else 0
    broker = wire.parse_broker(url)
    c.connect(broker.host, broker.port, keepalive=30, clean_start=not persistent, properties=properties)
    c.loop_start()


def delivered(reason_code) -> bool:
    """A v5 PUBACK means delivered unless its reason code is an error (>= 0x80) or 16, no matching subscribers."""
    value = getattr(reason_code, "value", reason_code)
    return value < 0x80 and value != 16


class Publisher:
    """One kiosk's bare paho client: publishes a list of bodies at QoS 1 and counts the PUBACKs."""

    def __init__(self, kiosk_id: str, bodies: list[bytes], url: str, *, window: int = WINDOW, district: str | None = None):
        self.kiosk_id = kiosk_id
        self.topic = wire.district_topic(district, kiosk_id, wire.EVENT) if district else wire.topic(kiosk_id, wire.EVENT)
        self.bodies = bodies
        self.url = url
        self.client = client(f"raw-pub-{kiosk_id}")
        self.client.max_inflight_messages_set(window)
        self.client.on_publish = self.on_publish
        self.acked = 0
        self.failed = 0
        self.done = threading.Event()
        self.done_at = 0.0
        if not bodies:
            self.done.set()

    def on_publish(self, c, userdata, mid, reason_code, properties) -> None:
        self.acked += 1
        if not delivered(reason_code):
            self.failed += 1
        if self.acked == len(self.bodies):
            self.done_at = time.monotonic()
            self.done.set()

    def connect(self) -> None:
        """Connect (Clean Start 0) and start paho's network thread."""
        connect(self.client, self.url, persistent=True)

    def publish_all(self) -> None:
        """Hand every body to paho; it sends WINDOW at a time as PUBACKs come back."""
        for body in self.bodies:
            self.client.publish(self.topic, body, qos=1)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


class Counter:
    """A bare QoS 1 subscriber (v5, persistent session, manual ack) that counts messages, optionally timing each."""

    def __init__(self, url: str, client_id: str, expect: int, *, topic_filter: str = wire.EVENT_FILTER, timed: bool = False):
        self.url = url
        self.expect = expect
        self.filter = topic_filter
        self.timed = timed
        self.client = client(client_id, manual_ack=True)
        self.client.on_connect = self.on_connect
        self.client.on_subscribe = self.on_subscribe
        self.client.on_message = self.on_message
        self.subscribed = threading.Event()
        self.done = threading.Event()
        self.count = 0
        self.first = self.last = 0.0
        self.times: dict[str, float] = {}

    def on_connect(self, c, userdata, flags, reason_code, properties) -> None:
        c.subscribe(self.filter, qos=1)

    def on_subscribe(self, c, userdata, mid, reason_codes, properties) -> None:
        self.subscribed.set()

    def on_message(self, c, userdata, message) -> None:
        now = time.monotonic()
        if self.timed:
            self.times[json.loads(message.payload)["id"]] = time.time()
        c.ack(message.mid, message.qos)
        self.count += 1
        if self.count == 1:
            self.first = now
        self.last = now
        if self.count >= self.expect:
            self.done.set()

    def start(self) -> "Counter":
        """Connect; the subscription follows in on_connect."""
        connect(self.client, self.url, persistent=True)
        return self

    def report(self) -> dict:
        """Count, first and last arrival (monotonic), and per-event times when timed."""
        figures = {"count": self.count, "first": self.first, "last": self.last}
        if self.timed:
            figures["times"] = self.times
        return figures

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def run_publisher(args: argparse.Namespace) -> dict:
    """The ``publish`` worker: build bodies, (connect,) wait for go, publish everything, wait for every PUBACK."""
    from hub_events import wire_bodies

    kiosks = [(index, *named.partition("@")[::2]) for index, named in (pair.split("=") for pair in args.kiosks.split(","))]
    publishers = [Publisher(kiosk, wire_bodies(kiosk, int(index), args.count, args.seed, signer_of(args.keys, kiosk)),
                            args.broker, window=args.window, district=district or None)
                  for index, kiosk, district in kiosks]
    if not args.connect_after_go:
        for p in publishers:
            p.connect()
    print("ready", flush=True)
    if sys.stdin.readline().strip() != "go":
        return {"error": "no go"}
    go, cpu = time.monotonic(), time.process_time()
    if args.connect_after_go:
        for p in publishers:
            p.connect()
    for p in publishers:
        p.publish_all()
    handed = time.monotonic()
    deadline = go + args.timeout
    for p in publishers:
        p.done.wait(max(0.0, deadline - time.monotonic()))
    report = {"go": go, "handed": handed, "done": max(p.done_at for p in publishers),
              "acked": sum(p.acked for p in publishers), "failed": sum(p.failed for p in publishers),
              "cpu_s": time.process_time() - cpu}
    for p in publishers:
        p.close()
    return report


def signer_of(keys: str | None, kiosk: str):
    """The kiosk's signer from ``<keys>/<kiosk>.key``; None without a keys folder (unsigned bodies)."""
    if not keys:
        return None
    from wire.signature import Signer

    return Signer.from_file(Path(keys) / f"{kiosk}.key")


def run_subscriber(args: argparse.Namespace) -> dict:
    """The ``subscribe`` worker: count (and optionally time) messages until the expected number arrived."""
    counter = Counter(args.broker, args.client_id, args.expect, topic_filter=args.filter, timed=args.timed).start()
    if not counter.subscribed.wait(10):
        return {"error": "no SUBACK"}
    print("ready", flush=True)
    cpu = time.process_time()
    counter.done.wait(args.timeout)
    report = {**counter.report(), "cpu_s": time.process_time() - cpu}
    time.sleep(0.05)  # the last manual acks leave with the next network loop turn
    counter.close()
    return report


def parse_args(argv=None) -> argparse.Namespace:
    """The workers' command line."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="command", required=True)
    pub = sub.add_parser("publish")
    pub.add_argument("--broker", required=True)
    pub.add_argument("--kiosks", required=True, help="index=kiosk-id[@district],... (the index picks the invented people; "
                     "a district publishes on the province broker's topic under its prefix)")
    pub.add_argument("--count", type=int, required=True, help="events per kiosk")
    pub.add_argument("--seed", type=int, default=1)
    pub.add_argument("--window", type=int, default=WINDOW)
    pub.add_argument("--connect-after-go", action="store_true")
    pub.add_argument("--keys", metavar="DIR", help="sign each body with <DIR>/<kiosk>.key, as the kiosk's publisher does")
    pub.add_argument("--timeout", type=float, default=600)
    subs = sub.add_parser("subscribe")
    subs.add_argument("--broker", required=True)
    subs.add_argument("--client-id", required=True)
    subs.add_argument("--expect", type=int, required=True)
    subs.add_argument("--filter", default=wire.EVENT_FILTER, help="the topic filter (default: %(default)s)")
    subs.add_argument("--timed", action="store_true", help="note time.time() of each message by event id")
    subs.add_argument("--timeout", type=float, default=600)
    return ap.parse_args(argv)


def main(argv=None) -> int:
    """Run one worker; its last line on stdout is a JSON report."""
    args = parse_args(argv)
    report = run_publisher(args) if args.command == "publish" else run_subscriber(args)
    print(json.dumps(report), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

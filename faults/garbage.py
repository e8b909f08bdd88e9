"""Garbage on the hub's topics, sent with the real `mosquitto_pub` (MQTT v5, QoS 1) into a live kiosk stream.

Each kind of garbage is built from a real event of the streaming kiosk, so it
differs from a good message in one way only, and is expected in the hub's
quarantine under one reason. Three senders are modelled: anyone on the broker
without the kiosk's key (bytes that are not an event, the event unsigned,
tampered with, or signed with another key), and someone holding the kiosk's
own key (a stolen key, or a kiosk software bug), whose broken variants of an
event verify and so are refused under the contract's reasons. Replays of
merged events are sent too: the same signed text is absorbed as a duplicate, a
changed text signed with the kiosk's key is quarantined (``replayed_changed``)
and kept as a dispute. Nothing of it may reach the merged tables, and the hub
must keep running.
"""

from __future__ import annotations

import copy
import json
import shutil
from collections import Counter
from pathlib import Path

import wire
from wire import signature

from . import verify
from .procs import run as run_command
from .procs import wait_until
from .scenarios import Run

STREAM, SILENT, STRANGER = "k-1", "k-2", "k-stranger"
"""The streaming kiosk, an enrolled kiosk that sends nothing, and a kiosk the hub never enrolled."""
REPLAYED_SEQ = 5


def outbox_body(db: Path, seq: int) -> dict:
    conn = verify.connect(db)
    try:
        return json.loads(conn.execute("select body from outbox where seq = ?", [seq]).fetchone()[0])
    finally:
        conn.close()


def text(message: dict) -> bytes:
    return wire.canonical(message).encode()


def as_kiosk(message: dict, kiosk: str) -> dict:
    return {**message, "kiosk": kiosk, "id": wire.event_id(kiosk, message["seq"])}


def garbage(good: dict, key: signature.Signer) -> list[tuple[str, str, bytes]]:
    """(expected reason, topic, body) for every kind of bad message, each made from the good event; ``key`` is the
    streaming kiosk's own."""
    event_topic = wire.topic(STREAM, wire.EVENT)
    no_boot = {k: v for k, v in good.items() if k != "boot"}
    oversized = {**good, "payload": {**good["payload"], "padding": "x" * (wire.MAX_MESSAGE_BYTES + 1)}}
    signed = key.sign(text(good))
    seq = f'"seq":{good["seq"]}'.encode()
    status = wire.kiosk_status(STREAM, "online", boot=good["boot"], version="0.1.0", at=good["at"], clock_synced=True)
    return [
        # anyone who can reach the broker
        ("not_json", event_topic, text(good).replace(seq, b'"seq":' + b"9" * 5000, 1)),  # issue 10: crash-looped the hub
        ("not_json", event_topic, text(good).replace(seq, b'"seq":NaN', 1)),
        ("schema", wire.topic(STREAM, wire.STATUS), text({**json.loads(status), "outbox": 10**30})),  # stopped every commit
        ("not_utf8", event_topic, b"\xff\xfe\x00\x9c not text"),
        ("not_json", event_topic, b"{this is not json"),
        ("not_json", event_topic, b"[1, 2, 3]"),
        ("too_large", event_topic, text(oversized)),
        ("unsigned", event_topic, text(good)),
        ("bad_signature", event_topic, signed.replace(b'"v":1', b'"v":2')),
        ("unknown_key", event_topic, signature.Signer(signature.generate_key()).sign(text(good))),
        ("unknown_key", wire.topic(SILENT, wire.EVENT), signed),  # k-1's key is not k-2's
        ("not_enrolled", wire.topic(STRANGER, wire.EVENT), text(as_kiosk(good, STRANGER))),
        ("bad_topic", f"{wire.ROOT}/k/K-UPPER/{wire.EVENT}", text(good)),
        # whoever holds k-1's key: it verifies, and the contract refuses it
        ("schema", event_topic, key.sign(text(no_boot))),
        ("schema", event_topic, key.sign(text({**good, "seq": -4, "id": wire.event_id(STREAM, -4)}))),
        ("unknown_type", event_topic, key.sign(text({**good, "type": "DoseTeleported"}))),
        ("unsupported_version", event_topic, key.sign(text({**good, "v": 99}))),
        ("topic_mismatch", event_topic, key.sign(text({**good, "id": wire.event_id(STREAM, good["seq"] + 1)}))),
    ]


def changed(good: dict) -> dict:
    """The same event id with different content: another desk, another time."""
    message = copy.deepcopy(good)
    message["at"] = "2026-01-01T00:00:00+07:00"
    return message


def publish(port: int, topic: str, body: bytes, folder: Path, number: int) -> None:
    """One message with the real mosquitto_pub: MQTT v5, QoS 1, from a file (bytes as they are)."""
    path = folder / f"garbage-{number}.bin"
    path.write_bytes(body)
    run_command([shutil.which("mosquitto_pub") or "mosquitto_pub", "-h", "127.0.0.1", "-p", str(port), "-V", "mqttv5",
                 "-q", "1", "-i", f"garbage-{number}", "-t", topic, "-f", str(path)], timeout=15)


def garbage_run(run: Run) -> None:
    """Send every kind of garbage, and replays, at random moments while k-1 streams; check the quarantine."""
    rig = run.rig()
    streaming = rig.add_kiosk(STREAM)
    rig.add_kiosk(SILENT)
    rig.start_all()
    generator = rig.generate(streaming, events=run.scale(6000, 600), rate=150)
    wait_until(lambda: verify.hub_watermarks(rig.hub_db).get(STREAM, 0) >= REPLAYED_SEQ, 30, what="the first events merged")
    key = signature.Signer.from_file(streaming.env["KIOSK_HUB_KEY_FILE"])
    expected = send_garbage(run, rig, outbox_body(streaming.db, REPLAYED_SEQ), key, generator)
    rig.wait_generators(120)
    rig.settle(60)
    check_quarantine(run, rig, expected)


def send_garbage(run: Run, rig, good: dict, key: signature.Signer, generator) -> Counter:
    """Send each round's messages in a random order, spaced while the stream lasts; return how many per reason."""
    expected: Counter = Counter()
    for _ in range(run.scale(10, 1)):
        batch = garbage(good, key) + [("replayed_changed", wire.topic(STREAM, wire.EVENT), key.sign(text(changed(good)))),
                                      ("absorbed", wire.topic(STREAM, wire.EVENT), key.sign(text(good)))]
        run.rng.shuffle(batch)
        for reason, topic, body in batch:
            publish(rig.broker.port, topic, body, rig.folder, run.result.faults)
            expected[reason] += 1
            run.fault()
            if generator.running:
                run.pause(0.0, 0.2)
    return expected


def check_quarantine(run: Run, rig, expected: Counter) -> None:
    """Every bad message quarantined under its reason, exact replays absorbed, the hub never restarted."""
    absorbed = expected.pop("absorbed")
    tally = rig.tally()
    run.note(f"sent {sum(expected.values()) + absorbed} bad or replayed messages: {dict(sorted(expected.items()))} "
             f"and {absorbed} exact replays")
    for reason, count in sorted(expected.items()):
        got = tally.quarantine.get(reason, 0)
        run.check(got == count, f"quarantine {reason}: expected {count}, got {got}")
    extra = set(tally.quarantine) - set(expected)
    run.check(not extra, f"quarantined for reasons not sent: {sorted(extra)}")
    run.check(tally.absorbed >= absorbed, f"exact replays absorbed as duplicates: expected at least {absorbed}, got {tally.absorbed}")
    run.check(rig.hub.running and rig.hub.starts == 1, "the hub kept running through the garbage (one start, still up)")

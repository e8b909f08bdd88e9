"""A district's half of `make check-install-province` (provision/check-install-province.sh), run on the host.

    python -m tests.province_district files FOLDER
    python -m tests.province_district bridge FOLDER --province mqtts://127.0.0.1:8883 --seq N [--expect-ack | --expect-none]

``files`` makes what a district sends the province: a district hub database with one enrolled kiosk and that
kiosk's key, `hub kiosks export`'s file and `hub bridge-csr`'s CSR (the bridge's key stays in FOLDER). ``bridge``
starts a district broker bridged to the province by `hub bridge-config` (with the certificate and CA certificate
the province sent back, FOLDER/bridge-d1.crt and FOLDER/ca.crt), publishes one signed dose as the kiosk would, and
waits for the province's acknowledgement covering it: exit 0 when what happened is what was expected.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import paho.mqtt.client as mqtt

import wire
from hub.store.sqlite import open_store
from wire import signature

from .keys import enroll, key_file
from .mosquitto import Broker

DISTRICT = "d1"
KIOSK = "kiosk-d1"
WAIT_SECONDS = 60.0
HUB = [sys.executable, "-m", "hub"]


def make_files(folder: Path) -> None:
    """The district's database, its kiosk's key, the kiosks file and the bridge's CSR, in folder."""
    store = open_store(folder / "hub.db")
    try:
        enroll(store, KIOSK, "site-d1")
    finally:
        store.close()
    key_file(folder, KIOSK)
    subprocess.run([*HUB, "kiosks", "export", "--db", str(folder / "hub.db"), "--out", str(folder / "d1-kiosks.json")],
                   check=True)
    subprocess.run([*HUB, "bridge-csr", "--district", DISTRICT, "--key-out", str(folder / "bridge-d1.key"),
                    "--csr-out", str(folder / "bridge-d1.csr")], check=True)


def dose(folder: Path, seq: int) -> bytes:
    """The kiosk's signed DoseRecorded number seq, as its publisher sends it."""
    given_at = "2026-11-25T09:30:00+07:00"
    body = wire.envelope(KIOSK, seq, wire.DOSE_EVENT, boot="boot-1", at=given_at, clock_synced=True, payload={
        "ticket": {"day": "2026-11-25", "number": seq}, "id_number": "001190012345",
        "dose": {"product": "comirnaty_30", "lot_number": "FK1234", "expiry": "2027-01-31", "number": 1,
                 "booster": 0, "given_at": given_at},
        "by": {"staff_id": 7, "name": "Y tá Hoa"}})
    return signature.Signer(signature.load_private_key(folder / f"{KIOSK}-key.pem")).sign(body)


def province_watermark(message: mqtt.MQTTMessage) -> int:
    """The watermark of a province acknowledgement."""
    return wire.parse_ack(KIOSK, message.payload).watermark


def bridge(folder: Path, province: str, seq: int, wait: float) -> int | None:
    """Publish dose seq through a bridged district broker; the province's watermark once it covers seq, else None."""
    config = subprocess.run([*HUB, "bridge-config", "--district", DISTRICT, "--province", province,
                             "--ca-file", str(folder / "ca.crt"), "--cert-file", str(folder / "bridge-d1.crt"),
                             "--key-file", str(folder / "bridge-d1.key")], check=True, capture_output=True,
                            text=True).stdout
    broker = Broker(folder / f"broker-{seq}", extra=config).start()
    heard: list[int] = []
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=KIOSK)
    client.on_message = lambda _client, _data, message: heard.append(province_watermark(message))
    try:
        client.connect("127.0.0.1", broker.port)
        client.loop_start()
        client.subscribe(wire.province_ack_topic(KIOSK), qos=1)
        client.publish(wire.topic(KIOSK, wire.EVENT), dose(folder, seq), qos=1).wait_for_publish()
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline and not any(mark >= seq for mark in heard):
            time.sleep(0.2)
        return max(heard, default=None) if any(mark >= seq for mark in heard) else None
    finally:
        client.loop_stop()
        client.disconnect()
        broker.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.province_district", description=__doc__.splitlines()[0])
    parser.add_argument("step", choices=("files", "bridge"))
    parser.add_argument("folder", type=Path)
    parser.add_argument("--province", default="mqtts://127.0.0.1:8883")
    parser.add_argument("--seq", type=int, default=1)
    parser.add_argument("--expect-none", action="store_true", help="expect no acknowledgement (a revoked bridge)")
    parser.add_argument("--wait", type=float, default=WAIT_SECONDS)
    args = parser.parse_args(argv)
    args.folder.mkdir(parents=True, exist_ok=True)
    if args.step == "files":
        make_files(args.folder)
        return 0
    watermark = bridge(args.folder, args.province, args.seq, 15.0 if args.expect_none else args.wait)
    print(f"province watermark of {KIOSK} after dose {args.seq}: {watermark if watermark is not None else 'none heard'}")
    return 0 if (watermark is None) == args.expect_none else 1


if __name__ == "__main__":
    sys.exit(main())

"""A district's half of `make check-install-province` (provision/check-install-province.sh), run on the host.

    python -m tests.province_district files FOLDER
    python -m tests.province_district bridge FOLDER --province mqtts://127.0.0.1:8883 --seq N [--expect-none]
    python -m tests.province_district cut FOLDER --seq N -- COMMAND...

``files`` makes what a district sends the province: a district hub database with one enrolled kiosk and that
kiosk's key, `hub kiosks export`'s file and `hub bridge-csr`'s CSR (the bridge's key stays in FOLDER). ``bridge``
starts a district broker bridged to the province by `hub bridge-config` (with the certificate and CA certificate
the province sent back, FOLDER/bridge-d1.crt and FOLDER/ca.crt), publishes one signed dose as the kiosk would, and
waits for the province's acknowledgement covering it: exit 0 when what happened is what was expected. ``cut`` does
the same with dose N, then runs COMMAND (the province's `hub bridge-revoke`) while the bridge is connected, and
expects the province to cut the bridge's connection and dose N+1 to get no acknowledgement.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import paho.mqtt.client as mqtt

import wire
from hub.store.sqlite import open_store
from wire import signature

from .keys import enroll, key_file
from .mosquitto import Broker
from .polling import wait_until

DISTRICT = "d1"
KIOSK = "kiosk-d1"
WAIT_SECONDS = 60.0
NONE_SECONDS = 15.0  # how long a dose that must not be acknowledged is watched
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


class District:
    """A district broker bridged to the province, and a kiosk's connection to it that hears acknowledgements and
    the bridge's state (1 connected, 0 not)."""

    def __init__(self, folder: Path, province: str, name: str):
        self.folder = folder
        self.broker = Broker(folder / name, extra=bridge_config(folder, province)).start()
        self.watermarks: list[int] = []
        self.bridge_states: list[bytes] = []
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=KIOSK)
        self.client.on_message = self.heard
        self.client.connect("127.0.0.1", self.broker.port)
        self.client.loop_start()
        self.client.subscribe([(wire.province_ack_topic(KIOSK), 1), (wire.BRIDGE_STATE_TOPIC, 1)])

    def heard(self, _client, _data, message: mqtt.MQTTMessage) -> None:
        if message.topic == wire.BRIDGE_STATE_TOPIC:
            self.bridge_states.append(message.payload)
        else:
            self.watermarks.append(wire.parse_ack(KIOSK, message.payload).watermark)

    def send(self, seq: int, wait: float) -> int | None:
        """Publish dose seq; the province's watermark once it covers seq (within wait seconds), else None."""
        self.client.publish(wire.topic(KIOSK, wire.EVENT), dose(self.folder, seq), qos=1).wait_for_publish()
        if not until(lambda: any(mark >= seq for mark in self.watermarks), wait):
            return None
        return max(self.watermarks)

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()
        self.broker.stop()


def until(condition, wait: float) -> bool:
    """Poll condition for up to wait seconds (tests/polling.py); whether it came true."""
    try:
        wait_until(condition, wait, interval=0.2)
    except AssertionError:
        return False
    return True


def bridge_config(folder: Path, province: str) -> str:
    """`hub bridge-config`'s lines for d1, with the certificate and CA certificate the province sent back."""
    return subprocess.run([*HUB, "bridge-config", "--district", DISTRICT, "--province", province,
                           "--ca-file", str(folder / "ca.crt"), "--cert-file", str(folder / "bridge-d1.crt"),
                           "--key-file", str(folder / "bridge-d1.key")], check=True, capture_output=True,
                          text=True).stdout


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.province_district", description=__doc__.splitlines()[0])
    parser.add_argument("step", choices=("files", "bridge", "cut"))
    parser.add_argument("folder", type=Path)
    parser.add_argument("--province", default="mqtts://127.0.0.1:8883")
    parser.add_argument("--seq", type=int, default=1)
    parser.add_argument("--expect-none", action="store_true", help="expect no acknowledgement (a revoked bridge)")
    parser.add_argument("--wait", type=float, default=WAIT_SECONDS)
    argv = sys.argv[1:] if argv is None else argv
    command = argv[argv.index("--") + 1:] if "--" in argv else []  # for cut: the command that revokes the bridge
    args = parser.parse_args(argv[:len(argv) - len(command) - 1] if command else argv)
    if args.step == "cut" and not command:
        parser.error("cut needs the command that revokes the bridge, after --")
    args.folder.mkdir(parents=True, exist_ok=True)
    if args.step == "files":
        make_files(args.folder)
        return 0
    district = District(args.folder, args.province, f"broker-{args.seq}")
    try:
        if args.step == "bridge":
            watermark = district.send(args.seq, NONE_SECONDS if args.expect_none else args.wait)
            print(f"province watermark of {KIOSK} after dose {args.seq}: {shown(watermark)}")
            return 0 if (watermark is None) == args.expect_none else 1
        before = district.send(args.seq, args.wait)
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        cut = until(lambda: district.bridge_states[-1:] == [b"0"], args.wait)
        after = district.send(args.seq + 1, NONE_SECONDS)
        print(f"dose {args.seq}: watermark {shown(before)}; revoked while connected: connection "
              f"{'cut' if cut else 'kept'}; dose {args.seq + 1}: watermark {shown(after)}")
        return 0 if before is not None and cut and after is None else 1
    finally:
        district.close()


def shown(watermark: int | None) -> str:
    return "none heard" if watermark is None else str(watermark)


if __name__ == "__main__":
    sys.exit(main())

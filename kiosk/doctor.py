"""`kiosk doctor`: checks camera, decoder, database, disk, clock, the kiosk's identity and the link to the hub, in plain words."""

from __future__ import annotations

import shutil
import subprocess
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np

from .config import Config
from .errors import KioskError

SELF_TEST_TEXT = "079123456789||Nguyễn Thị Thử|01011990|Nữ|Xã Thử, Huyện Thử|01012021"


@dataclass(frozen=True)
class Check:
    """One line of the doctor's report."""

    name: str
    ok: bool
    detail: str


def run_checks(config: Config) -> list[Check]:
    """Run every check; none raises."""
    return [check(config) for check in (check_camera, check_decoder, check_database, check_disk, check_clock, check_identity, check_hub)]


def check_camera(config: Config) -> Check:
    from .camera import open_source

    camera = config.camera
    try:
        source = open_source(camera.source, width=camera.width, height=camera.height, fps=camera.fps, loop=False)
        try:
            frame = source.read()
        finally:
            source.close()
    except KioskError as exc:
        return Check("camera", False, str(exc))
    if frame is None:
        return Check("camera", False, f"{camera.source} gave no frame")
    height, width = frame.gray.shape
    return Check("camera", True, f"{source.name} gives {width}x{height} frames")


def check_decoder(config: Config) -> Check:
    import zxingcpp

    from .decode import make_decoder

    try:
        decoder = make_decoder(config.scanner.decoder, budget_ms=config.scanner.budget_ms)
    except (KioskError, ValueError) as exc:
        return Check("decoder", False, str(exc))
    image = np.asarray(zxingcpp.write_barcode_to_image(zxingcpp.create_barcode(SELF_TEST_TEXT, zxingcpp.BarcodeFormat.QRCode), scale=4))
    started = time.perf_counter()
    codes = decoder.decode(image)
    ms = (time.perf_counter() - started) * 1000
    if [c.text for c in codes] != [SELF_TEST_TEXT]:
        return Check("decoder", False, f"{config.scanner.decoder} misread a Vietnamese test code")
    return Check("decoder", True, f"{config.scanner.decoder} read a Vietnamese test code exactly in {ms:.1f} ms")


def check_database(config: Config) -> Check:
    from .queue.store import Store

    try:
        store = Store(config.kiosk.db)
        result = store.quick_check()
        count = store.count_writable("tickets")
        store.close()
    except KioskError as exc:
        return Check("database", False, str(exc))
    if result != "ok":
        return Check("database", False, f"{config.kiosk.db} is damaged: {result}")
    return Check("database", True, f"{config.kiosk.db} is writable, {count} tickets")


def check_disk(config: Config) -> Check:
    folder = Path(config.kiosk.db).resolve().parent
    while not folder.exists():
        folder = folder.parent
    free_mb = shutil.disk_usage(folder).free // 2**20
    ok = free_mb >= config.kiosk.min_free_mb
    advice = "" if ok else f" (below {config.kiosk.min_free_mb} MiB: delete old logs or images)"
    return Check("disk", ok, f"{free_mb} MiB free for {folder}{advice}")


def check_clock(config: Config) -> Check:
    now = datetime.now().astimezone()
    if now.year < 2024:
        return Check("clock", False, f"the clock says {now:%Y-%m-%d}: it is wrong; connect to the internet or set it by hand")
    synced = ntp_synchronized()
    if synced is False:
        return Check("clock", False, f"the clock ({now:%Y-%m-%d %H:%M}) is not synchronised; times will be marked unsynced")
    note = "synchronised" if synced else "synchronisation unknown (no timedatectl)"
    return Check("clock", True, f"{now:%Y-%m-%d %H:%M %Z}, {note}")


def ntp_synchronized() -> bool | None:
    """True/False from systemd-timesyncd or chrony via timedatectl; None when it cannot be told."""
    if Path("/run/systemd/timesync/synchronized").exists():
        return True
    try:
        out = subprocess.run(
            ["timedatectl", "show", "--property=NTPSynchronized", "--value"],
            capture_output=True, text=True, timeout=5, check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return {"yes": True, "no": False}.get(out)


def check_identity(config: Config, now: datetime | None = None) -> Check:
    """The kiosk's key (signs its events), its certificate (mutual TLS) and the district CA: readable, matching, in date."""
    from . import identity

    if not config.hub.broker:
        return Check("identity", True, "no broker is set (hub.broker): no key or certificate needed yet")
    try:
        found = identity.problems(config, now or identity.utc_now())
    except KioskError as exc:
        return Check("identity", False, str(exc))
    if found:
        return Check("identity", False, "; ".join(found))
    key_id = identity.describe_key(Path(config.hub.key_file))
    if not config.hub.cert_file:
        return Check("identity", True, f"key {key_id}; no certificate (hub.cert_file): fine for a broker without mutual TLS, "
                     "the district broker refuses it")
    cert = identity.inspect(identity.load_certificate(config.hub.cert_file), None)
    return Check("identity", True, f"key {key_id}, certificate for {cert.common_name} until {cert.not_after:%Y-%m-%d}")


def check_hub(config: Config) -> Check:
    """The link to the district hub as `kiosk publish` last recorded it, what the hub has not merged yet, and what it
    settled otherwise than as this kiosk wrote it."""
    from .queue import outbox
    from .queue.events import backlog
    from .queue.store import Store

    if not config.hub.broker:
        return Check("hub", True, "no broker is set (hub.broker): events wait in the outbox; set it to send them to the district hub")
    try:
        store = Store(config.kiosk.db)
        row, waiting, verdicts = outbox.uplink(store.db), backlog(store.db)["unacknowledged"], outbox.verdicts(store.db)
        store.close()
    except KioskError as exc:
        return Check("hub", False, str(exc))
    state = f"{waiting} events not yet merged at the hub; last acknowledgement {row['acked_at'] or 'never'}"
    problems = [verdict_line(verdict, seqs) for verdict, seqs in sorted(verdicts.items())]
    if row["error"]:
        problems.insert(0, row["error"])
    elif not row["connected"]:
        problems.insert(0, f"kiosk publish is not connected to {config.hub.broker} (is kiosk-publish running?)")
    if problems:
        return Check("hub", False, "; ".join([*problems, state]))
    return Check("hub", True, f"connected to {config.hub.broker}, hub {row['hub_state'] or 'unknown'}; {state}")


VERDICT_WORDS = {
    "disputed": "SECURITY: the hub holds another text than this kiosk's for {n} events ({events}): tell the district office now",
    "impersonated": "SECURITY: someone else sent {n} events in this kiosk's name ({events}); the hub kept this kiosk's own: "
                    "tell the district office now",
    "refused": "the hub refused {n} events ({events}), reason {reason}: they stay here, the rest still merge; "
               "tell the district office",
}


def verdict_line(verdict: str, seqs: list[int]) -> str:
    kind, _, reason = verdict.partition(":")
    events = ", ".join(f"#{seq}" for seq in seqs[:10]) + (" ..." if len(seqs) > 10 else "")
    return VERDICT_WORDS[kind].format(n=len(seqs), events=events, reason=reason)

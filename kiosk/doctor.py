"""`kiosk doctor`: checks camera, the Pi's camera and GPIO stack, decoder, database, disk, clock, identity and hub, in plain words.

Each check is a function ``check_x(config) -> Check`` listed in CHECKS; a new check is one more function and one more
entry there. The Raspberry Pi's own facts (numpy against apt's picamera2, dmaHeap, pin factory) are judged in kiosk/pi.py.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np

from . import pi
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
    """Run every check in CHECKS; none raises."""
    return [check(config) for check in CHECKS]


def check_camera(config: Config) -> Check:
    """Open the configured camera and read one frame; a failure in plain words when kiosk/pi.py knows it; the focus
    and exposure it was given and reports."""
    from .camera import open_source, optics_line

    camera = config.camera
    try:
        source = open_source(camera.source, width=camera.width, height=camera.height, fps=camera.fps, loop=False, settings=camera)
        try:
            frame = source.read()
            optics = optics_line(camera, source)  # focus and exposure, set and reported ("" off the Pi camera)
        finally:
            source.close()
    except KioskError as exc:
        words = pi.camera_error_finding(exc, user=current_user(), in_video_group=pi.in_group("video"))
        return Check("camera", False, f"{words} ({exc})" if words else str(exc))
    if frame is None:
        return Check("camera", False, f"{camera.source} gave no frame")
    height, width = frame.gray.shape
    return Check("camera", True, f"{source.name} gives {width}x{height} frames" + (f"; {optics}" if optics else ""))


def check_dma_heap(config: Config) -> Check:
    """Whether this user may open the DMA heaps libcamera takes frame buffers from (the `video` group)."""
    return Check("dma_heap", *pi.dma_heap_finding(current_user(), pi.in_group("video"), pi.openable_heaps()))


def check_numpy(config: Config) -> Check:
    """The numpy this program runs against the one apt's picamera2 and simplejpeg were built for."""
    error = pi.import_error("simplejpeg")
    return Check("numpy", *pi.numpy_finding(np.__version__, pi.read_apt_version("numpy"), error))


def check_gpio(config: Config) -> Check:
    """The gpiozero pin factory the scanner would use, named, and whether it can drive this board."""
    from importlib.metadata import version

    from .scan.feedback import choose_factory

    try:
        factory = choose_factory(config.feedback, strict=True)
    except Exception as exc:  # a factory named in the settings that cannot load: lgpio missing, no /dev/gpiochip
        return Check("gpio", False, f"pin factory {config.feedback.pin_factory!r} cannot start: {exc}")
    try:
        gpio = pi.Gpio(pi.read_model(), pi.factory_name(factory), version("gpiozero"), config.feedback.enabled)
    finally:
        factory.close()
    return Check("gpio", *pi.gpio_finding(gpio))


def current_user() -> str:
    import pwd

    try:
        return pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:
        return str(os.geteuid())


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


CHECKS = [check_camera, check_dma_heap, check_numpy, check_decoder, check_gpio, check_database, check_disk, check_clock,
          check_identity, check_hub]
"""The doctor's checks, in the order it prints them."""

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

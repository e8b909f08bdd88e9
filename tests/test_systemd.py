"""sd_notify over real AF_UNIX datagram sockets, the health-gated watchdog, and the unit files as installed."""

from __future__ import annotations

import logging
import os
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import uuid
from pathlib import Path

import pytest

from daemon import systemd
from kiosk.config import CREDENTIAL_FILES, SECRETS

ROOT = Path(__file__).resolve().parent.parent
UNITS = ROOT / "systemd"
INSTALLER = (ROOT / "provision" / "install-kiosk.sh").read_text(encoding="utf-8")
SERVICES = {"kiosk-scan.service": "scan", "kiosk-web.service": "web", "kiosk-publish.service": "publish"}
DATAGRAM = 4096


# --- sockets that play systemd's part -------------------------------------------------------------


class Listener:
    """A bound AF_UNIX datagram socket and the $NOTIFY_SOCKET value that reaches it."""

    def __init__(self, bind_to: str, notify_socket: str):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(bind_to)
        self.address = notify_socket

    def receive(self, timeout: float = 1.0) -> str | None:
        """The next datagram, or None when none comes within ``timeout``."""
        self.sock.settimeout(timeout)
        try:
            return self.sock.recv(DATAGRAM).decode("utf-8")
        except (socket.timeout, BlockingIOError):
            return None

    def drain(self) -> list[str]:
        messages = []
        while (message := self.receive(0)) is not None:
            messages.append(message)
        return messages

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def path_socket(tmp_path):
    """A socket file in tmp_path (a short temporary folder when tmp_path is too long for AF_UNIX)."""
    folder = tmp_path if len(str(tmp_path)) < 90 else Path(tempfile.mkdtemp(prefix="sd"))
    listener = Listener(str(folder / "notify"), str(folder / "notify"))
    yield listener
    listener.close()
    if folder != tmp_path:
        shutil.rmtree(folder)


@pytest.fixture
def abstract_socket():
    name = f"kiosk-test-{uuid.uuid4().hex}"
    listener = Listener("\0" + name, "@" + name)
    yield listener
    listener.close()


@pytest.fixture
def fresh_log_once(monkeypatch):
    monkeypatch.setattr(systemd, "_send_failed_logged", False)


# --- notify ---------------------------------------------------------------------------------------


def test_ok__ready_with_status_reaches_a_socket_file(path_socket, monkeypatch):
    monkeypatch.setenv("NOTIFY_SOCKET", path_socket.address)
    assert systemd.ready("scanning at 10 fps")
    assert path_socket.receive() == "READY=1\nSTATUS=scanning at 10 fps"


def test_ok__ready_status_stopping_reach_an_abstract_socket(abstract_socket, monkeypatch):
    monkeypatch.setenv("NOTIFY_SOCKET", abstract_socket.address)
    assert systemd.ready() and systemd.status("camera: reopening\nin 4 s") and systemd.stopping()
    assert [abstract_socket.receive() for _ in range(3)] == ["READY=1", "STATUS=camera: reopening in 4 s", "STOPPING=1"]


def test_ok__notify_takes_an_explicit_environment(abstract_socket, monkeypatch):
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    assert systemd.notify("WATCHDOG=1", environ={"NOTIFY_SOCKET": abstract_socket.address})
    assert abstract_socket.receive() == "WATCHDOG=1"


def test_ok__without_a_service_manager_notify_does_nothing(monkeypatch):
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    assert systemd.notify("READY=1") is False
    assert systemd.ready("x") is False and systemd.stopping() is False and systemd.status("x") is False


@pytest.mark.parametrize("address", ["/nonexistent/kiosk/notify", "relative/notify", "@"])
def test_fail__a_send_error_returns_false_and_is_logged_once(address, monkeypatch, caplog, fresh_log_once):
    monkeypatch.setenv("NOTIFY_SOCKET", address)
    with caplog.at_level(logging.DEBUG, logger="daemon.systemd"):
        assert systemd.ready() is False
        assert systemd.status("still failing") is False
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "cannot notify systemd" in warnings[0].getMessage()


# --- watchdog settings ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "environ, seconds",
    [
        ({"WATCHDOG_USEC": "30000000"}, 30.0),
        ({"WATCHDOG_USEC": "100000", "WATCHDOG_PID": "4242"}, 0.1),
        ({"WATCHDOG_USEC": "100000", "WATCHDOG_PID": ""}, 0.1),
    ],
)
def test_ok__watchdog_seconds(environ, seconds):
    assert systemd.watchdog_seconds(environ, pid=4242) == seconds


@pytest.mark.parametrize(
    "environ",
    [
        {},
        {"WATCHDOG_USEC": ""},
        {"WATCHDOG_USEC": "0"},
        {"WATCHDOG_USEC": "-5"},
        {"WATCHDOG_USEC": "soon"},
        {"WATCHDOG_USEC": "100000", "WATCHDOG_PID": "4243"},
        {"WATCHDOG_USEC": "100000", "WATCHDOG_PID": "me"},
    ],
)
def test_fail__watchdog_seconds(environ):
    assert systemd.watchdog_seconds(environ, pid=4242) is None


# --- the watchdog thread --------------------------------------------------------------------------


def pings(listener: Listener, count: int, within: float = 1.0) -> int:
    """How many of ``count`` WATCHDOG=1 pings arrive, each within ``within`` seconds."""
    received = 0
    while received < count and listener.receive(within) == "WATCHDOG=1":
        received += 1
    return received


def test_ok__watchdog_pings_only_while_healthy(abstract_socket):
    healthy = threading.Event()
    healthy.set()
    environ = {"NOTIFY_SOCKET": abstract_socket.address, "WATCHDOG_USEC": "100000", "WATCHDOG_PID": str(os.getpid())}
    with systemd.Watchdog(healthy.is_set, environ) as watchdog:
        assert watchdog.enabled and watchdog.interval == 0.05
        assert pings(abstract_socket, 3) == 3
        healthy.clear()
        abstract_socket.receive(0.1)  # at most one ping that was already on its way
        abstract_socket.drain()
        assert abstract_socket.receive(0.25) is None
        healthy.set()
        assert pings(abstract_socket, 2) == 2
    abstract_socket.drain()
    assert watchdog.thread is None and abstract_socket.receive(0.15) is None


def test_fail__a_health_check_that_raises_withholds_pings(abstract_socket, caplog):
    def broken() -> bool:
        raise RuntimeError("scanner state unreadable")

    environ = {"NOTIFY_SOCKET": abstract_socket.address, "WATCHDOG_USEC": "100000"}
    with caplog.at_level(logging.ERROR, logger="daemon.systemd"), systemd.Watchdog(broken, environ):
        assert abstract_socket.receive(0.25) is None
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and errors[0].exc_info is not None


@pytest.mark.parametrize(
    "environ",
    [{"WATCHDOG_PID": str(os.getpid() + 1)}, {"WATCHDOG_USEC": None}],
    ids=["another-pid", "no-watchdog-usec"],
)
def test_fail__watchdog_disabled_starts_no_thread(abstract_socket, environ):
    environ = {"NOTIFY_SOCKET": abstract_socket.address, "WATCHDOG_USEC": "100000", **environ}
    environ = {key: value for key, value in environ.items() if value is not None}
    watchdog = systemd.Watchdog(lambda: True, environ).start()
    assert not watchdog.enabled and watchdog.interval is None and watchdog.thread is None
    assert abstract_socket.receive(0.15) is None
    watchdog.stop()


# --- unit files -----------------------------------------------------------------------------------


def parse_unit(path: Path) -> dict[str, dict[str, list[str]]]:
    """Sections -> key -> every value (unit files repeat keys, which configparser cannot hold)."""
    sections: dict[str, dict[str, list[str]]] = {}
    current = None
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = line.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
            continue
        key, sep, value = line.partition("=")
        assert current is not None and sep and not line.endswith("\\"), f"{path.name}:{number}: {line!r}"
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def one(unit: dict, section: str, key: str) -> str:
    values = unit[section][key]
    assert len(values) == 1, f"[{section}] {key} is given {len(values)} times"
    return values[0]


def words(unit: dict, section: str, key: str) -> set[str]:
    return {word for value in unit[section].get(key, []) for word in value.split()}


def installer_dest() -> str:
    return re.search(r"^dest=(\S+)$", INSTALLER, re.MULTILINE).group(1)


def installer_units() -> list[str]:
    return re.search(r"^units=\((.*)\)$", INSTALLER, re.MULTILINE).group(1).split()


def test_ok__the_installer_installs_every_system_unit_and_the_display_files():
    system_units = sorted(p.name for p in UNITS.iterdir()
                          if p.suffix in {".service", ".target"} and p.stem != "kiosk-display" and p.name.startswith("kiosk"))
    # hub*.service belong to the hub's machine and provision/install-hub.sh (tests/test_hub_provision.py)
    assert sorted(installer_units()) == system_units
    assert not (UNITS / "kiosk.service").exists(), "the all-in-one unit is replaced by kiosk.target"
    for name in ("kiosk-display.service", "kiosk-display.desktop"):
        assert (UNITS / name).is_file() and f"$dest/systemd/{name}" in INSTALLER


@pytest.mark.parametrize("name, command", SERVICES.items())
def test_ok__service_runs_the_installed_kiosk_command(name, command):
    unit = parse_unit(UNITS / name)
    assert installer_dest() == "/opt/kiosk" and '"$dest/.venv"' in INSTALLER
    assert one(unit, "Service", "ExecStart") == f"{installer_dest()}/.venv/bin/kiosk {command}"


@pytest.mark.parametrize("name", SERVICES)
def test_ok__services_share_user_config_and_state_and_have_a_watchdog(name):
    unit = parse_unit(UNITS / name)
    assert one(unit, "Service", "Type") == "notify"
    assert one(unit, "Service", "WatchdogSec") == "30"
    assert one(unit, "Service", "Restart") == "always"
    assert (one(unit, "Service", "User"), one(unit, "Service", "Group")) == ("kiosk", "kiosk")
    assert one(unit, "Service", "StateDirectory") == "kiosk"  # /var/lib/kiosk: the db and its -wal/-shm files
    assert one(unit, "Service", "StateDirectoryMode") == "0750"
    assert one(unit, "Service", "WorkingDirectory") == "/var/lib/kiosk"
    assert {"KIOSK_CONFIG=/etc/kiosk/kiosk.toml", "PYTHONFAULTHANDLER=1"} <= words(unit, "Service", "Environment")
    assert one(unit, "Service", "ProtectSystem") == "strict" and one(unit, "Service", "NoNewPrivileges") == "yes"
    assert one(unit, "Unit", "PartOf") == "kiosk.target"
    assert one(unit, "Unit", "StartLimitIntervalSec") == "0"  # never give up restarting


def test_ok__target_wants_scan_web_and_publish():
    target = parse_unit(UNITS / "kiosk.target")
    assert words(target, "Unit", "Wants") == set(SERVICES)
    assert one(target, "Install", "WantedBy") == "multi-user.target"
    assert "kiosk.target" in re.findall(r"systemctl enable (\S+)", INSTALLER)


def test_ok__scanner_gets_camera_and_gpio_devices_and_no_network():
    unit = parse_unit(UNITS / "kiosk-scan.service")
    assert words(unit, "Service", "SupplementaryGroups") == {"video", "gpio"}
    assert one(unit, "Service", "DevicePolicy") == "closed"
    assert {"char-video4linux", "char-media", "char-dma_heap", "char-gpiochip"} <= words(unit, "Service", "DeviceAllow")
    assert words(unit, "Service", "RestrictAddressFamilies") == {"AF_UNIX", "AF_NETLINK"}
    assert "LoadCredential" not in unit["Service"]


CREDENTIALS = {"kiosk-web.service": {"kiosk-secret-key", "kiosk-api-token"},
               "kiosk-publish.service": {"kiosk-hub-password", "kiosk-key"}}


@pytest.mark.parametrize("name, wanted", CREDENTIALS.items())
def test_ok__web_and_publish_get_their_own_credentials_and_no_devices(name, wanted):
    unit = parse_unit(UNITS / name)
    credentials = re.search(r"^credentials=(\S+)$", INSTALLER, re.MULTILINE).group(1)
    assert one(unit, "Service", "PrivateDevices") == "yes" and "DeviceAllow" not in unit["Service"]
    assert "SupplementaryGroups" not in unit["Service"]
    loaded = dict(value.split(":", 1) for value in unit["Service"]["LoadCredential"])
    assert loaded == {name: f"{credentials}/{name}" for name in wanted}


def test_ok__every_secret_is_loaded_by_a_unit_and_created_by_the_installer():
    assert set().union(*CREDENTIALS.values()) == set(SECRETS.values()) | set(CREDENTIAL_FILES.values())
    for name in [*SECRETS.values(), *CREDENTIAL_FILES.values()]:
        assert name in INSTALLER, f"install-kiosk.sh does not create the credential {name}"


def test_ok__display_opens_the_citizen_screen_and_the_autostart_entry_starts_it():
    unit = parse_unit(UNITS / "kiosk-display.service")
    assert "SCREEN_URL=http://127.0.0.1:8080/" in words(unit, "Service", "Environment")
    assert "--kiosk" in one(unit, "Service", "ExecStart") and one(unit, "Service", "Restart") == "always"
    entry = parse_unit(UNITS / "kiosk-display.desktop")
    assert "systemctl --user start kiosk-display.service" in one(entry, "Desktop Entry", "Exec")


def test_ok__production_doc_names_every_unit():
    doc = (ROOT / "docs" / "production.md").read_text(encoding="utf-8")
    for path in UNITS.iterdir():
        assert path.name in doc, f"{path.name} is missing from docs/production.md"


# --- systemd's own verdict ------------------------------------------------------------------------

ANALYZE = shutil.which("systemd-analyze")


def verifiable_copies(names: list[str], folder: Path) -> list[Path]:
    """Copies of the units in which the installed kiosk and optional ("-") programs absent here point at a stub."""
    stub = folder / "stub"
    stub.write_text("#!/bin/sh\n", encoding="utf-8")
    stub.chmod(0o755)

    def program(match: re.Match) -> str:
        prefix, path = match.groups()
        stand_in = path.startswith(installer_dest() + "/") or "-" in prefix
        return prefix + (str(stub) if stand_in and not os.access(path, os.X_OK) else path)

    copies = []
    for name in names:
        text = (UNITS / name).read_text(encoding="utf-8")
        copy = folder / name
        copy.write_text(re.sub(r"^(Exec\w+=[-@:+!]*)(/\S+)", program, text, flags=re.MULTILINE), encoding="utf-8")
        copies.append(copy)
    return copies


def analyze(args: list[str], units: list[Path], env: dict[str, str]) -> list[str]:
    """Run `systemd-analyze verify`; its complaints about our units (verify prints warnings yet exits 0)."""
    result = subprocess.run(
        [ANALYZE, *args, "verify", "--man=no", *map(str, units)],
        capture_output=True, text=True, timeout=20, env={**os.environ, **env},
    )
    if "Failed to initialize manager" in result.stderr:
        pytest.skip(f"systemd-analyze cannot run here: {result.stderr.strip()}")
    ours = [line for line in result.stderr.splitlines() if any(u.name in line for u in units)]
    assert result.returncode == 0, result.stderr
    return ours


@pytest.mark.skipif(ANALYZE is None, reason="systemd-analyze is not installed")
def test_ok__systemd_analyze_verifies_the_system_units(tmp_path):
    units = verifiable_copies(["kiosk.target", *SERVICES], tmp_path)
    assert analyze([], units, {}) == []


@pytest.mark.skipif(ANALYZE is None, reason="systemd-analyze is not installed")
def test_ok__systemd_analyze_verifies_the_display_user_unit(tmp_path):
    runtime = Path(tempfile.mkdtemp(prefix="xdg"))  # short: the user manager binds sockets in it
    try:
        units = verifiable_copies(["kiosk-display.service"], tmp_path)
        assert analyze(["--user"], units, {"XDG_RUNTIME_DIR": str(runtime)}) == []
    finally:
        shutil.rmtree(runtime)

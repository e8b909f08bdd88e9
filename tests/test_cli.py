"""The `kiosk` command as an operator runs it: decode, doctor, check-config, and bad settings."""

import json
import subprocess
import sys

from kiosk.demo import FRAMES

from .conftest import LAN


def kiosk(*args, env=None, cwd=None):
    import os

    environ = {**os.environ, "KIOSK_FEEDBACK_PIN_FACTORY": "mock", **(env or {})}
    environ.pop("KIOSK_CONFIG", None)
    return subprocess.run([sys.executable, "-m", "kiosk", *args], capture_output=True, text=True, env=environ, cwd=cwd, timeout=60)


def test_ok__decode_json_gives_one_line_per_file(tmp_path):
    files = [str(FRAMES / name) for name in ("01-lan.jpg", "04-url.jpg", "00-idle.jpg")]
    result = kiosk("decode", "--json", *files)
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["file"] for line in lines] == files
    assert lines[0]["codes"] == [{"text": LAN, "kind": "cccd", "warnings": []}]
    assert lines[1]["codes"][0]["kind"] == "unknown" and lines[1]["codes"][0]["reason"] == "not_cccd"
    assert lines[2]["codes"] == [] and all(line["ms"] >= 0 for line in lines)


def test_fail__decode_reports_an_unreadable_file_and_goes_on(tmp_path):
    bad = tmp_path / "notes.png"
    bad.write_text("hello")
    result = kiosk("decode", "--json", str(bad), str(FRAMES / "03-hung.jpg"))
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert result.returncode == 1
    assert lines[0]["codes"] == [] and lines[0]["error"]
    assert lines[1]["codes"][0]["kind"] == "cccd"


def test_ok__decode_plain_text(tmp_path):
    result = kiosk("decode", str(FRAMES / "00-idle.jpg"))
    assert result.returncode == 0 and "no QR code found" in result.stdout


def test_ok__doctor_passes_with_a_replay_camera(tmp_path):
    result = kiosk("doctor", env={"KIOSK_CAMERA_SOURCE": f"replay:{FRAMES}", "KIOSK_KIOSK_DB": str(tmp_path / "k.db")})
    assert "ok   camera" in result.stdout and "ok   decoder" in result.stdout and "ok   database" in result.stdout
    assert "ok   disk" in result.stdout


def test_fail__doctor_says_the_camera_is_missing(tmp_path):
    result = kiosk("doctor", "--json", env={"KIOSK_CAMERA_SOURCE": "usb:7", "KIOSK_KIOSK_DB": str(tmp_path / "k.db")})
    checks = {c["name"]: c for c in json.loads(result.stdout)}
    assert result.returncode == 1 and not checks["camera"]["ok"] and checks["database"]["ok"]
    assert "usb" in checks["camera"]["detail"].lower() or "opencv" in checks["camera"]["detail"].lower()


def test_ok__doctor_notes_that_no_broker_is_set(tmp_path):
    result = kiosk("doctor", "--json", env={"KIOSK_CAMERA_SOURCE": f"replay:{FRAMES}", "KIOSK_KIOSK_DB": str(tmp_path / "k.db")})
    hub = {c["name"]: c for c in json.loads(result.stdout)}["hub"]
    assert hub["ok"] and "hub.broker" in hub["detail"]


def test_fail__doctor_says_the_publisher_is_not_connected(tmp_path):
    env = {"KIOSK_CAMERA_SOURCE": f"replay:{FRAMES}", "KIOSK_KIOSK_DB": str(tmp_path / "k.db"), "KIOSK_HUB_BROKER": "mqtt://127.0.0.1:1"}
    result = kiosk("doctor", "--json", env=env)
    hub = {c["name"]: c for c in json.loads(result.stdout)}["hub"]
    assert result.returncode == 1 and not hub["ok"]
    assert "not connected" in hub["detail"] and "0 events not yet merged" in hub["detail"]


def test_fail__doctor_reports_a_full_disk_threshold(tmp_path):
    result = kiosk("doctor", env={"KIOSK_CAMERA_SOURCE": f"replay:{FRAMES}", "KIOSK_KIOSK_DB": str(tmp_path / "k.db"),
                                  "KIOSK_KIOSK_MIN_FREE_MB": str(10**9)})
    assert result.returncode == 1 and "FAIL disk" in result.stdout


def test_ok__check_config_prints_every_key(tmp_path):
    path = tmp_path / "k.toml"
    path.write_text("[web]\nport = 9001\nsecret_key = 'hush'\n", encoding="utf-8")
    result = kiosk("--config", str(path), "check-config")
    assert result.returncode == 0
    assert "web.port = 9001" in result.stdout and "web.secret_key = (set)" in result.stdout and "hush" not in result.stdout


def test_fail__bad_config_exits_2_naming_the_key(tmp_path):
    path = tmp_path / "k.toml"
    path.write_text("[camera]\nresolution = '4k'\n", encoding="utf-8")
    result = kiosk("--config", str(path), "run")
    assert result.returncode == 2 and "camera.resolution" in result.stderr


def test_fail__a_missing_catalogue_stops_the_kiosk_with_a_sentence(tmp_path):
    # the schedule lives in vaccines/, whose errors are not KioskErrors: the command still says why and exits 2
    env = {"KIOSK_QUEUE_CATALOGUE": str(tmp_path / "absent.toml"), "KIOSK_KIOSK_DB": str(tmp_path / "k.db")}
    result = kiosk("scan", "--camera", f"replay:{FRAMES}", env=env)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "kiosk: cannot read catalogue" in result.stderr and "absent.toml" in result.stderr

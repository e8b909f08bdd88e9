"""The composition root: each single-part service loads only what its part needs (kiosk.notices keeps `kiosk scan` free of Flask and paho, lazy parts keep the screens and the publisher free of camera and GPIO libraries)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

BUILD = {
    "scan": "from gpiozero.pins.mock import MockFactory\n"
            "from kiosk.runtime import ScanService as S; s = S(config, pin_factory=MockFactory())",
    "web": "from kiosk.runtime import WebService as S; s = S(config)",
    "publish": "from kiosk.runtime import PublishService as S; s = S(config)",
}
"""How `kiosk scan|web|publish` build their service (cli.cmd_run), without serving it."""


def loaded_libraries(tmp_path: Path, command: str) -> set[str]:
    script = (
        "import json, sys\n"
        "from kiosk.config import build\n"
        f"config = build({{'kiosk': {{'db': {str(tmp_path / 'kiosk.db')!r}}}, 'camera': {{'source': 'replay:{tmp_path}'}},"
        " 'web': {'port': 0}})\n"
        f"{BUILD[command]}\n"
        "s.stop()\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout))


@pytest.mark.parametrize("command, absent", [
    ("scan", {"flask", "werkzeug", "paho"}),
    ("web", {"paho", "gpiozero", "cv2", "zxingcpp", "pyzbar"}),
    ("publish", {"flask", "werkzeug", "gpiozero", "cv2", "zxingcpp", "pyzbar"}),
])
def test_ok__a_single_part_service_loads_no_other_part_s_libraries(tmp_path, command, absent):
    assert not loaded_libraries(tmp_path, command) & absent

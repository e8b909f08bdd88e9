"""bench/live.py: a tiny run of the real scanner loop on demo-like cards prints one report of the documented shape."""

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_ok__a_tiny_live_run_reports_every_card_checked_in(tmp_path, capsys, monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT))
    monkeypatch.setattr(sys, "argv", ["live.py"])
    from bench import live

    assert live.main(["--set", "demo", "--cards", "3", "--hold", "3", "--cache", str(tmp_path), "--json-only"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["readable_unlimited"] == 3
    for reader in ("robust", "raw-zxing"):
        for label in ("still", "noisy"):
            run = report["runs"][reader][label]
            assert run["checked_in"] == 3 and run["frames"] == 3 * 7, (reader, label)
            assert run["latency_ms"]["p95"] is not None
    assert report["targets"]["passed"] is True

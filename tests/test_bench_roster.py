"""bench/roster.py: a tiny run prints one report of the documented shape."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_ok__a_tiny_run_reports_rows_per_second_the_writers_wait_and_the_size():
    done = subprocess.run([sys.executable, "-m", "bench.roster", "--rows", "2000", "--runs", "1", "--file-rows", "800"], cwd=ROOT,
                          capture_output=True, text=True, timeout=100)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["rows"] == 2000 and report["files"] == 3 and report["db_bytes"] > 0
    for key in ("first_import", "re_import"):
        figures = report[key]
        assert set(figures) == {"median_rows_per_s", "median_s", "median_read_s"}
        assert figures["median_rows_per_s"] > 0
    wait = report["writer_wait"]
    assert wait["commits"] > 0 and wait["max_ms"] >= 0 and wait["import_rows_per_s"] > 0
    assert wait["batch_commit"]["batches"] == 12
    readme = (ROOT / "bench" / "README.md").read_text(encoding="utf-8")
    assert all(f"`{figure}`" in readme for figure in ("median_rows_per_s", "writer_wait", "max_over_batch_max", "db_bytes"))

"""bench/reports.py: a tiny district prints one report of the documented shape."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_ok__a_tiny_run_reports_the_daily_report_the_export_and_the_front_page():
    done = subprocess.run([sys.executable, "-m", "bench.reports", "--people", "2000", "--doses", "6000", "--sites", "5",
                           "--days", "10", "--runs", "2", "--page-calls", "3", "--ingest-events", "1000", "--quiet"],
                          cwd=ROOT, capture_output=True, text=True, timeout=200)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["built"]["doses"] == 6000 and report["doses_per_day"] > 0
    for figures in (report["daily_report"], report["export"]["csv"], report["export"]["xlsx"], report["export_gauge"],
                    report["front_page"]["alone"], report["front_page"]["under_ingest"]):
        assert {"calls", "p50_ms", "p95_ms", "max_ms"} <= set(figures) and 0 < figures["p50_ms"] <= figures["max_ms"]
    assert report["front_page"]["under_ingest"]["ingest"]["events"] > 0
    assert set(report["targets"]) == {"daily_report_p50_s<=2", "export_xlsx_p50_s<=2", "export_csv_p50_s<=2",
                                      "front_page_p95_ms<=300_under_ingest"}
    readme = (ROOT / "bench" / "README.md").read_text(encoding="utf-8")
    assert "bench/reports.py" in readme and all(f"`{key}`" in readme for key in ("daily_report", "export", "front_page"))

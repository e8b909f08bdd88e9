"""bench/province.py: a tiny district prints one report of the documented shape."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_ok__a_tiny_run_reports_coverage_timings_the_pages_and_the_size():
    done = subprocess.run([sys.executable, "-m", "bench.province", "--people", "3000", "--doses", "7000", "--calls", "5",
                           "--page-calls", "2", "--cli-runs", "1", "--quiet"], cwd=ROOT, capture_output=True, text=True,
                          timeout=100)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["built"]["doses"] == 7000 and report["built"]["vaccinated_people"] > 2000 and report["db_bytes"] > 0
    assert report["coverage"]["communes"] == 60
    for figures in (report["coverage"]["district"], report["coverage"]["one_commune"], report["pages"]["coverage"],
                    report["hub_coverage_process"], report["coverage"]["refresh_500_people"]):
        assert set(figures) == {"calls", "p50_ms", "p95_ms", "max_ms"} and 0 < figures["p50_ms"] <= figures["max_ms"]
    assert set(report["targets"]) == {"coverage_p95_ms<=300", "coverage_page_p95_ms<=300", "person_search_p95_ms<=50"}
    search = report["person_search"]
    assert {"by_number", "by_name_and_year", "record"} <= set(search) and search["name_matches_median"] >= 1
    readme = (ROOT / "bench" / "README.md").read_text(encoding="utf-8")
    documented = ("coverage.refresh_500_people", "db_bytes", "built.rebuild_s", "person_search", "pages.coverage")
    assert "bench/province.py" in readme and all(f"`{key}`" in readme for key in documented)

"""bench/hub_commit.py runs and prints its figures as JSON (a smoke test at a tiny count; the figures are not checked)."""

from __future__ import annotations

import json

from bench import hub_commit


def test_ok__prints_one_run_per_batch_size(capsys):
    assert hub_commit.main(["--events", "600", "--kiosks", "3", "--batch", "500", "--batch", "50"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [(run["batch"], run["merged"], run["people"]) for run in report["runs"]] == [(500, 600, 300), (50, 600, 300)]
    assert all(run["events_per_s"] > 0 for run in report["runs"])

"""bench/pg_commit.py runs and prints its figures as JSON (a smoke test at a tiny count; the figures are not checked)."""

from __future__ import annotations

import json

from bench import pg_commit


def test_ok__prints_the_medians_of_sqlite_and_postgresql_with_one_and_two_workers(capsys):
    assert pg_commit.main(["--events", "400", "--kiosks", "4", "--batch", "100", "--repeat", "1"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert set(report["events_per_s_median"]) == {"sqlite", "postgres_1", "postgres_2"}
    assert all(figure > 0 for figure in report["events_per_s_median"].values())

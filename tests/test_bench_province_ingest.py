"""bench/province_ingest.py runs each receiving side once at a tiny count and prints its figures as JSON (the figures
are not checked: they are the bench's)."""

import json

from bench import province_ingest


def test_ok__prints_raw_sqlite_and_postgresql_with_one_and_two_workers(capsys):
    assert province_ingest.main(["--events", "400", "--kiosks", "4", "--repeats", "1"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert set(report["median_events_per_s"]) == {"raw", "sqlite", "postgres_1", "postgres_2"}
    assert all(figure > 0 for figure in report["median_events_per_s"].values())
    assert set(report["ratios"]) == {"postgres_1_to_sqlite", "postgres_1_to_raw", "postgres_2_to_sqlite",
                                     "postgres_2_to_raw", "sqlite_to_raw"}

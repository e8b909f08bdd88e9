"""bench/province_sim.py runs a tiny province end to end and prints its figures as JSON: bridged district brokers,
district hubs acknowledging too (the kiosks wait for both), two province workers on PostgreSQL, every outage once;
nothing lost (the figures themselves are not checked: they are the bench's)."""

import json

from bench import province_sim


def test_ok__a_tiny_province_loses_nothing_through_every_outage(capsys):
    assert province_sim.main(["--districts", "2", "--sites", "2", "--kiosks", "4", "--workers", "2", "--rate", "4",
                              "--seconds", "16"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["events"]["recorded"] == report["events"]["merged_at_province"] == 64
    assert report["events"]["lost"] == report["events"]["duplicated"] == report["events"]["unexpected"] == 0
    assert report["events"]["district_hubs_merged"] == 64
    assert [o["what"] for o in report["outages"]] == ["province-broker", "district-uplink", "province-worker-kill"]
    assert all(o["catch_up_s"] is not None for o in report["outages"])

"""`hub export platform` and `hub export status` as an operator runs them (a real `hub` process on a real database):
the file written and its doses marked, the gauge, JSON, the audit line, and exit 2 with a plain message on bad input."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest

from hub.store import Batch
from hub.store.sqlite import open_store

from .hub_helpers import DAY, HUNG_ID, check_in, dose, void

ROOT = Path(__file__).resolve().parent.parent
AT = f"{DAY}T10:00:00+07:00"
SITE = "Trạm Y tế Phường 1"


def hub(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hub", *args], cwd=cwd, capture_output=True, text=True, timeout=60,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "HOME": str(cwd)})


@pytest.fixture
def db(tmp_path) -> Path:
    path = tmp_path / "hub.db"
    with open_store(path) as store:
        store.enroll("ka", SITE, None, AT)
        store.commit(Batch(events=[check_in("ka", 1), dose("ka", 2), check_in("ka", 3, HUNG_ID, full_name="=cmd|' /C calc'!A0"),
                                   dose("ka", 4, HUNG_ID)]), AT)
    return path


def test_ok__export_writes_marks_and_audits_then_status_shows_it(db, tmp_path):
    before = hub("export", "status", "--db", str(db), "--date", DAY, "--json")
    assert before.returncode == 0, before.stderr
    assert json.loads(before.stdout)["total"] == {"site": "", "doses": 2, "exported": 0, "not_exported": 2, "changed": 0,
                                                  "pending": 2}
    out = tmp_path / "day.xlsx"
    done = hub("export", "platform", "--db", str(db), "--date", DAY, "--format", "xlsx", "--out", str(out))
    assert done.returncode == 0 and done.stdout == ""
    assert f"wrote {out}: export 1, 2 rows (2 new, 0 changed, 0 voided)" in done.stderr
    sheet = openpyxl.load_workbook(out).worksheets[0]
    names = [line[2].value for line in sheet.iter_rows(min_row=2)]
    assert sorted(names) == sorted(["Nguyễn Thị Lan", "'=cmd|' /C calc'!A0"])
    assert out.stat().st_mode & 0o077 == 0  # personal data: readable by its owner only
    table = hub("export", "status", "--db", str(db), "--date", DAY)
    assert table.returncode == 0
    assert [line.split()[-5:] for line in table.stdout.splitlines()[2:]] == [["2", "2", "0", "0", "0"]] * 2
    with open_store(db) as store:
        assert [(e.action, e.record, e.staff_id) for e in store.audit_log()] == [("export_platform", "export:1", None)]


def test_ok__a_void_goes_out_in_the_next_csv_named_by_its_id(db, tmp_path):
    assert hub("export", "platform", "--db", str(db), "--date", DAY, "--format", "csv", cwd=tmp_path).returncode == 0
    with open_store(db) as store:
        store.commit(Batch(events=[void("ka", 5, 2)]), AT)
    status = json.loads(hub("export", "status", "--db", str(db), "--date", DAY, "--json").stdout)
    assert status["sites"][0]["site"] == SITE and status["total"]["changed"] == 1
    done = hub("export", "platform", "--db", str(db), "--date", DAY, "--format", "csv", "--json", cwd=tmp_path)
    said = json.loads(done.stdout)
    assert said == {"day": DAY, "export_id": 2, "file": f"tiem-chung-{DAY}-2.csv", "format": "csv", "rows": 1,
                    "actions": {"new": 0, "changed": 0, "voided": 1}}
    lines = list(csv.reader(io.StringIO((tmp_path / said["file"]).read_text(encoding="utf-8-sig"), newline="")))
    assert len(lines) == 2 and lines[1][1] == "Hủy" and lines[1][-1] == "ka:2"
    again = hub("export", "platform", "--db", str(db), "--date", DAY, "--format", "csv", cwd=tmp_path)
    assert again.returncode == 0 and "nothing to export" in again.stderr
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(("tiem", ".hub"))) == [
        f"tiem-chung-{DAY}-1.csv", f"tiem-chung-{DAY}-2.csv"]


@pytest.mark.parametrize("args, says", [
    (["status", "--date", "2024-5-1"], "--date '2024-5-1': expected a day as YYYY-MM-DD"),
    (["status", "--date", "2024-02-30"], "--date '2024-02-30': expected a day as YYYY-MM-DD"),
    (["platform", "--date", "yesterday", "--format", "csv"], "--date 'yesterday'"),
])
def test_fail__a_bad_day_is_exit_2_with_a_plain_message(db, args, says):
    done = hub("export", args[0], "--db", str(db), *args[1:])
    assert done.returncode == 2 and done.stderr.startswith("hub: ") and says in done.stderr and "Traceback" not in done.stderr


def test_fail__a_broken_mapping_is_exit_2_naming_the_key_and_marks_nothing(db, tmp_path):
    mapping = tmp_path / "platform.toml"
    mapping.write_text('[file]\ndate_format = "DD/MM/YYYY"\nsheet = "x"\ncsv_delimiter = ","\ncsv_bom = "no"\n',
                       encoding="utf-8")
    config = tmp_path / "hub.toml"
    config.write_text(f'[export]\nmapping = "{mapping}"\n', encoding="utf-8")
    done = hub("export", "platform", "--db", str(db), "--date", DAY, "--format", "csv", "--config", str(config),
               cwd=tmp_path)
    assert done.returncode == 2 and "file.csv_bom: expected true or false" in done.stderr and "Traceback" not in done.stderr
    assert json.loads(hub("export", "status", "--db", str(db), "--date", DAY, "--json").stdout)["total"]["exported"] == 0
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(("tiem", ".hub"))]


def test_fail__an_unwritable_out_marks_nothing(db, tmp_path):
    done = hub("export", "platform", "--db", str(db), "--date", DAY, "--format", "csv", "--out",
               str(tmp_path / "missing" / "x.csv"))
    assert done.returncode == 2 and "Traceback" not in done.stderr and "missing" in done.stderr
    assert json.loads(hub("export", "status", "--db", str(db), "--date", DAY, "--json").stdout)["total"]["exported"] == 0


def test_fail__a_missing_format_or_database(tmp_path):
    assert hub("export", "platform", "--db", str(tmp_path / "x.db"), "--date", DAY).returncode == 2
    done = hub("export", "status", "--db", str(tmp_path / "x.db"), "--date", DAY)
    assert done.returncode == 2 and done.stderr == f"hub: no hub database at {tmp_path / 'x.db'}\n"
    assert not (tmp_path / "x.db").exists()

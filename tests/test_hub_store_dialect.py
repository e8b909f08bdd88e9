"""hub/store/postgres/dialect.py: the SQLite store's SQL run on a real PostgreSQL, against the same SQL on SQLite."""

import json
import sqlite3

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.store.postgres.dialect import Connection, translate

SCHEMA = "CREATE TABLE t (id TEXT PRIMARY KEY, n INTEGER NOT NULL, note TEXT)"
CREATE_INDEX = "CREATE INDEX t_by_n ON t (n)"
QUERIES = [
    ("SELECT id FROM t INDEXED BY t_by_n WHERE n >= ? ORDER BY id", (2,)),
    ("SELECT id FROM t WHERE id IN (SELECT value FROM json_each(?)) ORDER BY id", (json.dumps(["a:1", "b:10", "zz"]),)),
    ("SELECT id FROM t WHERE note IS ? ORDER BY id", (None,)),
    ("SELECT id FROM t WHERE note IS NOT ? ORDER BY id", ("50% off",)),
    ("SELECT id FROM t WHERE note LIKE '%off' OR id = :id ORDER BY id", {"id": "a:1"}),
    ("SELECT CAST(substr(id, instr(id, ':') + 1) AS INTEGER) AS seq FROM t ORDER BY seq", ()),
    ("SELECT sum(n), count(*), 'a?b :c' || char(31) FROM t", ()),
    ("SELECT id FROM t WHERE note LIKE '%off' ORDER BY id", ()),
]
ROWS = [("a:1", 1, None), ("b:10", 2, "50% off"), ("c:2", 3, "'quoted' ?"), ("d:3", 4, "")]


@pytest.fixture
def engines(tmp_path, pg_url):
    lite = sqlite3.connect(tmp_path / "t.db")
    pg = Connection(psycopg.connect(pg_url, autocommit=True))
    for conn in (lite, pg):
        conn.execute("DROP TABLE IF EXISTS t")
        conn.execute(SCHEMA)
        conn.execute(CREATE_INDEX)
        conn.executemany("INSERT INTO t (id, n, note) VALUES (?, ?, ?)", ROWS)
    yield lite, pg
    lite.close()
    pg.raw.close()


@pytest.mark.parametrize("sql, params", QUERIES)
def test_ok__each_sqlite_spelling_reads_the_same_rows_on_postgresql(engines, sql, params):
    lite, pg = engines
    assert [tuple(row) for row in pg.execute(sql, params).fetchall()] == lite.execute(sql, params).fetchall()


def test_ok__a_temp_table_without_rowid_is_made_and_read_alike(engines):
    for conn in engines:
        conn.execute("CREATE TEMP TABLE IF NOT EXISTS pairs (k TEXT PRIMARY KEY, v INTEGER NOT NULL) WITHOUT ROWID")
        conn.execute("DELETE FROM pairs")
        conn.executemany("INSERT INTO pairs VALUES (?, ?)", [("b", 2), ("a", 1)])
    assert [tuple(row) for row in engines[1].execute("SELECT * FROM pairs ORDER BY k")] == \
        engines[0].execute("SELECT * FROM pairs ORDER BY k").fetchall() == [("a", 1), ("b", 2)]


def test_ok__sums_read_as_sqlite_gives_them(engines):
    _, pg = engines
    assert pg.execute("SELECT sum(n), avg(n), sum(n) / 4.0 FROM t").fetchone() == (10, 2.5, 2.5)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(note=st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=20))
def test_ok__any_text_bound_or_quoted_is_read_back_unchanged(engines, note):
    _, pg = engines
    literal = "'" + note.replace("'", "''") + "'"
    assert pg.execute(f"SELECT {literal}, ?", (note,)).fetchone() == (note, note)
    assert pg.execute(f"SELECT {literal}").fetchone() == (note,)


def test_ok__a_cast_is_not_a_named_parameter():
    assert translate("SELECT x::jsonb FROM t WHERE y = :y") == "SELECT x::jsonb FROM t WHERE y = %(y)s"

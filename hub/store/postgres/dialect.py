"""The SQLite store's SQL, spoken to PostgreSQL: the query modules of hub/store run on either engine.

Most of what the hub asks of its database is plain SQL that both engines read
alike. ``Connection`` wraps a psycopg connection with the face of a sqlite3
one (``execute``, ``executemany``) and ``translate`` rewrites the few SQLite
spellings the query modules use into PostgreSQL's:

- placeholders: ``?`` becomes ``%s`` and ``:name`` becomes ``%(name)s`` (a
  literal ``%`` is doubled; nothing inside a quoted string is touched);
- ``INDEXED BY index`` (SQLite's planner hints) is dropped: PostgreSQL plans by
  its statistics; so is ``WITHOUT ROWID`` (a table's storage, as a TEMP table
  a query module makes for itself: every PostgreSQL table is a heap);
- ``json_each(?)``, a list sent as JSON, becomes ``jsonb_array_elements_text``
  (whose column is also named ``value``);
- ``instr(a, b)`` becomes ``strpos(a, b)``, ``char(n)`` ``chr(n)``;
- ``IS ?`` and ``IS NOT ?`` become ``IS NOT DISTINCT FROM`` and ``IS DISTINCT FROM``.

What a query needs beyond these (``GLOB``, ``rowid``, ``json_object``, a bare
column in a grouped query) is written portably in the query module, or for each
engine where the engines truly differ. A translation is cached per SQL text.

Numbers: ``sum`` and ``avg`` of integers are NUMERIC in PostgreSQL; they are
read as ``int`` when whole and ``float`` otherwise, as SQLite returns them.
"""

from __future__ import annotations

import re
from decimal import Decimal
from functools import lru_cache
from typing import Any, Iterable, Mapping, Sequence

import psycopg
from psycopg.types.numeric import NumericLoader

TOKENS = re.compile(r"""
    (?P<quoted>'(?:[^']|'')*'|"(?:[^"]|"")*")      # a string or a quoted name: kept as it is
  | (?P<cast>::)                                   # a PostgreSQL cast, not a named parameter
  | (?P<named>:[A-Za-z_][A-Za-z0-9_]*)
  | (?P<positional>\?)
  | (?P<percent>%)
  | (?P<indexed>\bINDEXED\s+BY\s+[A-Za-z_][A-Za-z0-9_]*)
  | (?P<without_rowid>\bWITHOUT\s+ROWID\b)
  | (?P<json_each>\bjson_each\s*\(\s*\?\s*\))
  | (?P<is_not>\bIS\s+NOT\s+\?)
  | (?P<is>\bIS\s+\?)
  | (?P<instr>\binstr\s*\()
  | (?P<char>\bchar\s*\()
""", re.VERBOSE | re.IGNORECASE)

REPLACEMENTS = {
    "cast": "::",
    "positional": "%s",
    "percent": "%%",
    "indexed": "",
    "without_rowid": "",
    "json_each": "jsonb_array_elements_text(%s::jsonb)",
    "is_not": "IS DISTINCT FROM %s",
    "is": "IS NOT DISTINCT FROM %s",
    "instr": "strpos(",
    "char": "chr(",
}


@lru_cache(maxsize=1024)
def translate(sql: str) -> str:
    """``sql`` as the SQLite store writes it, in PostgreSQL's spelling (see the module's docstring)."""

    def replace(match: re.Match) -> str:
        kind = match.lastgroup
        if kind == "quoted":
            return match.group().replace("%", "%%")
        if kind == "named":
            return f"%({match.group()[1:]})s"
        return REPLACEMENTS[kind]

    return TOKENS.sub(replace, sql)


class WholeOrFraction(NumericLoader):
    """NUMERIC as SQLite gives it: an int when whole, a float otherwise (never a Decimal)."""

    def load(self, data: Any) -> int | float:
        value: Decimal = super().load(data)
        return int(value) if value == value.to_integral_value() else float(value)


class Connection:
    """A psycopg connection with sqlite3's face, for the query modules of hub/store; ``raw`` is the connection."""

    def __init__(self, raw: psycopg.Connection):
        self.raw = raw
        raw.adapters.register_loader("numeric", WholeOrFraction)

    def execute(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> psycopg.Cursor:
        if params:
            return self.raw.execute(translate(sql), params)
        return self.raw.execute(translate_bare(sql))

    def close(self) -> None:
        self.raw.close()

    def executemany(self, sql: str, rows: Iterable[Sequence[Any] | Mapping[str, Any]]) -> psycopg.Cursor:
        cursor = self.raw.cursor()
        cursor.executemany(translate(sql), list(rows))
        return cursor


@lru_cache(maxsize=256)
def translate_bare(sql: str) -> str:
    """A statement sent without parameters: psycopg reads no placeholder in it, so a ``%`` stays single."""
    return translate(sql).replace("%%", "%")

"""The one place a --db value becomes a store: a PostgreSQL URL opens the PostgreSQL store, anything else a SQLite file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from vaccines.catalogue import Catalogue, load_catalogue

URL_SCHEMES = ("postgresql://", "postgres://")


def is_url(db: str | Path) -> bool:
    """Whether a --db value names a PostgreSQL database rather than a SQLite file."""
    return str(db).startswith(URL_SCHEMES)


def open_store(db: str | Path, catalogue: Catalogue | str | Path | None = None, *, worker: str = "hub") -> Any:
    """Open (creating and migrating as needed) the hub database ``db`` names, with the vaccine catalogue given or read
    from the TOML file it names (None: the packaged one); raise StoreError when it cannot be opened.

    ``worker``: the `hub run` client id, which names its merging row on PostgreSQL (several workers share one
    database there; a SQLite file has one `hub run` and one row)."""
    if isinstance(catalogue, (str, Path)):
        catalogue = load_catalogue(catalogue) if catalogue else None
    if is_url(db):
        from . import postgres  # psycopg only where a URL asks for it

        return postgres.open_store(str(db), catalogue, worker)
    from . import sqlite

    return sqlite.open_store(db, catalogue)

"""A real PostgreSQL cluster in a temporary folder on a free loopback port, for tests and the benchmarks.

Like tests/mosquitto.py: Debian's own binaries (``initdb``, ``pg_ctl`` from the
``postgresql`` package, which `make test` installs), nothing shared with the
machine's clusters. PostgreSQL refuses to run as root, so as root (a container)
the cluster's folder belongs to the ``postgres`` user the package creates and
its programs run through ``runuser``. The cluster starts once per session; a
test gets the session's database emptied (TRUNCATE, ~10 ms: a new database,
CREATE DATABASE ... TEMPLATE, takes ~0.2 s here) or, when it needs an empty
schema, a database of its own.

A test cluster trades durability for speed (fsync off): a crash of the machine
is not what the tests are about. Benchmarks ask for a ``durable`` one, which
flushes each commit as a real province's server does.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from itertools import count
from pathlib import Path

from .mosquitto import free_port

def newest_bin() -> Path:
    """Debian's newest installed server binaries (/usr/lib/postgresql/<major>/bin: 15 on Debian 12), or $PG_BIN."""
    if "PG_BIN" in os.environ:
        return Path(os.environ["PG_BIN"])
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]) if p.parts[-3].isdigit() else 0)
    return found[-1].parent if found else Path("/usr/lib/postgresql/15/bin")


BIN = newest_bin()
SUPERUSER = "postgres"
SETTINGS = ("max_connections=100", "shared_buffers=32MB")
UNSAFE = ("fsync=off", "synchronous_commit=off", "full_page_writes=off")
"""A test cluster's settings: no flush at commit (``Cluster(durable=True)`` leaves them out)."""


def as_owner(command: list[str]) -> list[str]:
    """The command as the cluster's owner: ``postgres`` when we are root, else ourselves."""
    return ["runuser", "-u", SUPERUSER, "--", *command] if os.geteuid() == 0 else command


class Cluster:
    """One PostgreSQL cluster: initdb, start (pg_ctl, waits until it accepts connections), stop, and databases."""

    def __init__(self, folder: Path | None = None, *, port: int | None = None, durable: bool = False):
        self.owned = folder is None
        self.settings = SETTINGS if durable else (*UNSAFE, *SETTINGS)
        self.folder = Path(folder or tempfile.mkdtemp(prefix="hub-pg-"))
        self.data = self.folder / "data"
        self.port = port or free_port()
        self.names = count(1)
        if os.geteuid() == 0:
            os.chmod(self.folder, 0o755)
            shutil.chown(self.folder, SUPERUSER, SUPERUSER)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def start(self, timeout: float = 30.0) -> "Cluster":
        if not self.data.exists():
            run(as_owner([str(BIN / "initdb"), "-D", str(self.data), "-U", SUPERUSER, "-A", "trust", "-E", "UTF8",
                          "--locale=C.UTF-8", "--no-instructions"]))
        options = " ".join(f"-c {setting}" for setting in (*self.settings, "listen_addresses=127.0.0.1",
                                                              f"unix_socket_directories={self.folder}"))
        run(as_owner([str(BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.folder / "postgres.log"), "-w",
                      "-t", str(int(timeout)), "-o", f"-p {self.port} {options}", "start"]))
        return self

    def stop(self, mode: str = "fast") -> None:
        """pg_ctl stop: ``fast`` ends sessions and shuts down cleanly, ``immediate`` is as a crash."""
        if (self.data / "postmaster.pid").exists():
            run(as_owner([str(BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop"]))

    def close(self) -> None:
        self.stop()
        if self.owned:
            shutil.rmtree(self.folder, ignore_errors=True)

    def create_database(self, template: str = "template1") -> str:
        """A new empty database (a copy of ``template``); return its URL."""
        import psycopg

        name = f"hub_{os.getpid()}_{next(self.names)}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        return self.url(name)

    def server_version(self) -> str:
        import psycopg

        with psycopg.connect(self.url()) as conn:
            return conn.execute("SHOW server_version").fetchone()[0]

    def empty_database(self, url: str) -> None:
        """Empty every table of the database but its migrations' record, in one TRUNCATE."""
        import psycopg

        with psycopg.connect(url, autocommit=True) as conn:
            tables = [name for (name,) in conn.execute(
                "SELECT quote_ident(tablename) FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'schema_migrations'")]
            if tables:
                conn.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY")

    def drop_database(self, url: str) -> None:
        import psycopg

        name = url.rsplit("/", 1)[1]
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def __enter__(self) -> "Cluster":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()


def run(command: list[str]) -> None:
    done = subprocess.run(command, capture_output=True, text=True, cwd="/")
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command[:4])}... exited with {done.returncode}: {done.stderr[-2000:]}")


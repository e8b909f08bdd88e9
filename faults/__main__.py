"""`python -m faults [--scenario NAME ...] [--full] [--store sqlite|postgres] [--json]`: run the fault scenarios and print what survived.

Exits 1 when any scenario lost, duplicated or invented a record (or broke), 0 otherwise.
"""

from __future__ import annotations

import argparse
import logging
import random
import sys
import tempfile
from pathlib import Path

from .runs import SCENARIOS
from .scenarios import execute
from .report import as_json, table


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="python -m faults", description="Break the kiosk-to-hub delivery on purpose and count what survived.")
    top.add_argument("--scenario", action="append", choices=list(SCENARIOS), metavar="NAME",
                     help=f"run only this scenario (repeatable): {', '.join(SCENARIOS)}")
    top.add_argument("--full", action="store_true", help="the issue's counts (200 publisher kills, 20 broker kills, ...); "
                     "default: the small counts make test runs")
    top.add_argument("--json", action="store_true", help="print a JSON list (one object per scenario) instead of the table")
    top.add_argument("--seed", type=int, help="seed of the random fault moments (default: a new one, printed)")
    top.add_argument("--folder", metavar="PATH", help="where runs keep their databases and logs (default: a temporary folder)")
    top.add_argument("--store", choices=("sqlite", "postgres"), default="sqlite",
                     help="the hub's store in the single-district scenarios: a SQLite file (default) or a PostgreSQL "
                          "database in a cluster the run starts (Debian's postgresql); the province scenarios always "
                          "merge into PostgreSQL")
    top.add_argument("--keep", action="store_true", help="keep every run's folder, not only failed ones")
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    base = Path(args.folder) if args.folder else Path(tempfile.mkdtemp(prefix="faults-"))
    results = []
    for name in args.scenario or list(SCENARIOS):
        print(f"faults: {name} ({'full' if args.full else 'small'}, seed {seed}) ...", file=sys.stderr, flush=True)
        result = execute(name, SCENARIOS[name], base / name, full=args.full, seed=seed, keep=args.keep,
                         store=args.store)
        print(f"faults: {name}: {'ok' if result.ok else 'FAILED'} in {result.duration_s} s", file=sys.stderr, flush=True)
        results.append(result)
    if args.json:
        as_json(results, sys.stdout)
    else:
        table(results, sys.stdout)
    if not args.folder and not any(base.iterdir()):
        base.rmdir()  # every run was ok and removed its own folder
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())

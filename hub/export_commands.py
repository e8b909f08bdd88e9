"""`hub export platform` (write the national-platform line list of a day's doses and mark them exported) and `hub export
status` (the same-day entry gauge per site), on the hub machine; what the export holds: docs/exports.md."""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from datetime import date, datetime, timezone
from getpass import getuser
from pathlib import Path
from typing import Any

from .config import load
from .errors import StoreError
from .reports import export as platform_export
from .reports.platform import load_mapping
from .store.open import open_store


def export(args: argparse.Namespace) -> int:
    """`hub export platform|status`."""
    day = parse_day(args.date)
    if not Path(args.db).is_file():  # an export never starts a new database
        raise StoreError(f"no hub database at {args.db}")
    if args.export_command == "status":
        return status(args, day)
    return platform(args, day)


def parse_day(text: str) -> date:
    """The day of --date; raise ValueError for anything but YYYY-MM-DD."""
    try:
        if len(text) != 10:
            raise ValueError
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"--date {text!r}: expected a day as YYYY-MM-DD") from None


def status(args: argparse.Namespace, day: date) -> int:
    """Print the gauge: per site the day's doses, exported, not exported, changed after export; then the total."""
    with open_store(args.db) as store:
        gauge = platform_export.gauge(store.platform_rows(day))
    if args.json:
        print(json.dumps({"day": day.isoformat(), **gauge}, ensure_ascii=False, indent=2))
        return 0
    columns = ("doses", "exported", "not_exported", "changed", "pending")
    width = max([len("site"), len("(total)"), *(len(site["site"]) for site in gauge["sites"])])
    print(f"same-day entry, doses given on {day.isoformat()}")
    print(f"{'site':<{width}}  " + "  ".join(f"{name:>12}" for name in columns))
    for site in [*gauge["sites"], {**gauge["total"], "site": "(total)"}]:
        print(f"{site['site']:<{width}}  " + "  ".join(f"{site[name]:>12}" for name in columns))
    return 0


def platform(args: argparse.Namespace, day: date) -> int:
    """Write the file (nothing is marked unless it can be written), keep the export, audit it, say where."""
    mapping = load_mapping(load(args.config).export.mapping or None)
    target = Path(args.out) if args.out else None
    handle, temporary = tempfile.mkstemp(prefix=".hub-export-", dir=target.parent if target else Path.cwd())
    try:
        with os.fdopen(handle, "wb") as out:
            with open_store(args.db) as store:
                made = store.export_platform(
                    day, lambda rows: platform_export.build(rows, args.format, mapping, store.catalogue),
                    by=getuser(), staff_id=None, at=now().isoformat(timespec="seconds"))
                if made is not None:
                    out.write(made[1].content)
                    store.audit(None, "export_platform", f"export:{made[0]}", None, now())
        if made is None:
            return report(args, day, None, None)
        final = target or Path(platform_export.file_name(made[0], day.isoformat(), args.format))
        os.replace(temporary, final)
        return report(args, day, made, final)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


def report(args: argparse.Namespace, day: date, made: tuple[int, Any] | None, path: Path | None) -> int:
    """Say what was written: JSON on stdout with --json, else one line on stderr."""
    counts = {act: sum(1 for _e, a, _d in made[1].lines if a == act) for act in platform_export.ACTIONS} if made else {}
    if args.json:
        print(json.dumps({"day": day.isoformat(), "export_id": made[0] if made else None, "file": str(path) if path else None,
                          "format": args.format, "rows": len(made[1].lines) if made else 0, "actions": counts}))
    elif made is None:
        print(f"hub: nothing to export for {day.isoformat()}: no dose given that day is new, changed or voided since its export",
              file=sys.stderr)
    else:
        said = ", ".join(f"{counts[act]} {act}" for act in platform_export.ACTIONS)
        print(f"hub: wrote {path}: export {made[0]}, {len(made[1].lines)} rows ({said}) of the doses given on "
              f"{day.isoformat()}", file=sys.stderr)
    return 0


def now() -> datetime:
    return datetime.now(timezone.utc)

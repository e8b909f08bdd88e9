"""The fault runs' results as a table for people and as JSON for machines."""

from __future__ import annotations

import json
from typing import Iterable, TextIO

from .scenarios import Result

COLUMNS = (
    ("scenario", "scenario"), ("store", "store"), ("acknowledged", "acked"), ("merged", "merged"), ("lost", "lost"),
    ("duplicate", "dup"), ("unexpected", "unexp"), ("faults", "faults"), ("duration_s", "secs"),
    ("absorbed", "absorbed"),
)


def table(results: Iterable[Result], out: TextIO) -> None:
    """One line per scenario, then its verdict and notes."""
    results = list(results)
    rows = [[str(getattr(r, name)) for name, _ in COLUMNS] + ["ok" if r.ok else "FAIL"] for r in results]
    header = [title for _, title in COLUMNS] + ["verdict"]
    widths = [max(len(header[i]), *(len(row[i]) for row in rows)) for i in range(len(header))]
    print("  ".join(h.ljust(w) if i == 0 else h.rjust(w) for i, (h, w) in enumerate(zip(header, widths))), file=out)
    for row in rows:
        print("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))), file=out)
    for result in results:
        details(result, out)


def details(result: Result, out: TextIO) -> None:
    lines = []
    if result.quarantine:
        lines.append("quarantine: " + ", ".join(f"{reason} {n}" for reason, n in sorted(result.quarantine.items())))
    lines += [f"district {name}: " + ", ".join(f"{key} {value}" for key, value in figures.items() if value != {})
              for name, figures in sorted(result.districts.items())]
    lines += result.notes
    lines += [f"FAILED CHECK: {check}" for check in result.failed_checks]
    lines += [f"{kind}: {', '.join(ids)}" for kind, ids in sorted(result.samples.items())]
    if result.error:
        lines.append(f"ERROR: {result.error}")
    if result.folder:
        lines.append(f"databases and logs kept in {result.folder}")
    if lines:
        print(f"\n{result.scenario} (seed {result.seed}):", file=out)
        for line in lines:
            print(f"  {line}", file=out)


def as_json(results: Iterable[Result], out: TextIO) -> None:
    """A JSON list, one object per scenario."""
    json.dump([r.to_json() for r in results], out, indent=2, ensure_ascii=False)
    out.write("\n")

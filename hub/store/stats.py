"""`hub stats`' counts: the SQL both stores run (SQLite's spelling; on PostgreSQL through postgres/dialect.py).

Each store adds its merging state: SQLite's one row, PostgreSQL's one row per
worker (postgres/kiosks.py merging).
"""

from __future__ import annotations

from typing import Any

from ..merge import CONFLICT_KINDS, SECURITY_KINDS
from ..roster.link import KIND as ROSTER_KIND
from . import acks, corrections

KIOSK_STATS = (
    "SELECT kiosk, site, enrolled_at IS NOT NULL, watermark, highest, duplicates, last_seen, status, status_at, boot, "
    "version, backlog, camera_fps, clock_skew_s, refused, disputed FROM kiosks ORDER BY kiosk"
)
KIOSK_KEYS = ("kiosk", "site", "enrolled", "watermark", "highest", "duplicates", "last_seen", "status", "status_at",
              "boot", "version", "backlog", "camera_fps", "clock_skew_s", "refused", "disputed")


def read_counts(conn: Any) -> dict[str, Any]:
    """Counts of events, doses, people, duplicates, quarantine, conflicts and corrections, and one dict per kiosk."""
    one = lambda sql: conn.execute(sql).fetchone()[0]  # noqa: E731
    by_reason = dict(conn.execute("SELECT reason, count(*) FROM quarantine GROUP BY reason ORDER BY reason").fetchall())
    by_kind = {kind: 0 for kind in (*CONFLICT_KINDS, ROSTER_KIND, *SECURITY_KINDS)}
    by_kind.update(conn.execute("SELECT kind, count(*) FROM conflicts GROUP BY kind").fetchall())
    by_kind["disputed_event"] = one("SELECT count(*) FROM disputes")
    return {
        "events": one("SELECT count(*) FROM events"),
        "doses": one("SELECT count(*) FROM doses WHERE voided_by IS NULL"),
        "voided_doses": one("SELECT count(*) FROM doses WHERE voided_by IS NOT NULL"),
        "people": one("SELECT count(*) FROM people"),
        "duplicates": one("SELECT coalesce(sum(duplicates), 0) FROM kiosks"),
        "quarantined": {"total": sum(by_reason.values()), "by_reason": by_reason},
        "conflicts": {"total": sum(by_kind.values()), "by_kind": by_kind,
                      "open": one("SELECT count(*) FROM conflicts WHERE state = 'open'") + by_kind["disputed_event"],
                      "police": one("SELECT count(*) FROM conflicts WHERE state = 'police'"),
                      "resolved": one("SELECT count(*) FROM conflicts WHERE state = 'resolved'")},
        "corrections": corrections.counts(conn),
        "kiosks": [kiosk_stats(conn, row) for row in conn.execute(KIOSK_STATS).fetchall()],
    }


def kiosk_stats(conn: Any, row: tuple) -> dict[str, Any]:
    kiosk = dict(zip(KIOSK_KEYS, row))
    kiosk["enrolled"] = bool(kiosk["enrolled"])
    held = acks.held_above(conn, kiosk["kiosk"], kiosk["watermark"]) if kiosk["highest"] > kiosk["watermark"] else []
    kiosk["missing"] = kiosk["highest"] - kiosk["watermark"] - len(held)
    kiosk["gaps"] = count_gaps(kiosk["watermark"], held)
    return kiosk


def count_gaps(watermark: int, held: list[int]) -> int:
    """The number of missing ranges above watermark (all of them, not only the first wire.MAX_GAPS)."""
    return sum(1 for previous, seq in zip([watermark, *held], held) if seq > previous + 1)

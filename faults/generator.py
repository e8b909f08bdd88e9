"""The event source of the fault runs: a kiosk's real use cases on its real SQLite file, at a controlled rate.

Run as ``python -m faults.generator --db PATH --kiosk ID --events N``. Every
event it commits went through check_in, call, screen, clear, inject, release
(and now and then a deferral, a refusal, an adverse reaction or a lot change):
each one is a record the kiosk's user was told is saved. It stops once the
kiosk's ``events`` table holds N rows, so a generator started again on the
same file carries on where the last one stopped. Its wall clock is the
process's own, so libfaketime can set it to 1970 or a year ahead.
"""

from __future__ import annotations

import argparse
import datetime
import logging
import sys
import time
from dataclasses import dataclass

from kiosk.config import QueueSettings
from kiosk.payloads import manual_card
from kiosk.queue import actions, aefi, dosing
from kiosk.queue.checkin import check_in
from kiosk.queue.clock import Clock
from kiosk.queue.errors import ActionRefused, NotEligible
from kiosk.queue.site import Site
from kiosk.queue.store import Store

logger = logging.getLogger("faults.generator")

NAMES = ("Nguyễn Thị Lan", "Trần Thị Hương", "Lê Thị Mai", "Phạm Minh Khuê", "Hoàng Thu Hà", "Võ Ngọc Bảo")
SHARED_EVERY = 10
"""Every tenth person comes from a pool shared by all kiosks: one citizen seen at two kiosks."""
SHARED_POOL = 500
REFUSAL_CODES = ("declined", "contraindicated", "referred")
"""The refusals' reason codes (kiosk/queue/actions.py refuse), taken in turn."""


@dataclass(frozen=True)
class Nurse:
    """The staff member the generated actions are taken by."""

    id: int
    name: str


NURSE = Nurse(1, "Điều dưỡng Hoa")


def card_for(kiosk_index: int, n: int):
    """Return a well-formed card: person n of this kiosk, or one from the shared pool."""
    if n % SHARED_EVERY == SHARED_EVERY - 1:
        number = 900_000 + (n // SHARED_EVERY) % SHARED_POOL
    else:
        number = kiosk_index * 100_000 + n % 100_000
    # 001 (Hà Nội), 1 = a woman born in the 1900s, 90 = born 1990: consistent with the birth date and sex below.
    id_number = f"001190{number:06d}"
    return manual_card(id_number, NAMES[number % len(NAMES)], "1990-03-15", "Nữ")


def event_count(store: Store) -> int:
    return store.db.execute("select count(*) from events").fetchone()[0]


def people_seen(store: Store) -> int:
    return store.db.execute("select count(*) from tickets").fetchone()[0]


class Generator:
    """Drives one kiosk's queue: one person at a time from check-in to release."""

    def __init__(self, site: Site, kiosk_index: int):
        self.site = site
        self.kiosk_index = kiosk_index
        self.n = people_seen(site.store)
        self.lot_id: int | None = None
        self.refusals: dict[str, int] = {}

    def cycle(self) -> None:
        """Take the next person through the queue (about seven events)."""
        self.n += 1
        ticket = check_in(self.site, card_for(self.kiosk_index, self.n), source="manual", by=NURSE)
        if not ticket.new or ticket.state != "waiting":
            return
        tid = ticket.id
        actions.call(self.site, tid, NURSE, desk=1 + self.n % 2)
        actions.screen(self.site, tid, NURSE)
        if self.n % 29 == 0:
            actions.defer(self.site, tid, NURSE, reason="sốt 38.5", return_on=self.today() + datetime.timedelta(days=7))
            return
        if self.n % 31 == 0:
            code = REFUSAL_CODES[self.n // 31 % len(REFUSAL_CODES)]  # each way of not being vaccinated, in turn
            actions.refuse(self.site, tid, NURSE, reason_code=code, reason="từ chối")
            return
        actions.clear(self.site, tid, NURSE)
        if not self.dose(tid):
            actions.leave(self.site, tid, NURSE)
            return
        if self.n % 17 == 0:
            aefi.record_aefi(self.site, tid, NURSE, severity="mild", symptoms="đau chỗ tiêm")
        if self.n % 13 == 0:
            actions.leave_early(self.site, tid, NURSE)
        else:
            actions.release(self.site, tid, NURSE, reason="kiểm thử lỗi: theo dõi rút gọn")

    def dose(self, tid: int) -> bool:
        """Inject from today's lot; return False when the kiosk refuses (clock not set, not eligible)."""
        for _attempt in range(2):
            try:
                dosing.inject(self.site, tid, NURSE, lot_id=self.lot())
                return True
            except ActionRefused as refused:
                self.note(refused.code)
                if refused.code in ("lot_from_another_day", "lot_closed", "lot_expired", "unknown_lot"):
                    self.lot_id = None
                    continue
                return False
            except NotEligible as refused:
                self.note(refused.eligibility.reason)
                return False
        return False

    def lot(self) -> int:
        """Today's open lot; opened (closing yesterday's) when there is none, and changed now and then."""
        if self.lot_id is not None and self.n % 97 == 0:
            dosing.close_lot(self.site, self.lot_id, NURSE)
            self.lot_id = None
        if self.lot_id is None:
            lot = dosing.open_lot(self.site, NURSE, product="comirnaty_30", lot_number=f"FT{self.n:06d}",
                                  expiry=self.today() + datetime.timedelta(days=180), doses_per_vial=6)
            self.lot_id = lot["id"]
        return self.lot_id

    def today(self) -> datetime.date:
        return self.site.clock.now().wall.date()

    def note(self, code: str) -> None:
        self.refusals[code] = self.refusals.get(code, 0) + 1


def run(db: str, kiosk: str, kiosk_index: int, target: int, rate: float) -> int:
    """Generate until the kiosk's events table holds target rows; return how many this run wrote."""
    store = Store(db)
    site = Site(store, kiosk, QueueSettings(observation_minutes=30.0), Clock())
    generator = Generator(site, kiosk_index)
    start_count = count = event_count(store)
    started = time.monotonic()
    while count < target:
        try:
            generator.cycle()
        except ActionRefused as refused:  # a refusal mid-cycle leaves the person; the next one comes
            generator.note(refused.code)
        count = event_count(store)
        if rate > 0:
            ahead = (count - start_count) / rate - (time.monotonic() - started)
            if ahead > 0:
                time.sleep(ahead)
    store.close()
    if generator.refusals:
        logger.info("refusals: %s", generator.refusals)
    return count - start_count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m faults.generator", description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True, help="the kiosk's database file")
    parser.add_argument("--kiosk", required=True, help="the kiosk id")
    parser.add_argument("--index", type=int, default=1, help="the kiosk's number, which keeps its people apart")
    parser.add_argument("--events", type=int, required=True, help="stop once the events table holds this many rows")
    parser.add_argument("--rate", type=float, default=0.0, help="events per second (0: as fast as SQLite commits)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    written = run(args.db, args.kiosk, args.index, args.events, args.rate)
    logger.info("wrote %d events", written)
    return 0


if __name__ == "__main__":
    sys.exit(main())

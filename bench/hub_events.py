"""Invented wire events for the hub benchmarks: half PersonCheckedIn, half DoseRecorded, one distinct person per pair.

Each person checks in (seq 2k-1) and gets a first dose (seq 2k); ids are
distinct across every kiosk of a run. Bodies are built with the kiosk's own
payload code (``checked_in_payload``) and ``wire.envelope``, the same bytes a
kiosk's outbox holds; ``fill_outbox`` writes them into a real kiosk database
through ``kiosk.queue.events.record``.
"""

from __future__ import annotations

import random
import time
import unicodedata
from datetime import date, datetime, timedelta, timezone
import wire
from kiosk.payloads.cccd import CccdCard
from kiosk.queue import events
from kiosk.queue.checkin import checked_in_payload
from kiosk.queue.clock import Instant
from kiosk.queue.store import Store

SURNAMES = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô"]
MIDDLE = {"Nam": ["Văn", "Đức", "Minh", "Hữu", "Quang"], "Nữ": ["Thị", "Ngọc", "Thu", "Thanh", "Mỹ"]}
GIVEN = {"Nam": ["Hùng", "Dũng", "Tuấn", "Khoa", "Hải", "Sơn", "Bình", "Đạt"], "Nữ": ["Lan", "Mai", "Hương", "Phương", "Thảo", "Nga", "Yến"]}
ADDRESS = "Thôn Đông, Xã Tân Lập, Huyện Đan Phượng, Thành phố Hà Nội"
VN = timezone(timedelta(hours=7))
START = datetime(2026, 3, 10, 7, 30, tzinfo=VN)
NURSE = {"staff_id": 2, "name": "Nguyễn Thị Hoa"}
LOT = {"product": "comirnaty", "lot_number": "FK5127", "expiry": "2026-12-31"}
BOOT = "7b1f4c2e-bench-boot"
PEOPLE_PER_KIOSK = 100_000
"""Person numbers of kiosk k start at k * this, so ids never repeat across kiosks (200,000 events per kiosk at most)."""


def kiosk_ids(count: int, prefix: str = "bench") -> list[str]:
    """Return ``count`` kiosk ids that are valid topic levels."""
    return [wire.check_kiosk_id(f"{prefix}-{n:03d}") for n in range(count)]


def invent_card(number: int, rng: random.Random) -> CccdCard:
    """Return person ``number``'s card: an id agreeing with birth year and sex, distinct for every number.

    The serial is the number's last six digits and the province code counts
    the millions (001, 003, ...), so two numbers never share an id.
    """
    sex = rng.choice(["Nam", "Nữ"])
    birth = date(rng.randint(1940, 2007), rng.randint(1, 12), rng.randint(1, 28))
    century_sex = 2 * (birth.year // 100 - 19) + (sex == "Nữ")
    province = f"{2 * (number // 1_000_000) + 1:03d}"
    id_number = f"{province}{century_sex}{birth.year % 100:02d}{number % 1_000_000:06d}"
    name = unicodedata.normalize("NFC", f"{rng.choice(SURNAMES)} {rng.choice(MIDDLE[sex])} {rng.choice(GIVEN[sex])}")
    old_id = f"{rng.randrange(10**9):09d}" if rng.random() < 0.5 else ""
    return CccdCard(id_number=id_number, old_id=old_id, full_name=name, birth_date=birth, sex=sex, address=ADDRESS,
                    issue_date=date(2021, 4, 1))


def event_payload(kiosk_index: int, number: int, seed: int, at: datetime | None = None) -> tuple[str, dict, datetime]:
    """Return (type, payload, wall time) of a kiosk's event ``number`` (0-based; seq = number + 1), as Site.emit builds it.

    Even numbers check a new person in, odd ones record that person's first dose.
    """
    person = number // 2
    if person >= PEOPLE_PER_KIOSK:
        raise ValueError(f"at most {2 * PEOPLE_PER_KIOSK} events per kiosk")
    rng = random.Random(f"{seed}/{kiosk_index}/{person}")
    card = invent_card(kiosk_index * PEOPLE_PER_KIOSK + person, rng)
    at = at or START + timedelta(seconds=20 * person + 10 * (number % 2), microseconds=rng.randrange(10**6))
    ticket = {"ticket": {"day": at.date().isoformat(), "number": person + 1}, "id_number": card.id_number}
    if number % 2 == 0:
        return wire.CHECK_IN_EVENT, {**ticket, **checked_in_payload(card, "camera")}, at
    dose = {**LOT, "number": 1, "booster": None, "given_at": at.isoformat()}
    return wire.DOSE_EVENT, {**ticket, "dose": dose, "by": NURSE}, at


def wire_bodies(kiosk_id: str, kiosk_index: int, count: int, seed: int, signer=None) -> list[bytes]:
    """Return the messages of seq 1..count of one kiosk, in order: its outbox texts, signed as its publisher sends them
    when a ``signer`` (wire.signature.Signer) is given."""
    bodies = []
    for number in range(count):
        kind, payload, at = event_payload(kiosk_index, number, seed)
        text = wire.envelope(kiosk_id, number + 1, kind, boot=BOOT, at=at.isoformat(), clock_synced=True, payload=payload)
        bodies.append(signer.sign(text) if signer is not None else text.encode())
    return bodies


def fill_outbox(store: Store, kiosk_id: str, kiosk_index: int, count: int, seed: int, *, per_transaction: int = 1000) -> None:
    """Record ``count`` events on a kiosk database (event log and outbox rows, as the use cases write them)."""
    for start in range(0, count, per_transaction):
        with store.write() as db:
            for number in range(start, min(count, start + per_transaction)):
                kind, payload, at = event_payload(kiosk_index, number, seed)
                events.record(db, kiosk_id, kind, Instant(at, time.monotonic(), BOOT, True), payload)


def record_now(store: Store, kiosk_id: str, kiosk_index: int, number: int, seed: int) -> tuple[int, float]:
    """Record event ``number`` of a kiosk now, in its own transaction; return (seq, time.time() just after COMMIT)."""
    kind, payload, at = event_payload(kiosk_index, number, seed, at=datetime.now(VN))
    with store.write() as db:
        row = events.record(db, kiosk_id, kind, Instant(at, time.monotonic(), BOOT, True), payload)
    return row["seq"], time.time()

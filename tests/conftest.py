"""Shared fixtures: real config objects, a real SQLite file, staff, gpiozero's mock pins, rendered QR frames."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest
from gpiozero.pins.mock import MockFactory

from kiosk.config import Config, QueueSettings, build
from kiosk.queue.clock import Clock, Instant
from kiosk.queue.site import Site
from kiosk.queue.store import Store
from kiosk.queue.staff import Staff, add_staff

LAN = "001190012345|123456789|Nguyễn Thị Lan|15031990|Nữ|Số 12, Đường Lê Lợi, Phường Bến Nghé, Quận 1, Thành phố Hồ Chí Minh|20042021"
HUNG = "036058001234||Trần Văn Hùng|02111958|Nam|Thôn Đông, Xã Tân Lập, Huyện Đan Phượng, Thành phố Hà Nội|11062021"
MAI_SEX_MISMATCH = "048085005678|201234567|Lê Thị Mai|09071985|Nữ|Tổ 5, Phường Thạc Gián, Quận Thanh Khê, Thành phố Đà Nẵng|03032022"


def qr_frame(text: str | None, size: tuple[int, int] = (640, 480), module: int = 4) -> np.ndarray:
    """A clean grey frame with the QR code of ``text`` in the middle (None: an idle frame)."""
    import segno

    width, height = size
    frame = np.full((height, width), 128, np.uint8)
    if text is None:
        return frame
    qr = segno.make_qr(unicodedata.normalize("NFC", text), error="m", mode="byte", encoding="utf-8")
    matrix = np.array([list(row) for row in qr.matrix], np.uint8)
    symbol = np.kron(1 - matrix, np.ones((module, module), np.uint8)) * 230 + 15
    symbol = np.pad(symbol, 4 * module, constant_values=245)
    top, left = (height - symbol.shape[0]) // 2, (width - symbol.shape[1]) // 2
    frame[top : top + symbol.shape[0], left : left + symbol.shape[1]] = symbol
    return frame


def write_frames(folder, texts, suffix=".png"):
    """Write one image per text (None: idle) into ``folder``, named in order."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    for i, text in enumerate(texts):
        Image.fromarray(qr_frame(text)).save(folder / f"{i:03d}{suffix}")
    return folder


@pytest.fixture
def config(tmp_path) -> Config:
    """Embedded defaults with the database in a temporary folder and simulated pins."""
    return build({"kiosk": {"db": str(tmp_path / "kiosk.db")}, "feedback": {"pin_factory": "mock"}})


@pytest.fixture
def store(config):
    store = Store(config.kiosk.db)
    yield store
    store.close()


ICT = timezone(timedelta(hours=7))
MORNING = datetime(2026, 11, 25, 8, 0, tzinfo=ICT)


class Ticker(Clock):
    """The kiosk's clocks as a test moves them by hand; ``reboot()`` starts a new boot."""

    def __init__(self, wall: datetime = MORNING, mono: float = 5000.0, boot_id: str = "boot-1"):
        self.wall, self.mono, self.boot_id = wall, mono, boot_id

    def advance(self, seconds: float) -> None:
        self.wall += timedelta(seconds=seconds)
        self.mono += seconds

    def reboot(self, boot_id: str = "boot-2", downtime_s: float = 60.0) -> None:
        self.wall += timedelta(seconds=downtime_s)
        self.mono, self.boot_id = 10.0, boot_id

    def now(self) -> Instant:
        return Instant(self.wall, self.mono, self.boot_id, True)


@dataclass(frozen=True)
class Staffer:
    """A staff member as the use cases see one (id and name)."""

    id: int | None
    name: str
    role: str = "supervisor"


NURSE = Staffer(1, "Điều dưỡng Hoa")


STAFF_ADDED = datetime(2026, 11, 25, 1, 0, tzinfo=timezone.utc)


@pytest.fixture
def hoa(store) -> Staff:
    """The supervisor Hoa, PIN 2580."""
    return add_staff(store, "Điều dưỡng Hoa", "supervisor", "2580", STAFF_ADDED)


@pytest.fixture
def binh(store) -> Staff:
    """The vaccinator Bình, PIN 4826."""
    return add_staff(store, "Trần Văn Bình", "vaccinator", "4826", STAFF_ADDED)


@pytest.fixture
def ticker() -> Ticker:
    return Ticker()


@pytest.fixture
def site(store, ticker) -> Site:
    """Use cases on the real store, at a time the test controls, with the packaged catalogue."""
    return Site(store, "kiosk-test", QueueSettings(), ticker)


@pytest.fixture
def pins():
    factory = MockFactory()
    yield factory
    factory.close()


@pytest.fixture
def feedback(pins):
    """LEDs and buzzer on mock pins, with short timings; closed before the pins."""
    from kiosk.config import FeedbackSettings
    from kiosk.scan.feedback import Feedback

    device = Feedback(FeedbackSettings(light_seconds=0.05, beep_seconds=0.01), pins)
    yield device
    device.close()


@pytest.fixture
def broker(tmp_path):
    """A real Mosquitto on a free loopback port with persistence in its own folder; stopped after the test."""
    from tests.mosquitto import Broker

    with Broker(tmp_path / "mosquitto") as running:
        yield running


@pytest.fixture(params=["sqlite", "postgres"])
def store_db(request, tmp_path):
    """The hub database of a test that runs once on each store: a SQLite file, then a PostgreSQL database
    (tests/hub_stores.py)."""
    from tests.hub_stores import database

    return database(request, tmp_path)


@pytest.fixture
def db(tmp_path):
    """A hub database with kiosks k1 and k2 enrolled, each with its test key (tests/keys.py)."""
    from hub.store.sqlite import open_store
    from tests.keys import enroll

    path = tmp_path / "hub.db"
    with open_store(path) as store:
        for kiosk in ("k1", "k2"):
            enroll(store, kiosk)
    return path


@pytest.fixture(params=["sqlite", "postgres"])
def hub_db(request, tmp_path):
    """A hub database of either store (tests/hub_stores.py; ``location`` is what --db takes) with kiosks k1 and k2
    enrolled, each with its test key."""
    from tests.hub_stores import database
    from tests.keys import enroll

    chosen = database(request, tmp_path)
    with chosen.open() as store:
        for kiosk in ("k1", "k2"):
            enroll(store, kiosk)
    return chosen


@pytest.fixture
def watcher(broker):
    """A raw client that sees every acknowledgement and hub status (and keeps what it saw)."""
    import wire
    from tests.hub_process import Client

    client = Client(broker, "watcher", subscribe=("vax/k/+/ack", wire.HUB_STATUS_TOPIC)).wait_subscribed()
    yield client
    client.close()


@pytest.fixture(scope="session")
def pg_cluster():
    """One real PostgreSQL cluster for the session (tests/postgres.py), started only when a test asks for it."""
    from .postgres import Cluster

    with Cluster() as cluster:
        yield cluster


@pytest.fixture(scope="session")
def pg_database(pg_cluster):
    """One database for the session's tests, emptied before each (pg_url): a new database costs ~0.2 s, emptying ~10 ms."""
    return pg_cluster.create_database()


@pytest.fixture
def pg_url(pg_cluster, pg_database):
    """The session's database with every table emptied (its schema kept, identities restarted): a fresh hub database
    to a test. A test that needs an empty schema (migrations) asks pg_cluster.create_database() for its own."""
    pg_cluster.empty_database(pg_database)
    return pg_database

"""The province tier as real processes: a PostgreSQL cluster, a province broker, districts bridged to it, workers.

Each district is a single-district rig (faults/rig.py) of its own folder: its
Mosquitto, its SQLite hub in ``acks = "province"`` mode (it says online only
while its bridge is up) and its kiosks, which wait for both their district
hub's acknowledgement and the province's (``hub.province_acks``). Its broker carries a bridge to the
province broker, written by ``hub bridge-config``, through a TCP relay
(faults/link.py) the harness can cut: the district's uplink. Province workers,
``hub run --db postgresql://… --district …``, one per partition of the districts,
merge into the cluster's database and publish the acknowledgements the bridges
carry back to the kiosks (on ``vax/p/k/<kiosk>/ack``). The province learns the kiosks as an operator would:
``hub kiosks export`` at the district, ``hub kiosks import --district`` at the
province.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.mosquitto import Broker
from tests.postgres import Cluster

from . import verify
from .link import Link
from .procs import Proc, python, run
from .rig import Rig, start_subscribed

SUBSCRIBED = "subscribed to"
"""What `hub run` logs once its subscriptions are in place (hub/subscriber.py on_subscribe)."""
DISTRICT_HUB_CONFIG = '[province]\nacks = "province"\n'
"""A district hub's settings behind a province: online only while its bridge is up (docs/hub-config.md)."""
DISTRICT_KIOSK_ENV = {"KIOSK_HUB_PROVINCE_ACKS": "1"}
"""A district's kiosks under a province: an event is done once the district hub and the province both hold it."""


class District(Rig):
    """One district: a single-district rig whose broker bridges to the province through a cuttable relay."""

    def __init__(self, name: str, folder: Path, province_port: int, **options):
        folder.mkdir(parents=True, exist_ok=True)
        self.name = name
        self.uplink = Link(province_port)
        """The district's way to the province broker: the bridge connects through it."""
        snippet = folder / "bridge.conf"
        run(python("-m", "hub", "--log-level", "WARNING", "bridge-config", "--district", name,
                   "--province", self.uplink.url, "--out", str(snippet)))
        config = folder / "hub.toml"
        config.write_text(DISTRICT_HUB_CONFIG)
        super().__init__(folder, hub_config=config, broker_extra=snippet.read_text(), **options)
        self.kiosk_env = DISTRICT_KIOSK_ENV

    def export_kiosks(self) -> Path:
        """`hub kiosks export`: the file the district sends the province after each enrollment or revocation."""
        out = self.folder / "kiosks.json"
        run(python("-m", "hub", "--log-level", "WARNING", "kiosks", "export", "--db", str(self.hub_db), "--out", str(out)))
        return out

    def close(self) -> None:
        super().close()
        self.uplink.close()


class Province:
    """A PostgreSQL cluster, a province broker, ``districts`` districts of ``kiosks`` kiosks each, and one province
    worker per partition of the districts (``workers``, default one per district); ``close`` ends them all."""

    def __init__(self, folder: Path, *, districts: int = 2, kiosks: int = 2, workers: int | None = None,
                 resend_seconds: float = 2.0, batch_ms: float = 20.0):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.resend_seconds = resend_seconds
        self.batch_ms = batch_ms
        self.broker = Broker(self.folder / "mosquitto")
        self.districts: dict[str, District] = {}
        for number in range(1, districts + 1):
            district = District(f"d{number}", self.folder / f"d{number}", self.broker.port, resend_seconds=resend_seconds)
            for place in range(1, kiosks + 1):
                district.add_kiosk(f"d{number}-k-{place}", index=(number - 1) * kiosks + place)
            self.districts[district.name] = district
        self.cluster = Cluster()
        """In a temporary folder of its own, which PostgreSQL's user can reach (a run's folder may not be); its log
        is copied into the run's folder when it stops. Made last: a district that fails to enroll leaves no folder."""
        self.url = ""
        """The province database's URL, once the cluster runs."""
        count = workers or districts
        self.partitions = [list(self.districts)[start::count] for start in range(count)]
        """The districts each province worker serves: a district is served by one worker."""
        self.workers: list[Proc] = []

    @property
    def kiosks(self) -> dict:
        return {kiosk.id: kiosk for district in self.districts.values() for kiosk in district.kiosks.values()}

    # -- start ------------------------------------------------------------------------------------------------------

    def start_all(self) -> None:
        """The cluster and its database, the province broker, the kiosks imported, the province workers; then each
        district's broker (its bridge connects), hub and publishers."""
        self.cluster.start()
        self.url = self.cluster.create_database()
        self.broker.start()
        for district in self.districts.values():
            self.import_kiosks(district)
        self.workers = [Proc(f"hub-province-{number}", self.worker_args(number, partition),
                             self.folder / f"hub-province-{number}.log") for number, partition in enumerate(self.partitions, 1)]
        for worker in self.workers:
            self.start_worker(worker)
        for district in self.districts.values():
            district.start_all()

    def import_kiosks(self, district: District) -> None:
        """`hub kiosks import --district`: the province learns the district's kiosks (idempotent)."""
        run(python("-m", "hub", "--log-level", "WARNING", "kiosks", "import", str(district.export_kiosks()),
                   "--district", district.name, "--db", self.url))

    def worker_args(self, number: int, districts: list[str]) -> list[str]:
        chosen = [arg for name in districts for arg in ("--district", name)]
        return python("-m", "hub", "run", "--db", self.url, "--broker", self.broker.url, "--client-id",
                      f"hub-province-{number}", "--batch-ms", str(self.batch_ms), *chosen)

    def absorbed(self, kiosks: list[str]) -> int:
        """Deliveries of already merged events of these kiosks that the province absorbed (kiosks.duplicates)."""
        with verify.reading(self.url) as conn:
            return sum(n for n, in conn.execute("select duplicates from kiosks where kiosk = any(%s)", [kiosks]))

    def start_worker(self, worker: Proc, timeout: float = 30.0) -> None:
        """Start a province worker and wait until it has subscribed (its log says so)."""
        start_subscribed(worker, SUBSCRIBED, timeout)

    # -- the end ----------------------------------------------------------------------------------------------------

    def wait_generators(self, timeout: float) -> None:
        for district in self.districts.values():
            district.wait_generators(timeout)

    def settle(self, timeout: float) -> tuple[bool, dict]:
        """Wait until the province's watermark and each district hub's cover every kiosk's events; then, briefly,
        until each kiosk has heard so (its watermark is the lower of the two acknowledgements it waits for)."""
        dbs = {kiosk.id: kiosk.db for kiosk in self.kiosks.values()}
        merged, state = verify.wait_for_convergence(dbs, self.url, timeout)
        for district in self.districts.values():
            if merged:
                own = {kiosk.id: kiosk.db for kiosk in district.kiosks.values()}
                merged, state = verify.wait_for_convergence(own, district.hub_db, timeout)
        if merged:
            return verify.wait_for_convergence(dbs, self.url, self.resend_seconds * 3 + 10, heard=True)
        return False, state

    def tally(self) -> verify.Tally:
        """The province's count over every kiosk, with each district hub's count over its own kiosks added."""
        logs = [verify.read_kiosk(kiosk.id, kiosk.db) for kiosk in self.kiosks.values()]
        result = verify.tally(logs, self.url)
        for name, district in self.districts.items():
            result.add_district(name, district.tally())
        return result

    def close(self) -> None:
        """Stop every process: the districts (generators, publishers, hubs, brokers, uplinks), the province workers,
        the province broker and the cluster."""
        for district in self.districts.values():
            district.close()
        for worker in self.workers:
            worker.stop()
        self.broker.stop()
        if (self.cluster.folder / "postgres.log").exists():
            shutil.copyfile(self.cluster.folder / "postgres.log", self.folder / "postgres.log")
        self.cluster.close()

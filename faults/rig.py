"""The real parts of one fault run: a Mosquitto, a hub, kiosks (a generator and a publisher each), all as processes.

Everything lives in one folder: the broker's config and persistence, the hub's
database, each kiosk's database (in a folder of its own), and one log per process, kept when a run
fails so its findings can be read. With ``store="postgres"`` the hub's database is a PostgreSQL
database in a cluster of the rig's own (a temporary folder PostgreSQL's user can reach; its log is
copied into the run's folder when the rig closes).
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from tests.mosquitto import Broker
from tests.postgres import Cluster

from . import verify
from .link import Link
from .procs import Proc, faketime_env, log_count, python, run, wait_until

SITE = "fault-site"
SUBSCRIBED = "subscribed to vax/k/+/event"
"""What `hub run` logs once its subscription is in place (hub/subscriber.py on_subscribe)."""


@dataclass
class Kiosk:
    """One kiosk: its database, its publisher process, the generators run on it, its clock and its link."""

    id: str
    index: int
    db: Path
    publisher: Proc
    env: dict[str, str]
    wrapper: list[str]
    clock_file: Path | None = None
    link: Link | None = None
    generators: list[Proc] = field(default_factory=list)

    def set_clock(self, spec: str) -> None:
        """Set (or step) this kiosk's wall clock: a libfaketime spec such as ``@1970-01-01 00:05:00`` or ``+365d``."""
        self.clock_file.write_text(spec + "\n")

    @property
    def generating(self) -> bool:
        return any(g.running for g in self.generators)


def start_subscribed(hub: Proc, subscribed: str, timeout: float = 30.0) -> None:
    """Start a `hub run` process and wait until its log says ``subscribed`` once more; raise RuntimeError when it
    exits first."""
    before = log_count(hub.log, subscribed)
    hub.start()
    wait_until(lambda: log_count(hub.log, subscribed) > before or not hub.running, timeout,
               what=f"{hub.name}'s subscription")
    if not hub.running:
        raise RuntimeError(f"{hub.name} exited with {hub.returncode}:\n{hub.tail()}")


class Rig:
    """A broker, a hub and kiosks in ``folder``; ``close`` ends every process it started."""

    def __init__(self, folder: Path, *, max_queued: int = 0, resend_seconds: float = 2.0, hub_batch_ms: float = 20.0,
                 hub_config: Path | None = None, broker_extra: str = "", store: str = "sqlite"):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.broker = Broker(self.folder / "mosquitto", max_queued=max_queued, extra=broker_extra)
        self.cluster: Cluster | None = None
        self.hub_db: Path | str = self.folder / "hub.db"
        """The hub's database: a SQLite file, or a PostgreSQL URL (every `--db` takes either)."""
        if store == "postgres":
            self.cluster = Cluster().start()
            self.hub_db = self.cluster.create_database()
        elif store != "sqlite":
            raise ValueError(f"no such store: {store!r} (sqlite or postgres)")
        config = ["--config", str(hub_config)] if hub_config else []
        self.hub = Proc("hub", python("-m", "hub", "run", "--broker", self.broker.url, "--db", str(self.hub_db),
                                      "--batch-ms", str(hub_batch_ms), *config), self.folder / "hub.log")
        self.resend_seconds = resend_seconds
        self.kiosk_env: dict[str, str] = {}
        """Settings every kiosk added from now on gets in its environment (a district's under a province)."""
        self.kiosks: dict[str, Kiosk] = {}
        self.faults = 0

    # -- parts ------------------------------------------------------------------------------------------------------

    def start_broker(self) -> None:
        self.broker.start()

    def enroll(self, kiosk_id: str, site: str = SITE) -> dict:
        """As at a real site: `kiosk identity new` makes the kiosk's key and CSR, `hub enroll --csr` certifies it (the
        rig's own district CA, made on first use; the broker here is a plain one, so the ACL and CRL are only written).
        Return what `hub enroll --json` printed, with the key's path as ``key_file``."""
        ca_dir, broker_dir, folder = self.folder / "ca", self.folder / "broker-files", self.folder / kiosk_id
        if not (ca_dir / "ca.key").exists():
            run(python("-m", "hub", "--log-level", "WARNING", "ca", "init", "--dir", str(ca_dir), "--tls-name", "127.0.0.1"))
        broker_dir.mkdir(exist_ok=True)
        folder.mkdir(parents=True, exist_ok=True)
        key, csr = folder / "kiosk-key", folder / "kiosk.csr"
        run(python("-m", "kiosk", "--log-level", "WARNING", "identity", "new", "--force", "--key", str(key), "--csr", str(csr)),
            env={"KIOSK_KIOSK_ID": kiosk_id})
        done = run(python("-m", "hub", "--log-level", "WARNING", "enroll", kiosk_id, "--site", site, "--csr", str(csr),
                          "--out", str(folder / "kiosk.crt"), "--db", str(self.hub_db), "--ca-dir", str(ca_dir),
                          "--broker-dir", str(broker_dir), "--json"))
        return {**json.loads(done.stdout), "key_file": str(key)}

    def add_kiosk(self, kiosk_id: str, *, clock: str | None = None, link: bool = False, enroll: bool = True,
                  index: int | None = None) -> Kiosk:
        """A kiosk with its own database, enrolled at the hub; under a wrong clock and behind a cuttable link if asked.
        ``index`` keeps its people apart from other kiosks' (default: its place in this rig)."""
        key_file = self.enroll(kiosk_id)["key_file"] if enroll else ""
        link_ = Link(self.broker.port) if link else None
        env = {
            "KIOSK_KIOSK_ID": kiosk_id, "KIOSK_KIOSK_SITE": SITE,
            "KIOSK_HUB_BROKER": link_.url if link_ else self.broker.url,
            "KIOSK_HUB_RESEND_SECONDS": str(self.resend_seconds),
            "KIOSK_FEEDBACK_PIN_FACTORY": "mock",
            **({"KIOSK_HUB_KEY_FILE": key_file} if key_file else {}),  # an enrolled kiosk's key: its events leave signed
            **self.kiosk_env,
        }
        wrapper = python()
        clock_file = None
        if clock is not None:
            clock_file = self.folder / f"{kiosk_id}.clock"
            clock_file.write_text(clock + "\n")
            env.update(faketime_env(clock_file))
            wrapper = python("-m", "faults.wrongclock")
        db = self.folder / kiosk_id / "kiosk.db"  # a folder each: the publisher keeps publish.sock beside its database
        publisher = Proc(f"{kiosk_id} publisher", [*wrapper, "-m", "kiosk", "publish", "--db", str(db)],
                         self.folder / f"{kiosk_id}.publish.log", env)
        kiosk = Kiosk(kiosk_id, index or len(self.kiosks) + 1, db, publisher, env, wrapper, clock_file, link_)
        self.kiosks[kiosk_id] = kiosk
        return kiosk

    def generate(self, kiosk: Kiosk, events: int, rate: float = 0.0) -> Proc:
        """Start a generator on the kiosk's database that stops once it holds ``events`` events."""
        args = [*kiosk.wrapper, "-m", "faults.generator", "--db", str(kiosk.db), "--kiosk", kiosk.id,
                "--index", str(kiosk.index), "--events", str(events), "--rate", str(rate)]
        generator = Proc(f"{kiosk.id} generator", args, self.folder / f"{kiosk.id}.generator.log", kiosk.env)
        kiosk.generators.append(generator)
        return generator.start()

    def start_hub(self, timeout: float = 30.0) -> None:
        """Start `hub run` and wait until it has subscribed (its log says so)."""
        start_subscribed(self.hub, SUBSCRIBED, timeout)

    def start_all(self) -> None:
        """Broker, hub, then every kiosk's publisher."""
        self.start_broker()
        self.start_hub()
        for kiosk in self.kiosks.values():
            kiosk.publisher.start()

    # -- the end ----------------------------------------------------------------------------------------------------

    def wait_generators(self, timeout: float) -> None:
        for kiosk in self.kiosks.values():
            for generator in kiosk.generators:
                if generator.proc is not None and generator.wait(timeout) != 0 and not generator.stopped:
                    raise RuntimeError(f"{generator.name} exited with {generator.returncode}:\n{generator.tail()}")

    def settle(self, timeout: float) -> tuple[bool, dict]:
        """Wait until the hub's watermark covers every kiosk's events; then, briefly, until each kiosk has heard it."""
        dbs = {kiosk.id: kiosk.db for kiosk in self.kiosks.values()}
        merged, state = verify.wait_for_convergence(dbs, self.hub_db, timeout)
        if merged:
            heard, state = verify.wait_for_convergence(dbs, self.hub_db, self.resend_seconds * 3 + 10, heard=True)
            return heard, state
        return False, state

    def tally(self) -> verify.Tally:
        logs = [verify.read_kiosk(kiosk.id, kiosk.db) for kiosk in self.kiosks.values()]
        return verify.tally(logs, self.hub_db)

    def close(self) -> None:
        """Stop every process this rig started: generators, publishers, the hub, the links, the broker."""
        for kiosk in self.kiosks.values():
            for generator in kiosk.generators:
                generator.stop()
            kiosk.publisher.stop()
            if kiosk.link is not None:
                kiosk.link.close()
        self.hub.stop()
        self.broker.stop()
        if self.cluster is not None:
            if (self.cluster.folder / "postgres.log").exists():
                shutil.copyfile(self.cluster.folder / "postgres.log", self.folder / "postgres.log")
            self.cluster.close()

    def logs(self) -> list[Path]:
        return sorted(self.folder.glob("*.log")) + [self.broker.log]

#!/usr/bin/env python3
"""Benchmark scan-to-screen latency (frame handed to the scanner -> ticket on /events) and the kiosk's memory; prints JSON.

Usage: python bench/latency.py [--n 220] [--warmup 5] [--all-in-one] [--json-only]
See bench/README.md for what each figure means.
"""
from __future__ import annotations

import argparse
import http.client
import json
import logging
import os
import platform
import queue
import random
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import unicodedata
import urllib.request
from collections import deque
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402  (after the path fix, so the bench runs from a checkout)

from kiosk import config as configuration  # noqa: E402
from kiosk.camera import Frame  # noqa: E402
from kiosk.decode import make_decoder  # noqa: E402
from kiosk.demo import FRAMES  # noqa: E402
from kiosk.demo.generate import render  # noqa: E402
from kiosk.runtime import Kiosk, ScanService  # noqa: E402

SEED = 20261125
LATENCY_P95_TARGET_MS = 150.0
MEMORY_TARGET_MB = 150.0
HOLD_FRAMES = 2
"""A card stays in view for at least this many camera frames (then one idle frame): about 3 check-ins a second."""
OUTCOME_TIMEOUT_S = 5.0
SETTLE_S = 2.0
"""Memory is sampled this long after the replayed check-ins, while the scanner keeps decoding frames."""
IDLE_FRAMES = 8
MB = 1_000_000

SURNAMES = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô", "Dương", "Lý"]
MIDDLE = {"Nam": ["Văn", "Đức", "Minh", "Hữu", "Quang", "Thanh"], "Nữ": ["Thị", "Ngọc", "Thu", "Thanh", "Mỹ", "Kim"]}
GIVEN = {"Nam": ["Hùng", "Dũng", "Tuấn", "Khoa", "Hải", "Sơn", "Bình", "Đạt", "Việt", "Lộc", "Nghĩa", "Quý"],
         "Nữ": ["Lan", "Mai", "Hương", "Phương", "Thảo", "Nga", "Yến", "Hạnh", "Quỳnh", "Trang", "Nhung", "Ánh"]}
PROVINCES = ["001", "079", "048", "036", "031", "092", "075", "038", "040", "046"]
ADDRESSES = [
    "Số 12, Đường Lê Lợi, Phường Bến Nghé, Quận 1, Thành phố Hồ Chí Minh",
    "Thôn Đông, Xã Tân Lập, Huyện Đan Phượng, Thành phố Hà Nội",
    "Tổ 5, Phường Thạc Gián, Quận Thanh Khê, Thành phố Đà Nẵng",
    "Ấp Phú Hoà, Xã Quảng Phú, Huyện Củ Chi, Thành phố Hồ Chí Minh",
    "Số 8, Ngõ 45, Phố Huế, Phường Ngô Thì Nhậm, Quận Hai Bà Trưng, Thành phố Hà Nội",
    "Khu vực 3, Phường An Khánh, Quận Ninh Kiều, Thành phố Cần Thơ",
]


@dataclass(frozen=True)
class Person:
    """One invented citizen: the CCCD payload on their card and the given name the screen shows."""

    payload: str
    given_name: str


def parse_args(argv=None) -> argparse.Namespace:
    """Return the command-line options."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=220, help="measured check-ins (default: %(default)s)")
    ap.add_argument("--warmup", type=int, default=5, help="check-ins before measuring (default: %(default)s)")
    ap.add_argument("--seed", type=int, default=SEED, help="seed for the invented people and frames")
    ap.add_argument("--all-in-one", action="store_true", help="also measure the latency of the one-process `kiosk run` layout")
    ap.add_argument("--json-only", action="store_true", help="no progress or summary on stderr")
    return ap.parse_args(argv)


def invent_people(count: int, rng: random.Random) -> list[Person]:
    """Return ``count`` people with distinct 12-digit ids whose digits agree with birth year and sex."""
    people, ids = [], set()
    while len(people) < count:
        person = invent_person(rng)
        id_number = person.payload[:12]
        if id_number not in ids:
            ids.add(id_number)
            people.append(person)
    return people


def invent_person(rng: random.Random) -> Person:
    """Return one person; cards issued from July 2024 carry the four extra (empty) fields."""
    sex = rng.choice(["Nam", "Nữ"])
    birth = date(rng.randint(1940, 2007), rng.randint(1, 12), rng.randint(1, 28))
    century_sex = 2 * (birth.year // 100 - 19) + (sex == "Nữ")
    id_number = f"{rng.choice(PROVINCES)}{century_sex}{birth.year % 100:02d}{rng.randrange(10**6):06d}"
    old_id = f"{rng.randrange(10**9):09d}" if rng.random() < 0.5 else ""
    given = rng.choice(GIVEN[sex])
    name = f"{rng.choice(SURNAMES)} {rng.choice(MIDDLE[sex])} {given}"
    first_issue = max(date(birth.year + 14, birth.month, birth.day), date(2016, 1, 1))
    issue = first_issue + timedelta(days=rng.randrange(max(1, (date(2025, 6, 30) - first_issue).days)))
    fields = [id_number, old_id, name, ddmmyyyy(birth), sex, rng.choice(ADDRESSES), ddmmyyyy(issue)]
    if issue >= date(2024, 7, 1):
        fields += [""] * 4
    return Person(unicodedata.normalize("NFC", "|".join(fields)), given)


def ddmmyyyy(day: date) -> str:
    return f"{day.day:02d}{day.month:02d}{day.year:04d}"


def camera_frames(people: list[Person], seed: int, decoder) -> list[np.ndarray]:
    """Return one camera-like 640x480 frame per person (as kiosk/demo/generate.py draws them), each checked to decode."""
    rng, nrng = random.Random(seed), np.random.default_rng(seed)
    frames = []
    for person in people:
        for _ in range(10):
            gray = np.asarray(render(person.payload, rng, nrng))
            if any(code.text == person.payload for code in decoder.decode(gray)):
                break
        else:
            raise RuntimeError("could not draw a readable frame in 10 tries")
        frames.append(gray)
    return frames


class HandSource:
    """A FrameSource fed by hand: read() blocks until hand() gives it a frame and notes when it returned it."""

    name = "bench"

    def __init__(self):
        self.frames: queue.Queue = queue.Queue(maxsize=1)
        self.handed: dict[int, float] = {}
        self.waiting = threading.Event()
        self.seq = 0

    def hand(self, gray: np.ndarray) -> int:
        """Queue ``gray`` for the scanner (blocks while one frame is already waiting); return its sequence number."""
        self.seq += 1
        self.frames.put((self.seq, gray))
        return self.seq

    def finish(self) -> None:
        self.frames.put(None)

    def idle(self) -> bool:
        """True when the scanner is blocked in read() with nothing queued."""
        return self.waiting.is_set() and self.frames.empty()

    def read(self) -> Frame | None:
        self.waiting.set()
        item = self.frames.get()
        self.waiting.clear()
        if item is None:
            return None
        seq, gray = item
        self.handed[seq] = time.perf_counter()
        return Frame(gray, seq, time.monotonic())

    def close(self) -> None:
        pass


class Camera:
    """Shows frames to a HandSource at the camera's frame rate."""

    def __init__(self, source: HandSource, fps: float):
        self.source, self.interval, self.due = source, 1.0 / fps, time.perf_counter()

    def show(self, gray: np.ndarray) -> int:
        """Hand ``gray`` over at the next frame slot; return its sequence number."""
        pause = self.due - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
        seq = self.source.hand(gray)
        self.due = max(self.due + self.interval, time.perf_counter())
        return seq

    def until_next(self) -> float:
        return max(0.0, self.due - time.perf_counter())


class Marks:
    """Wraps a ScanPart's scanner and announcer to note when each code reaches the desk and leaves for the screen."""

    def __init__(self, part):
        self.dispatched: dict[str, float] = {}
        self.announced: dict[str, float] = {}
        self.current = ""
        handle, announce = part.scanner.handle, part.announce

        def timed_handle(code):
            self.current = code.text
            self.dispatched[code.text] = time.perf_counter()
            return handle(code)

        def timed_announce(message):
            self.announced[self.current] = time.perf_counter()
            announce(message)

        part.scanner.handle, part.announce = timed_handle, timed_announce


class EventStream:
    """Follows GET /events with http.client in a thread; queues (arrival perf_counter, outcome) per scan message."""

    def __init__(self, url: str):
        host, port = re.match(r"http://([^:/]+):(\d+)", url).groups()
        self.conn = http.client.HTTPConnection(host, int(port), timeout=60)
        self.conn.request("GET", "/events", headers={"Accept": "text/event-stream"})
        self.response = self.conn.getresponse()
        self.outcomes: queue.Queue = queue.Queue()
        threading.Thread(target=self.run, name="sse", daemon=True).start()

    def run(self) -> None:
        try:
            while line := self.response.readline():
                arrived = time.perf_counter()
                if line.startswith(b"data: "):
                    message = json.loads(line[6:])
                    if message.get("type") == "scan":
                        self.outcomes.put((arrived, message["outcome"]))
        except (OSError, ValueError, http.client.HTTPException):
            pass  # closed by close()

    def close(self) -> None:
        self.conn.close()


class Child:
    """A real `kiosk` subprocess; waits for its ready line, keeps the tail of its log, stops with SIGTERM."""

    def __init__(self, args: list[str], ready: str, timeout: float = 60.0):
        env = {k: v for k, v in os.environ.items() if not k.startswith("KIOSK_") and k != "CREDENTIALS_DIRECTORY"}
        script = Path(sys.executable).with_name("kiosk")
        command = [str(script)] if script.exists() else [sys.executable, "-m", "kiosk"]
        self.proc = subprocess.Popen([*command, *args], cwd=REPO, env={**env, "PYTHONUNBUFFERED": "1"},
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.log: deque[str] = deque(maxlen=30)
        self.lines: queue.Queue = queue.Queue()
        threading.Thread(target=self.drain, args=(self.proc.stderr, self.log.append), daemon=True).start()
        threading.Thread(target=self.drain, args=(self.proc.stdout, self.lines.put), daemon=True).start()
        self.line = self.wait_for(ready, timeout)

    @staticmethod
    def drain(pipe, put) -> None:
        for line in pipe:
            put(line)

    def wait_for(self, ready: str, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.proc.poll() is None:
            try:
                line = self.lines.get(timeout=0.2)
            except queue.Empty:
                continue
            if ready in line:
                return line.strip()
        self.stop()
        raise RuntimeError(f"`kiosk {' '.join(self.proc.args[-6:])}` did not start:\n" + "".join(self.log))

    @property
    def url(self) -> str:
        return re.search(r"http://[\d.]+:\d+", self.line).group(0)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def write_config(folder: Path, name: str) -> Path:
    """Write a TOML config with the database in ``folder`` and mock pins; return its path."""
    path = folder / f"{name}.toml"
    path.write_text(f'[kiosk]\nid = "bench"\ndb = {json.dumps(str(folder / (name + ".db")))}\n'
                    f'[camera]\nsource = {json.dumps("replay:" + str(folder / "no-camera"))}\n'
                    '[feedback]\npin_factory = "mock"\n', encoding="utf-8")
    return path


def check_ins(camera: Camera, events: EventStream, marks: Marks, people, frames, decoder, say) -> list[dict]:
    """Check every person in, one after the other; return each check-in's timings in seconds (or lost)."""
    idle = [np.asarray(render(None, random.Random(i), np.random.default_rng(i))) for i in range(IDLE_FRAMES)]
    records = []
    for index, (person, gray) in enumerate(zip(people, frames)):
        seq = camera.show(gray)
        arrival = await_outcome(camera, events, person, gray)
        camera.show(idle[index % IDLE_FRAMES])
        records.append(timings(camera.source.handed[seq], arrival, marks, person, baseline(camera.source, decoder, gray)))
        if (index + 1) % 50 == 0:
            say(f"  {index + 1}/{len(people)} check-ins")
    return records


def await_outcome(camera: Camera, events: EventStream, person: Person, gray) -> float | None:
    """Keep showing the card until its outcome arrives (and at least HOLD_FRAMES frames); return the arrival time."""
    shown, arrival, deadline = 1, None, time.perf_counter() + OUTCOME_TIMEOUT_S
    while arrival is None and time.perf_counter() < deadline:
        try:
            at, outcome = events.outcomes.get(timeout=camera.until_next())
            if outcome.get("given_name") == person.given_name and outcome.get("accepted"):
                arrival = at
        except queue.Empty:
            camera.show(gray)
            shown += 1
    for _ in range(shown, HOLD_FRAMES):
        camera.show(gray)
    return arrival


def baseline(source: HandSource, decoder, gray) -> float:
    """Time the bare decoder on the same frame, once the scanner is idle (so the two do not share the CPU)."""
    deadline = time.perf_counter() + 1.0
    while not source.idle() and time.perf_counter() < deadline:
        time.sleep(0.001)
    started = time.perf_counter()
    decoder.decode(gray)
    return time.perf_counter() - started


def timings(handed: float, arrival: float | None, marks: Marks, person: Person, decode_s: float) -> dict:
    """Return one check-in's stages: handed -> desk (decode) -> sent (check-in) -> on /events (relay)."""
    if arrival is None:
        return {"lost": True, "baseline": decode_s}
    dispatched, announced = marks.dispatched.get(person.payload, arrival), marks.announced.get(person.payload, arrival)
    return {"lost": False, "latency": arrival - handed, "decode": dispatched - handed,
            "check_in": announced - dispatched, "relay": arrival - announced, "baseline": decode_s}


class TwoProcess:
    """Production layout: a real `kiosk web` subprocess, and `kiosk scan`'s ScanService in this process on a HandSource."""

    name = "kiosk scan + kiosk web"

    def __init__(self, folder: Path):
        self.config_path = write_config(folder, "kiosk")
        config = configuration.load(self.config_path, environ={})
        self.web = Child(["--config", str(self.config_path), "web", "--port", "0"], "screen at http://")
        self.url, self.fps, self.source = self.web.url, config.camera.fps, HandSource()
        try:
            self.service = ScanService(config)
        except BaseException:
            self.web.stop()
            raise
        self.service.part.scanner.open_camera = lambda: self.source  # the Scanner holds the factory, not the part
        self.marks = Marks(self.service.part)
        self.service.start()

    def close_scanner(self) -> None:
        self.source.finish()
        self.service.stop()

    def close(self) -> None:
        self.web.stop()


class AllInOne:
    """Development layout (`kiosk run`): scanner and screens in one process, here this one."""

    name = "kiosk run"

    def __init__(self, folder: Path):
        config = configuration.load(write_config(folder, "run"), environ={}).replace("web", port=0)
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # its request log would land on our stderr
        self.source = HandSource()
        self.kiosk = Kiosk(config)
        self.kiosk.scan.scanner.open_camera = lambda: self.source
        self.marks = Marks(self.kiosk.scan)
        self.fps = config.camera.fps
        self.url = self.kiosk.web.url
        self.kiosk.web.start()
        self.kiosk.scan.start()
        threading.Thread(target=self.kiosk.web.server.serve_forever, name="web", daemon=True).start()

    def close_scanner(self) -> None:
        self.source.finish()
        self.kiosk.scan.stop()

    def close(self) -> None:
        self.kiosk.web.server.shutdown()
        self.kiosk.web.stop()


def measure_latency(layout, people, frames, decoder, warmup: int, say) -> dict:
    """Check everyone in through ``layout``; return the latency figures of all but the first ``warmup``."""
    events = EventStream(layout.url)
    try:
        records = check_ins(Camera(layout.source, layout.fps), events, layout.marks, people, frames, decoder, say)
    finally:
        events.close()
        layout.close_scanner()
    return latency_figures(records[warmup:])


def latency_figures(records: list[dict]) -> dict:
    """Return percentiles of each stage, the bare decoder's, and the pipeline's overhead over it."""
    done = [r for r in records if not r["lost"]]
    figures = {"n": len(records), "lost": len(records) - len(done),
               "latency_ms": percentiles([r["latency"] for r in done])}
    figures["stages_ms"] = {stage: percentiles([r[stage] for r in done]) for stage in ("decode", "check_in", "relay")}
    figures["decoder_baseline_ms"] = percentiles([r["baseline"] for r in records])
    lat, base = figures["latency_ms"], figures["decoder_baseline_ms"]
    figures["overhead"] = {"p50_ratio": round(lat["p50"] / base["p50"], 2), "p95_ratio": round(lat["p95"] / base["p95"], 2),
                           "p50_added_ms": round(lat["p50"] - base["p50"], 2)}
    return figures


def percentiles(seconds: list[float]) -> dict:
    """Return p50, p95, p99, max and mean in milliseconds (nearest rank below, as bench/decode.py)."""
    ms = sorted(s * 1000 for s in seconds) or [float("nan")]
    at = {f"p{q}": ms[int(q / 100 * (len(ms) - 1))] for q in (50, 95, 99)}
    return {key: round(value, 2) for key, value in {**at, "max": ms[-1], "mean": statistics.fmean(ms)}.items()}


def memory(pid: int) -> dict:
    """Return a process's resident (VmRSS) and proportional (Pss) memory in MB (10^6 bytes)."""
    rss = proc_kib(Path(f"/proc/{pid}/status"), "VmRSS")
    pss = proc_kib(Path(f"/proc/{pid}/smaps_rollup"), "Pss")
    return {"rss_mb": round(rss * 1024 / MB, 1), "pss_mb": round(pss * 1024 / MB, 1)}


def proc_kib(path: Path, key: str) -> int:
    """Return the ``key: N kB`` figure of a /proc file."""
    return int(re.search(rf"^{key}:\s+(\d+) kB", path.read_text(), re.M).group(1))


def warmed_memory(children: dict[str, Child], url: str, outcomes: int) -> dict:
    """Return each child's memory and the total, the largest of 5 samples, taken with a screen on /events.

    Sampled once the citizen page was served, ``outcomes`` scan outcomes arrived and SETTLE_S passed.
    """
    events = EventStream(url)
    try:
        urllib.request.urlopen(url + "/", timeout=10).read()  # the display loads the citizen page
        seen = wait_outcomes(events, outcomes, timeout=20.0)
        time.sleep(SETTLE_S)
        samples = {name: [] for name in children}
        for _ in range(5):
            for name, child in children.items():
                samples[name].append(memory(child.proc.pid))
            time.sleep(0.2)
    finally:
        events.close()
    per = {name: max(s, key=lambda m: m["rss_mb"]) for name, s in samples.items()}
    total = {key: round(sum(m[key] for m in per.values()), 1) for key in ("rss_mb", "pss_mb")}
    return {**per, "total": total, "outcomes_seen": seen}


def wait_outcomes(events: EventStream, count: int, timeout: float) -> int:
    """Wait for ``count`` scan outcomes on ``events``; return how many came before the timeout."""
    deadline = time.perf_counter() + timeout
    for seen in range(count):
        try:
            events.outcomes.get(timeout=max(0.0, deadline - time.perf_counter()))
        except queue.Empty:
            return seen
    return count


def production_memory(layout: TwoProcess) -> dict:
    """Memory of the running `kiosk web` and of a real `kiosk scan` on the demo replay frames, both warmed."""
    scan = Child(["--config", str(layout.config_path), "scan", "--camera", f"replay:{FRAMES}"], "scanner running")
    try:
        return warmed_memory({"kiosk_web": layout.web, "kiosk_scan": scan}, layout.url, outcomes=5)
    finally:
        scan.stop()


def all_in_one_memory(folder: Path) -> dict:
    """Memory of a real `kiosk run` on the demo replay frames, warmed."""
    path = write_config(folder, "run-memory")
    run = Child(["--config", str(path), "run", "--camera", f"replay:{FRAMES}", "--port", "0"], "screen at http://")
    try:
        return warmed_memory({"kiosk_run": run}, run.url, outcomes=5)
    finally:
        run.stop()


def environment(args) -> dict:
    """Return what the figures depend on: options, versions, machine."""
    from importlib.metadata import version

    cpu = re.search(r"^model name\s*:\s*(.+)$", Path("/proc/cpuinfo").read_text(), re.M)
    return {"n": args.n, "warmup": args.warmup, "seed": args.seed, "python": platform.python_version(),
            "machine": platform.machine(), "cpus": os.cpu_count(), "cpu_model": cpu.group(1) if cpu else None,
            "kernel": platform.release(), "zxing_cpp": version("zxing-cpp"), "werkzeug": version("werkzeug")}


def targets(two: dict, mem: dict) -> dict:
    """Return the figures against the issue's targets: p95 latency and total memory of the production processes."""
    p95, rss, pss = two["latency_ms"]["p95"], mem["total"]["rss_mb"], mem["total"]["pss_mb"]
    checks = {
        "latency_p95_ms<=150": check(p95, LATENCY_P95_TARGET_MS, two["lost"] == 0),
        "memory_rss_total_mb<=150": check(rss, MEMORY_TARGET_MB),
        "memory_pss_total_mb<=150": check(pss, MEMORY_TARGET_MB),
    }
    return {"passed": all(c["passed"] for c in checks.values()), "checks": checks}


def check(value: float, limit: float, also: bool = True) -> dict:
    return {"value": value, "target": limit, "passed": value <= limit and also}


def run(args, folder: Path, say) -> dict:
    """Measure the production layout's latency and memory, and the all-in-one layout's; return the report."""
    rng = random.Random(args.seed)
    count = args.warmup + args.n
    decoder = make_decoder("robust", budget_ms=configuration.Config().scanner.budget_ms)
    say(f"drawing {count} camera frames ...")
    people = invent_people(2 * count if args.all_in_one else count, rng)
    frames = camera_frames(people, args.seed, decoder)
    report = {"environment": environment(args)}
    layout = TwoProcess(folder)
    try:
        say(f"{layout.name}: {count} check-ins ...")
        report["two_process"] = measure_latency(layout, people[:count], frames[:count], decoder, args.warmup, say)
        say("memory of kiosk web + kiosk scan ...")
        report["memory_mb"] = production_memory(layout)
    finally:
        layout.close()
    say("memory of kiosk run ...")
    report["all_in_one"] = {"memory_mb": all_in_one_memory(folder)}
    if args.all_in_one:
        say(f"kiosk run (in this process): {count} check-ins ...")
        one = AllInOne(folder)
        try:
            report["all_in_one"].update(measure_latency(one, people[count:], frames[count:], decoder, args.warmup, say))
        finally:
            one.close()
    report["targets"] = targets(report["two_process"], report["memory_mb"])
    return report


def summary(report: dict) -> str:
    two, mem = report["two_process"], report["memory_mb"]
    lines = [f"latency p50 {two['latency_ms']['p50']} ms, p95 {two['latency_ms']['p95']} ms (decoder alone p50 "
             f"{two['decoder_baseline_ms']['p50']} ms), lost {two['lost']}",
             f"memory rss {mem['total']['rss_mb']} MB, pss {mem['total']['pss_mb']} MB (web + scan)"]
    lines += [f"{name}: {'pass' if c['passed'] else 'FAIL'} ({c['value']})" for name, c in report["targets"]["checks"].items()]
    return "\n".join(lines)


def main(argv=None) -> int:
    """Run the benchmark and print its JSON report; exit 0 whether or not the targets are met."""
    args = parse_args(argv)
    say = (lambda message: None) if args.json_only else (lambda message: print(message, file=sys.stderr, flush=True))
    cache = REPO / "bench" / ".cache"
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="latency-", dir=cache) as folder:  # on disk, not tmpfs: fsync counts
        report = run(args, Path(folder), say)
    json.dump(report, sys.stdout, indent=1, ensure_ascii=False)
    print()
    say(summary(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())

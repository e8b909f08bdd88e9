"""Coverage-guided fuzzing (atheris, libFuzzer) of the hub's classify-and-commit path: what the merge worker runs.

Each input becomes one batch of MQTT messages: three valid events of kiosk ka
around one or more messages made from the input, on kb's topics (or on wrong
ones). They go through hub.ingest.Ingest.receive and Ingest.flush on a real
SQLite store in /dev/shm, exactly as hub/worker.py runs them. A finding is any
exception out of that path, a flush that fails on a healthy database, a valid
event not merged, or a message quarantined as ``unmergeable`` (a failure the
checks at parse time let through). How to run it: fuzz/README.md.

    .venv/bin/python -m pip install atheris
    .venv/bin/python fuzz/hub_ingest.py -max_total_time=900 -max_len=70000 fuzz/corpus
    .venv/bin/python fuzz/hub_ingest.py --save crash-<sha1> tests/fuzz_crashes/<name>.json   # keep a finding
"""

from __future__ import annotations

import json
import logging
import sys
import tempfile
from pathlib import Path

import atheris

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import wire  # noqa: E402
from hub.ingest import Ingest  # noqa: E402
from hub.store.sqlite import open_store  # noqa: E402
from tests.hub_messages import BAD_KIOSK, GOOD_KIOSK, STRANGER, mutate, seeds  # noqa: E402
from tests.keys import enroll, signer  # noqa: E402

RESET_EVERY = 2000
"""A fresh database after this many inputs: quarantined bodies (up to 64 KiB each) must not fill /dev/shm."""
TOPICS = [wire.topic(BAD_KIOSK, wire.EVENT), wire.topic(BAD_KIOSK, wire.STATUS), wire.topic(BAD_KIOSK, wire.ACK),
          wire.topic(STRANGER, wire.EVENT), f"vax/k/{BAD_KIOSK.upper()}/event", "vax/k/kb", ""]


class Provided:
    """tests/hub_messages.py's Chooser on libFuzzer's bytes."""

    def __init__(self, provider: atheris.FuzzedDataProvider):
        self.provider = provider

    def pick(self, options):
        return self.provider.PickValueInList(list(options))

    def number(self, low: int, high: int) -> int:
        return self.provider.ConsumeIntInRange(low, high)


def messages_of(data: bytes) -> list[tuple[str, bytes]]:
    """The messages one input stands for (besides the valid events): raw bodies, or spoiled seeds."""
    provider = atheris.FuzzedDataProvider(data)
    mode = provider.ConsumeIntInRange(0, 3)
    if mode == 0:  # the rest of the input is one body: libFuzzer's own mutations of the seed events
        topic = provider.PickValueInList(TOPICS[:2])
        return [(topic, provider.ConsumeBytes(provider.remaining_bytes()))]
    if mode == 1:  # several bodies on any topics
        count = provider.ConsumeIntInRange(1, 4)
        return [(provider.PickValueInList(TOPICS), provider.ConsumeBytes(provider.ConsumeIntInRange(0, 70000)))
                for _ in range(count)]
    chooser = Provided(provider)
    return [mutate(chooser) for _ in range(provider.ConsumeIntInRange(1, 3))]


class Target:
    """One store, reset now and then; valid events of ka numbered on from input to input."""

    def __init__(self):
        self.folder = tempfile.TemporaryDirectory(prefix="hub-fuzz-", dir="/dev/shm" if Path("/dev/shm").is_dir() else None)
        self.store = None
        self.runs = 0
        self.reset()

    def reset(self) -> None:
        if self.store is not None:
            self.store.close()
        path = Path(self.folder.name) / "hub.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        self.store = open_store(path)
        for kiosk in (GOOD_KIOSK, BAD_KIOSK):
            enroll(self.store, kiosk)
        self.seq = 0

    def valid(self) -> tuple[str, bytes]:
        self.seq += 1
        body = wire.envelope(GOOD_KIOSK, self.seq, "LotOpened", boot="boot-1", at="2026-03-02T08:00:00+07:00",
                             clock_synced=True, payload={"lot": {"product": "comirnaty_30", "lot_number": f"L{self.seq}"}})
        return wire.topic(GOOD_KIOSK, wire.EVENT), signer(GOOD_KIOSK).sign(body)

    def run(self, messages: list[tuple[str, bytes]]) -> None:
        self.runs += 1
        if self.runs % RESET_EVERY == 0:
            self.reset()
        first = self.seq + 1
        batch = [self.valid(), *messages[:1], self.valid(), *messages[1:], self.valid()]
        ingest = Ingest(self.store)
        for topic, body in batch:
            ingest.receive(topic, body)
        if ingest.flush() is None:
            raise AssertionError(f"a flush failed on a healthy database: {ingest.last_error}")
        held = {seq for (seq,) in self.store.conn.execute(
            "SELECT seq FROM events WHERE kiosk = ? AND seq >= ?", (GOOD_KIOSK, first))}
        if held != set(range(first, self.seq + 1)):
            raise AssertionError(f"valid events not merged: {sorted(set(range(first, self.seq + 1)) - held)}")
        unmergeable = self.store.conn.execute("SELECT detail FROM quarantine WHERE reason = 'unmergeable'").fetchall()
        if unmergeable:
            raise AssertionError(f"quarantined as unmergeable: {unmergeable}")


TARGET: Target | None = None


def test_one_input(data: bytes) -> None:
    TARGET.run(messages_of(data))


def write_seeds(corpus: Path) -> None:
    """Seed an empty corpus with every valid message shape, as mode 0 inputs (and a spoiled one of mode 2)."""
    corpus.mkdir(parents=True, exist_ok=True)
    if any(corpus.iterdir()):
        return
    for number, (kind, message) in enumerate(seeds()):
        topic_choice = 0 if kind == wire.EVENT else 1
        (corpus / f"seed-{number}").write_bytes(bytes([0, topic_choice]) + json.dumps(message, ensure_ascii=False).encode())
    (corpus / "seed-spoiled").write_bytes(bytes([2]) + bytes(range(64)))


def save(crash: Path, out: Path) -> None:
    """Write a crashing input's messages as tests/test_hub_ingest.py reads them: [[topic, body as latin-1], ...]."""
    messages = messages_of(crash.read_bytes())
    out.write_text(json.dumps([[topic, body.decode("latin-1")] for topic, body in messages]) + "\n")
    print(f"wrote {len(messages)} message(s) of {crash} to {out}")


def main(argv: list[str]) -> None:
    global TARGET
    if len(argv) == 4 and argv[1] == "--save":
        save(Path(argv[2]), Path(argv[3]))
        return
    for arg in argv[1:]:
        if not arg.startswith("-") and not Path(arg).is_file():
            write_seeds(Path(arg))
    sys.setrecursionlimit(1000)  # as in hub run: deep JSON must meet the interpreter's usual limit
    logging.disable(logging.CRITICAL)  # a quarantine's warning per input; findings raise instead
    TARGET = Target()
    wire.event_validator(), wire.status_validator()  # fastjsonschema writes their code at run time: compile first,
    atheris.instrument_all()  # then instrument every function loaded, theirs, wire's, the hub's, json's and sqlite3's
    atheris.Setup(argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main(sys.argv)

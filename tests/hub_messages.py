"""Valid kiosk messages and the ways to spoil them, for the hub's property test and its coverage-guided fuzzer.

``mutate`` takes one valid event or status and makes it wrong in one way (or
a few): a number huge, negative, fractional, NaN or infinite; a string huge,
not UTF-8 or a lone surrogate; a value of another type; nesting thousands
deep; a field added or taken away; the bytes cut, doubled or prefixed. Some
of these cannot be written by Python's json (an integer of 5000 digits), so
the message is written with a placeholder and the raw token put in its place.

Most spoiled messages are then signed with the kiosk's own key, as a kiosk
with a bug (or a stolen key) would send them, so that they pass the signature
check and reach every later one (and settle as refused); the rest go unsigned,
or with a signature the spoiling broke.

The choices come from a ``Chooser``: hypothesis's draws in tests/test_hub_ingest.py,
atheris's FuzzedDataProvider in fuzz/hub_ingest.py.
"""

from __future__ import annotations

import json
from typing import Any, Protocol, Sequence

import wire
from wire import signature

from .hub_helpers import LAN_ID, STAFF, called, check_in, dose, event, void
from .keys import signer

GOOD_KIOSK, BAD_KIOSK, STRANGER = "ka", "kb", "kz"
"""Valid events come from ka; spoiled messages go to kb's topics (both enrolled); kz is not enrolled."""
PLACEHOLDER = "\u0000spoiled\u0000"


class Chooser(Protocol):
    def pick(self, options: Sequence[Any]) -> Any: ...

    def number(self, low: int, high: int) -> int: ...


def seeds(kiosk: str = BAD_KIOSK) -> list[tuple[str, dict[str, Any]]]:
    """(kind, message) of one valid message of every shape a kiosk sends: each payload definition and a status."""
    lot = {"lot": {"product": "comirnaty_30", "lot_number": "FK1234", "expiry": "2027-01-31"}, "by": STAFF}
    aefi = {"ticket": {"day": "2024-05-01", "number": 4}, "id_number": LAN_ID, "by": STAFF,
            "aefi": {"severity": "severe", "symptoms": "Khó thở", "dose_event": f"{kiosk}:2"}}
    events = [check_in(kiosk, 1), dose(kiosk, 2), void(kiosk, 3, 2), called(kiosk, 5),
              event(kiosk, 4, "AefiRecorded", aefi), event(kiosk, 6, "LotOpened", lot),
              event(kiosk, 7, "PersonDeferred", {"ticket": {"day": "2024-05-01", "number": 7}, "id_number": LAN_ID,
                                                 "reason": "Sốt", "return_on": "2024-05-08", "by": STAFF})]
    status = wire.kiosk_status(kiosk, "online", boot="boot-1", version="0.1.0", at="2024-05-01T08:00:00+07:00",
                               clock_synced=True, outbox=3, unpublished=1, camera_fps=9.5)
    return [(wire.EVENT, json.loads(signature.unsigned(e.body.encode()))) for e in events] + [(wire.STATUS, json.loads(status))]


HUGE_DIGITS = (19, 20, 309, 4300, 4301, 5000, 60000)
TOKENS: tuple[bytes, ...] = (
    b"null", b"true", b"false", b"0", b"-1", b"1.5", b"3.0", b"-0", b"1e400", b"-1e400", b"1e-400",
    b"NaN", b"Infinity", b"-Infinity", b"9223372036854775808", b"-9223372036854775809", b"1E+2",
    b'""', b'" "', b'"x"', b'"\\u0000"', b'"\\ud800"', b'"\\udc00x"', b'"\\ud83d\\ude00"', b'"\\\\ud800"',
    b'"\xff\xfe"', b'"\xc3"', b'"\xed\xa0\x80"', b'"a\\nb"', b'"2024-13-45"', b'"2024-05-01T08:00:00Z\\n"',
    b'"001190012345\\n"', b"[]", b"{}", b"[1,2]", b'{"a":1}', b'["x"]', b'{"":null}', b"[[[]]]",
)


def token(choose: Chooser) -> bytes:
    """A raw JSON token (or not quite JSON) to put where a value was."""
    kind = choose.number(0, 5)
    if kind == 0:
        digits = choose.pick(HUGE_DIGITS)
        return choose.pick((b"", b"-")) + b"9" * digits
    if kind == 1:
        return b'"' + choose.pick((b"x", "ễ".encode(), b"\\u00e9", b"|")) * choose.number(0, 70000) + b'"'
    if kind == 2:
        depth = choose.pick((2, 31, 32, 33, 100, 999, 1000, 5000, 30000))
        opening, closing = choose.pick(((b"[", b"]"), (b'{"a":', b"}")))
        return opening * depth + b"1" + closing * depth
    return choose.pick(TOKENS)


def paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    """Every path to a value inside value (keys and list indexes), the root's children first."""
    found = []
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, child in items:
        found.append((*prefix, key))
        found.extend(paths(child, (*prefix, key)))
    return found


def at(message: Any, path: tuple) -> tuple[Any, Any]:
    """(container, key) of the value at path."""
    for key in path[:-1]:
        message = message[key]
    return message, path[-1]


def spoil_value(message: dict[str, Any], choose: Chooser) -> bytes:
    """The message with one value, one field added or one field taken away, written as bytes."""
    message = json.loads(json.dumps(message))
    if not paths(message):
        message["v"] = 1
    where = choose.pick(paths(message))
    container, key = at(message, where)
    action = choose.number(0, 3)
    if action == 0 and isinstance(container, dict):
        del container[key]
        return dumps(message)
    if action == 1 and isinstance(container, dict):
        container[choose.pick(("extra", "", "seq", "v", "kiosk", "ý", "\u0000"))] = PLACEHOLDER
    else:
        container[key] = PLACEHOLDER
    return dumps(message).replace(json.dumps(PLACEHOLDER).encode(), token(choose), 1)


def dumps(message: Any) -> bytes:
    """message as the bytes of JSON text; a lone surrogate (read from a spoiled message) as the bytes it stands for."""
    return json.dumps(message, ensure_ascii=False).encode("utf-8", "surrogatepass")


def spoil_bytes(body: bytes, choose: Chooser) -> bytes:
    """The body's bytes spoiled as a whole."""
    kind = choose.number(0, 7)
    if kind == 0:
        return body[: choose.number(0, len(body))]
    if kind == 1:
        return body + body
    if kind == 2:
        return "\ufeff".encode() + body
    if kind == 3:
        cut = choose.number(0, len(body))
        return body[:cut] + choose.pick((b"\xff", b"\x00", b"\xc3", b"\\", b'"', b"}", b"\xe2\x80\xa8")) + body[cut:]
    if kind == 4:
        return body.replace(b"{", b'{"seq":1,', 1)  # a duplicate key
    if kind == 5:
        return body.decode("utf-8", "replace").encode("utf-16")
    if kind == 6:
        return b" " * choose.number(0, wire.MAX_MESSAGE_BYTES) + body
    return choose.pick((b"", b"null", b"[]", b'"x"', b"1", b"{}", b"\x00" * 16))


TOPICS = ("own", "own", "own", "own", "other_kind", "ack", "stranger", "bad")


def mutate(choose: Chooser) -> tuple[str, bytes]:
    """(topic, body) of one spoiled message on one of kb's topics (or a topic that is wrong itself)."""
    kind, message = choose.pick(seeds())
    body = dumps(message)
    for _ in range(choose.number(1, 3)):
        body = spoil_value(json.loads(body), choose) if valid_json(body) and choose.number(0, 3) else spoil_bytes(body, choose)
    how = choose.number(0, 3)  # mostly signed by kb itself; else unsigned, or signed and then cut
    if kind == wire.EVENT and how and body.endswith(b"}"):
        body = signer(BAD_KIOSK).sign(body)
        if how == 1:
            body = body[:-choose.number(1, 40)] + b"}"
    return topic_for(kind, choose.pick(TOPICS)), body


def topic_for(kind: str, which: str) -> str:
    other = wire.STATUS if kind == wire.EVENT else wire.EVENT
    return {"own": wire.topic(BAD_KIOSK, kind), "other_kind": wire.topic(BAD_KIOSK, other),
            "ack": wire.topic(BAD_KIOSK, wire.ACK), "stranger": wire.topic(STRANGER, kind),
            "bad": f"vax/k/{BAD_KIOSK.upper()}/{kind}"}[which]


def valid_json(body: bytes) -> bool:
    try:
        return isinstance(json.loads(body), dict)
    except (ValueError, RecursionError):
        return False


def good_events(count: int) -> list[tuple[str, bytes]]:
    """(topic, body) of ka's events 1..count: check-ins and doses of one person, and calls, all valid."""
    makers = (check_in, dose, called)
    return [(wire.topic(GOOD_KIOSK, wire.EVENT), makers[(seq - 1) % 3](GOOD_KIOSK, seq).body.encode())
            for seq in range(1, count + 1)]

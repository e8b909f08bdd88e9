"""The wire contract between kiosks and the district hub: topics, messages and their schema.

Kiosk and hub both import this module and `event.schema.json` beside it; nothing
else in either package spells a topic or builds a message by hand. The
reference for operators and data staff is docs/wire.md, checked against this
module by a test.

Topics carry the kiosk id as their third level, so a Mosquitto pattern ACL
(``pattern write vax/k/%u/event``) confines a kiosk to its own topics:

- ``vax/k/<kiosk>/event``: kiosk to hub, QoS 1, not retained. The only topic
  whose messages carry personal data.
- ``vax/k/<kiosk>/status``: kiosk to hub, QoS 1, retained, also the Last Will.
- ``vax/k/<kiosk>/ack``: hub to kiosk, QoS 1, retained: the watermark.
- ``vax/hub/status``: the hub's own status, retained, with a Last Will.

At a province (issue 15), each district broker bridges its kiosks' topics to the
province broker under the district's prefix: ``vax/d/<district>/k/<kiosk>/...``
(`district_topic`; `parse_district_topic` reads both forms).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

import fastjsonschema

from . import limits, signature

VERSION = 1
ROOT = "vax"
MAX_MESSAGE_BYTES = limits.MESSAGE_BYTES_MAX
"""A message larger than this is quarantined unread; a real event is under 2 KiB."""

MAX_GAPS = 32
"""The most gap ranges one acknowledgement lists; the rest follow once these are filled."""

MAX_LISTED = 32
"""The most refused or disputed events one acknowledgement lists (the newest); it also gives their counts."""

KIOSK_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")

EVENT, STATUS, ACK = "event", "status", "ack"
KIOSK_KINDS = (EVENT, STATUS, ACK)
HUB_STATUS_TOPIC = f"{ROOT}/hub/status"
BRIDGE_STATE_TOPIC = f"{ROOT}/hub/bridge"
"""On a district broker bridged to its province: Mosquitto's retained notification of the bridge, ``1`` connected,
``0`` not (hub/bridge.py). A district hub whose kiosks hear the province (``province.acks = "province"``) says it is
online only while it is ``1``."""
EVENT_FILTER = f"{ROOT}/k/+/{EVENT}"
STATUS_FILTER = f"{ROOT}/k/+/{STATUS}"

KIOSK_STATES = ("online", "offline", "stopped")
HUB_STATES = ("online", "offline", "stopped")


class Rejected(ValueError):
    """A message the hub will not merge; ``reason`` is a stable code (docs/wire.md lists them)."""

    def __init__(self, reason: str, detail: str):
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


REJECTION_REASONS = {
    "too_large": f"The message is larger than {MAX_MESSAGE_BYTES} bytes.",
    "not_utf8": "The message is not UTF-8 text, or a `\\u` escape in it makes a lone surrogate (not Unicode text).",
    "not_json": (f"The message is not a JSON object the hub can read: not JSON, not an object, `NaN` or `Infinity`, "
                 f"a number of more than 4300 digits, or nested deeper than {limits.DEPTH_MAX} levels."),
    "unsupported_version": "The message's `v` is not a wire version this hub reads.",
    "unknown_type": "The event type is not one this version knows.",
    "schema": "The message breaks the event or status schema (a field missing, of the wrong type or beyond its limit); "
              "the detail names the field.",
    "topic_mismatch": "The kiosk in the topic is not the kiosk in the message, or `id` is not `<kiosk>:<seq>`.",
    "bad_topic": "The topic is not `vax/k/<kiosk>/event` (at a province: `vax/d/<district>/k/<kiosk>/event`).",
    "not_enrolled": "The kiosk is not enrolled at this hub (`hub enroll`; at a province, `hub kiosks import`).",
    "wrong_district": "The topic's district prefix is not the district the kiosk was imported for (`hub kiosks import "
                      "--district`): a bridge misconfigured, or a kiosk moved without a new import.",
    "unsigned": "The event carries no signature (`sig`), or not as its last member.",
    "unknown_key": "The event is signed with a key this hub does not know for its kiosk.",
    "revoked_key": "The event is signed with a key revoked at this hub (`hub revoke`, or replaced at `hub enroll`).",
    "bad_signature": "The signature does not verify: the event was changed, or not signed by its kiosk.",
    "replayed_changed": "An event with this id was merged before with different content.",
    "unmergeable": "The message passed every check, but merging it raised an error (a hub bug; the detail names the "
                   "error): the rest of its batch was merged without it.",
}
"""Why the hub quarantines a message; stable codes."""


def check_kiosk_id(kiosk_id: str) -> str:
    """Return kiosk_id when it can be a topic level and an MQTT username; raise ValueError otherwise."""
    if not KIOSK_ID.fullmatch(kiosk_id):
        raise ValueError(
            f"kiosk id {kiosk_id!r} must be 1 to 63 lower-case letters, digits and dashes, starting with a letter or digit"
        )
    return kiosk_id


def topic(kiosk_id: str, kind: str) -> str:
    """Return the topic of one of a kiosk's channels: event, status or ack."""
    if kind not in KIOSK_KINDS:
        raise ValueError(f"unknown topic kind {kind!r}")
    return f"{ROOT}/k/{check_kiosk_id(kiosk_id)}/{kind}"


def parse_topic(name: str) -> tuple[str, str] | None:
    """Return (kiosk id, kind) of a kiosk topic, or None when name is not one."""
    parts = name.split("/")
    if len(parts) != 4 or parts[0] != ROOT or parts[1] != "k" or parts[3] not in KIOSK_KINDS:
        return None
    if not KIOSK_ID.fullmatch(parts[2]):
        return None
    return parts[2], parts[3]


DISTRICT_LEVEL = "d"
"""The second topic level of the province broker's district prefix: ``vax/d/<district>/k/<kiosk>/<kind>``."""


def check_district(district: str) -> str:
    """Return district when it can be a topic level (the kiosk id rule); raise ValueError otherwise."""
    if not KIOSK_ID.fullmatch(district):
        raise ValueError(
            f"district {district!r} must be 1 to 63 lower-case letters, digits and dashes, starting with a letter or digit"
        )
    return district


def district_topic(district: str, kiosk_id: str, kind: str) -> str:
    """Return a kiosk's topic on the province broker: its district topic under the district's prefix."""
    return f"{ROOT}/{DISTRICT_LEVEL}/{check_district(district)}/{topic(kiosk_id, kind)[len(ROOT) + 1:]}"


def district_filters(district: str) -> tuple[str, str]:
    """The event and status filters of one district's kiosks on the province broker."""
    prefix = f"{ROOT}/{DISTRICT_LEVEL}/{check_district(district)}"
    return f"{prefix}/k/+/{EVENT}", f"{prefix}/k/+/{STATUS}"


PROVINCE_LEVEL = "p"
"""The second topic level of the province's acknowledgements on a district broker: ``vax/p/k/<kiosk>/ack``."""


def province_ack_topic(kiosk_id: str) -> str:
    """Return the topic on the district broker where the bridge brings the province's acknowledgements of a kiosk
    (kept apart from the district hub's own, ``vax/k/<kiosk>/ack``: a kiosk may wait for both)."""
    return f"{ROOT}/{PROVINCE_LEVEL}/{topic(kiosk_id, ACK)[len(ROOT) + 1:]}"


def parse_district_topic(name: str) -> tuple[str | None, str, str] | None:
    """Return (district, kiosk id, kind) of a kiosk topic, district None for the unprefixed form; None when name is
    neither a kiosk topic nor one under a district prefix."""
    parts = name.split("/")
    if len(parts) == 6 and parts[0] == ROOT and parts[1] == DISTRICT_LEVEL and KIOSK_ID.fullmatch(parts[2]):
        found = parse_topic("/".join([ROOT, *parts[3:]]))
        return (parts[2], *found) if found is not None else None
    found = parse_topic(name)
    return (None, *found) if found is not None else None


# -- the broker's address ---------------------------------------------------------------------------------------------

DEFAULT_PORTS = {"mqtt": 1883, "mqtts": 8883}


@dataclass(frozen=True)
class BrokerAddress:
    """Where the district broker listens, as kiosk and hub are told it: ``mqtt://host[:1883]`` or ``mqtts://host[:8883]``."""

    host: str
    port: int
    tls: bool

    def __str__(self) -> str:
        return f"{'mqtts' if self.tls else 'mqtt'}://{self.host}:{self.port}"


def parse_broker(url: str) -> BrokerAddress:
    """Return the broker named by ``mqtt://host[:port]`` or ``mqtts://host[:port]``; raise ValueError saying what is wrong.

    The message never repeats credentials put in the address.
    """
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise ValueError(str(exc)) from None
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        raise ValueError(f"expected mqtt://HOST:PORT or mqtts://HOST:PORT, got {url!r}")
    if parts.username or parts.password:
        raise ValueError("put the credentials in hub.username and hub.password (the hub: --username and --password), "
                         "not in the address")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError(f"an MQTT address has no path or query, got {url!r}")
    return BrokerAddress(parts.hostname, port or DEFAULT_PORTS[parts.scheme], parts.scheme == "mqtts")


# -- events -----------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Event:
    """One validated event as the hub merges it."""

    kiosk: str
    seq: int
    type: str
    boot: str
    at: str
    clock_synced: bool
    payload: dict[str, Any]
    body: str
    """The JSON text as received, signature included. A kiosk re-sends the bytes of its outbox, signed
    deterministically, so two deliveries of one event are the same text; `same_content` settles the rare case of
    one event spelled two ways (or signed with two keys)."""
    digest: bytes = b""
    """SHA-256 of the text the kiosk signed (its outbox text): what acknowledgements chain."""

    @property
    def id(self) -> str:
        return event_id(self.kiosk, self.seq)


def event_id(kiosk_id: str, seq: int) -> str:
    return f"{kiosk_id}:{seq}"


def envelope(kiosk_id: str, seq: int, event_type: str, *, boot: str, at: str, clock_synced: bool, payload: dict[str, Any]) -> str:
    """Return the JSON text of an event as the kiosk stores it in its outbox (and signs it when it publishes it)."""
    message = {
        "v": VERSION, "type": event_type, "id": event_id(kiosk_id, seq), "kiosk": kiosk_id, "seq": seq,
        "boot": boot, "at": at, "clock_synced": bool(clock_synced), "payload": payload,
    }
    return canonical(message)


def canonical(message: dict[str, Any]) -> str:
    return json.dumps(message, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def parse_event(topic_name: str, body: bytes) -> Event:
    """Return the event in a message received on topic_name; raise Rejected saying why it cannot be merged.

    Checks, in order: the topic, the size, UTF-8, JSON (`read_event`), then the
    version, the type, the schema, and that topic, ``kiosk``, ``seq`` and ``id``
    agree (`check_event`). It does not verify the signature: that needs the
    kiosk's key, which the hub looks up between the two steps.
    """
    kiosk, message, text = read_event(topic_name, body)
    return check_event(kiosk, message, text, signature.digest(signature.unsigned(body)))


def read_event(topic_name: str, body: bytes) -> tuple[str, dict[str, Any], str]:
    """The kiosk a message's topic names, its JSON object and its text; raise Rejected (bad_topic, too_large,
    not_utf8, not_json)."""
    where = parse_topic(topic_name)
    if where is None or where[1] != EVENT:
        raise Rejected("bad_topic", f"events are published on {ROOT}/k/<kiosk>/{EVENT}")
    message, text = read(body)
    return where[0], message, text


def check_event(kiosk: str, message: dict[str, Any], text: str, digest: bytes) -> Event:
    """The event in a message of this kiosk (read_event's result); raise Rejected when it breaks the contract."""
    version = message.get("v")
    if version != VERSION:
        raise Rejected("unsupported_version", f"v={shown(version, 20)}; this hub reads v={VERSION}")
    kind = message.get("type")
    if not isinstance(kind, str) or kind not in EVENT_TYPES:  # a list or an object is not hashable
        raise Rejected("unknown_type", f"type {shown(kind, 40)} is not a version-{VERSION} event")
    try:
        event_validator()(message)
    except fastjsonschema.JsonSchemaValueException as exc:
        raise Rejected("schema", schema_detail(exc)) from None
    if message["kiosk"] != kiosk or message["id"] != event_id(kiosk, message["seq"]):
        raise Rejected("topic_mismatch", f"topic names kiosk {kiosk!r}; the message says kiosk {message['kiosk']!r}, id {message['id']!r}")
    if message["type"] == VOID_EVENT and not message["payload"]["voids"].startswith(kiosk + ":"):
        raise Rejected("topic_mismatch", "an EventVoided voids an event of its own kiosk only")
    return Event(
        kiosk=kiosk, seq=message["seq"], type=message["type"], boot=message["boot"], at=message["at"],
        clock_synced=message["clock_synced"], payload=message["payload"], body=text, digest=digest,
    )


def claimed_seq(message: dict[str, Any]) -> int | None:
    """The sequence number a message claims when it is a plausible one (an int from 1 to MAX_SEQ), else None."""
    seq = message.get("seq")
    return seq if type(seq) is int and 1 <= seq <= MAX_SEQ else None


MAX_SEQ = 999_999_999_999_999_999
"""The highest sequence number the schema allows (18 digits)."""


def shown(value: Any, width: int) -> str:
    """A short quote of a scalar from a message for a detail; only the type of anything else."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**width:
        return "a large number"
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return repr(str(value)[:width])
    return f"a JSON {type(value).__name__}"


def same_content(body: str, other: str) -> bool:
    """True when two event texts say the same, whatever their spacing, key order, escapes or signature."""
    if body == other:
        return True
    mine, theirs = json.loads(body), json.loads(other)
    mine.pop(signature.SIG_FIELD, None)
    theirs.pop(signature.SIG_FIELD, None)
    return mine == theirs


def decode(body: bytes) -> dict[str, Any]:
    """Return the JSON object in body; raise Rejected (too_large, not_utf8, not_json), never anything else."""
    return read(body)[0]


def read(body: bytes) -> tuple[dict[str, Any], str]:
    """Return the JSON object in body and body as text; raise Rejected (too_large, not_utf8, not_json).

    Whatever the bytes, the only exception is Rejected: Python's json raises
    ValueError for an integer of more than 4300 digits and RecursionError for
    deep nesting, and accepts NaN and Infinity, which are not JSON; strings it
    reads may hold lone surrogates (``"\\ud800"``), which no database column
    can store. Each becomes a stable reason. The last two checks cost nothing
    for a real event: they run only when the bytes hint at them.
    """
    if not isinstance(body, bytes):
        raise Rejected("not_utf8", f"a {type(body).__name__}, not bytes")
    if len(body) > MAX_MESSAGE_BYTES:
        raise Rejected("too_large", f"{len(body)} bytes; the limit is {MAX_MESSAGE_BYTES}")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Rejected("not_utf8", f"invalid byte at offset {exc.start}") from None
    message = parse_json(text)
    if not isinstance(message, dict):
        raise Rejected("not_json", f"a JSON {type(message).__name__}, not an object")
    if body.count(b"{") + body.count(b"[") > limits.DEPTH_MAX and depth(message) > limits.DEPTH_MAX:
        raise Rejected("not_json", f"objects and arrays nested deeper than {limits.DEPTH_MAX} levels")
    if b"\\" in body and b"\\u" in body and has_lone_surrogate(message):  # one byte is found faster than two
        raise Rejected("not_utf8", "a \\u escape makes a lone surrogate, which is not Unicode text")
    return message, text


def refuse_constant(name: str) -> None:
    raise Rejected("not_json", f"{name} is not a JSON number")


DECODER = json.JSONDecoder(parse_constant=refuse_constant)
"""json.loads as it is, but refusing NaN, Infinity and -Infinity (Python's extension of JSON) as it meets them."""


def parse_json(text: str) -> Any:
    try:
        return DECODER.decode(text)
    except Rejected:
        raise
    except json.JSONDecodeError as exc:
        raise Rejected("not_json", str(exc)[:120]) from None
    except RecursionError:
        raise Rejected("not_json", "nested deeper than the JSON parser reads") from None
    except ValueError as exc:  # int(): "Exceeds the limit (4300 digits) for integer string conversion ..."
        raise Rejected("not_json", f"a number the hub cannot read ({str(exc)[:60]})") from None


def depth(value: Any) -> int:
    """How deep objects and arrays nest in value (a scalar: 0); stops counting past limits.DEPTH_MAX."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, level)
        if deepest > limits.DEPTH_MAX:
            break
        stack.extend((child, level + 1) for child in children)
    return deepest


def has_lone_surrogate(message: dict[str, Any]) -> bool:
    """True when a key or string of message holds half of a UTF-16 surrogate pair (from a ``\\udXXX`` escape)."""
    try:
        json.dumps(message, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def schema_detail(exc: fastjsonschema.JsonSchemaValueException) -> str:
    """Name the failing field and rule, never the value (it may be personal data).

    fastjsonschema's messages quote the schema (pattern, length, required keys), not the data.
    """
    return exc.message.replace("data.", "", 1).replace("data ", "the message ", 1)[:200]


@lru_cache(maxsize=1)
def event_schema() -> dict[str, Any]:
    """The event JSON Schema (draft-07), from event.schema.json beside this module."""
    return json.loads(resources.files(__package__).joinpath("event.schema.json").read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def event_validator():
    """Return a function validating a message against event.schema.json; raises JsonSchemaValueException.

    The schema picks the payload's rules with `if type ... then payload ...`.
    Compiled as it stands, every event would be tried against each `if` and
    raise and catch five exceptions, which doubles the hub's validation time.
    So the envelope and each type's payload rules are compiled apart from the
    same file, and the type picks the payload's validator directly. Each
    ``$ref`` is put in place first (`inlined`): compiled as it is, every one
    costs a function call per event.
    """
    schema = event_schema()
    definitions = schema["definitions"]
    envelope_rules = fastjsonschema.compile(
        inlined({key: value for key, value in schema.items() if key not in ("allOf", "definitions")}, definitions))
    payload_rules = {}
    for rule in schema["allOf"]:
        compiled = fastjsonschema.compile(inlined(rule["then"]["properties"]["payload"], definitions))
        payload_rules.update(dict.fromkeys(rule["if"]["properties"]["type"]["enum"], compiled))

    def validate(message: dict[str, Any]) -> None:
        envelope_rules(message)
        rules = payload_rules.get(message["type"])
        if rules is not None:
            try:
                rules(message["payload"])
            except fastjsonschema.JsonSchemaValueException as exc:
                exc.message = exc.message.replace("data", "data.payload", 1)
                raise

    return validate


def inlined(node: Any, definitions: dict[str, Any]) -> Any:
    """node with every ``{"$ref": "#/definitions/NAME", ...}`` replaced by that definition (the schemas have no cycles);
    keys beside the reference other than its description are kept."""
    if isinstance(node, list):
        return [inlined(item, definitions) for item in node]
    if not isinstance(node, dict):
        return node
    reference = node.get("$ref")
    if reference is None:
        return {key: inlined(value, definitions) for key, value in node.items()}
    rest = {key: value for key, value in node.items() if key not in ("$ref", "description")}
    return inlined({**definitions[reference.removeprefix("#/definitions/")], **rest}, definitions)


@lru_cache(maxsize=1)
def status_schema() -> dict[str, Any]:
    """The kiosk status JSON Schema (draft-07), from status.schema.json beside this module."""
    return json.loads(resources.files(__package__).joinpath("status.schema.json").read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def status_validator():
    """Return a function validating a kiosk status against status.schema.json; raises JsonSchemaValueException."""
    schema = status_schema()
    return fastjsonschema.compile(inlined({key: value for key, value in schema.items() if key != "definitions"},
                                          schema["definitions"]))


EVENT_TYPES = frozenset(event_schema()["definitions"]["event_type"]["enum"])
DOSE_EVENT = "DoseRecorded"
CHECK_IN_EVENT = "PersonCheckedIn"
VOID_EVENT = "EventVoided"
IDENTITY_EVENT = "IdentityCorrected"
"""A supervisor confirmed that a known ID number's person has other details than the kiosk held (wire.identity's rule)."""


# -- acknowledgements and status --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ack:
    """The hub's word to one kiosk: every event up to ``watermark`` is settled, and this is what it holds of them.

    Settled means merged, or refused for good (``refused``: the event verified
    as the kiosk's but breaks the contract, so sending it again changes
    nothing). ``chain`` folds, in sequence order, the SHA-256 of the text the
    hub holds for each settled event (`chain_next`); a kiosk that folds its own
    outbox texts the same way knows the hub holds exactly what it wrote, or
    knows it does not. ``disputed`` lists events for which the hub received two
    different texts, each validly signed, with the SHA-256 of the one it keeps.
    ``gaps`` are ranges (first, last) above the watermark the hub has not got
    although it has later ones: the kiosk re-sends them at once. ``highest`` is
    the highest sequence number the hub has settled from this kiosk.
    """

    kiosk: str
    watermark: int
    highest: int
    gaps: tuple[tuple[int, int], ...]
    at: str
    chain: str = ""
    """Hex SHA-256 chain over events 1..watermark; empty from a hub that does not confirm content."""
    refused: tuple[tuple[int, str], ...] = ()
    """(seq, reason code) of the newest MAX_LISTED refused events up to the watermark."""
    refused_count: int = 0
    disputed: tuple[tuple[int, str], ...] = ()
    """(seq, hex SHA-256 of the text kept) of the newest MAX_LISTED disputed events up to the watermark."""
    disputed_count: int = 0

    def encode(self) -> bytes:
        return canonical(
            {"v": VERSION, "kiosk": self.kiosk, "watermark": self.watermark, "highest": self.highest,
             "gaps": [list(g) for g in self.gaps[:MAX_GAPS]], "at": self.at, "chain": self.chain,
             "refused": [list(r) for r in self.refused[-MAX_LISTED:]], "refused_count": self.refused_count,
             "disputed": [list(d) for d in self.disputed[-MAX_LISTED:]], "disputed_count": self.disputed_count}
        ).encode()


CHAIN_HEX = re.compile(r"[0-9a-f]{64}")


def chain_start(kiosk_id: str) -> bytes:
    """The chain of a kiosk before its first event."""
    return hashlib.sha256(f"vax chain v{VERSION}\n{kiosk_id}".encode()).digest()


def chain_next(previous: bytes, digest: bytes, refused: bool = False) -> bytes:
    """The chain after one more settled event: its text's SHA-256, marked merged (M) or refused (R)."""
    return hashlib.sha256(previous + (b"R" if refused else b"M") + digest).digest()


def parse_ack(kiosk_id: str, body: bytes) -> Ack:
    """Return the acknowledgement in body for this kiosk; raise Rejected when it is not one."""
    message = decode(body)
    try:
        if message["v"] != VERSION or message["kiosk"] != kiosk_id:
            raise Rejected("topic_mismatch", "acknowledgement for another kiosk or version")
        watermark, highest = message["watermark"], message["highest"]
        if not (type(watermark) is int and type(highest) is int and 0 <= watermark <= highest <= MAX_SEQ):
            raise Rejected("schema", "watermark and highest must be integers, 0 <= watermark <= highest")
        gaps = tuple((int(a), int(b)) for a, b in message["gaps"][:MAX_GAPS])
        if any(not watermark < a <= b < highest for a, b in gaps):
            raise Rejected("schema", "gaps must lie between the watermark and the highest")
        chain = message.get("chain", "")
        if chain and not (isinstance(chain, str) and CHAIN_HEX.fullmatch(chain)):
            raise Rejected("schema", "chain must be 64 lower-case hex digits")
        refused = tuple(listed(message.get("refused", []), watermark, REJECTION_REASONS.__contains__))
        disputed = tuple(listed(message.get("disputed", []), watermark, CHAIN_HEX.fullmatch))
        refused_count, disputed_count = message.get("refused_count", 0), message.get("disputed_count", 0)
        if not (type(refused_count) is int and type(disputed_count) is int
                and len(refused) <= refused_count <= watermark and len(disputed) <= disputed_count <= watermark):
            raise Rejected("schema", "refused_count and disputed_count must count at least the events listed")
        return Ack(kiosk_id, watermark, highest, gaps, str(message["at"])[:40], chain, refused, refused_count,
                   disputed, disputed_count)
    except (KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, Rejected):
            raise
        raise Rejected("schema", f"not an acknowledgement: {exc.__class__.__name__}") from None


def listed(entries: list, watermark: int, valid) -> list[tuple[int, str]]:
    """The (seq, text) pairs of an acknowledgement's list; raise Rejected for an entry out of range or malformed."""
    pairs = []
    for seq, text in entries[:MAX_LISTED]:
        if not (type(seq) is int and 1 <= seq <= watermark and isinstance(text, str) and valid(text)):
            raise Rejected("schema", "a listed event must be a sequence number up to the watermark and its code")
        pairs.append((seq, text))
    return pairs


def gaps_between(watermark: int, seqs: list[int]) -> tuple[tuple[int, int], ...]:
    """Return the missing ranges above watermark given the sorted sequence numbers held above it."""
    gaps = []
    previous = watermark
    for seq in seqs:
        if seq > previous + 1:
            gaps.append((previous + 1, seq - 1))
            if len(gaps) == MAX_GAPS:
                break
        previous = max(previous, seq)
    return tuple(gaps)


def kiosk_status(kiosk_id: str, state: str, *, boot: str, version: str, at: str, clock_synced: bool,
                 outbox: int | None = None, unpublished: int | None = None, camera_fps: float | None = None) -> bytes:
    """The retained status a kiosk publishes (and leaves as its Last Will). No personal data.

    A count or a rate the status schema would refuse (negative, too large, not
    finite) goes out as null, unknown, rather than losing the whole status.
    """
    if state not in KIOSK_STATES:
        raise ValueError(f"unknown kiosk state {state!r}")
    return canonical(
        {"v": VERSION, "kiosk": kiosk_id, "state": state, "boot": boot, "version": version, "at": at,
         "clock_synced": clock_synced, "outbox": bounded(outbox, limits.COUNT_MAX, int),
         "unpublished": bounded(unpublished, limits.COUNT_MAX, int),
         "camera_fps": bounded(camera_fps, limits.CAMERA_FPS_MAX, (int, float))}
    ).encode()


def bounded(value: float | None, maximum: float, kind: type | tuple[type, ...]) -> float | None:
    """value when it is a finite number of this kind from 0 to maximum, else None."""
    if isinstance(value, bool) or not isinstance(value, kind):
        return None
    return value if math.isfinite(value) and 0 <= value <= maximum else None


def parse_kiosk_status(kiosk_id: str, body: bytes) -> dict[str, Any]:
    """Return a kiosk's status message as a dict; raise Rejected (a reason of REJECTION_REASONS) when it is not one."""
    message = decode(body)
    if message.get("v") != VERSION:
        raise Rejected("unsupported_version", f"v={shown(message.get('v'), 20)}; this hub reads v={VERSION}")
    try:
        status_validator()(message)
    except fastjsonschema.JsonSchemaValueException as exc:
        raise Rejected("schema", schema_detail(exc)) from None
    if message["kiosk"] != kiosk_id:
        raise Rejected("topic_mismatch", f"the topic names kiosk {kiosk_id!r}; the status says {message['kiosk']!r}")
    return message


def hub_status(state: str, *, at: str, version: str) -> bytes:
    """The retained status the hub publishes on HUB_STATUS_TOPIC (and leaves as its Last Will)."""
    if state not in HUB_STATES:
        raise ValueError(f"unknown hub state {state!r}")
    return canonical({"v": VERSION, "state": state, "at": at, "version": version}).encode()


def parse_hub_status(body: bytes) -> dict[str, Any]:
    message = decode(body)
    if message.get("v") != VERSION or message.get("state") not in HUB_STATES:
        raise Rejected("schema", "not a version-1 hub status")
    return message

"""The wire contract: topics, events against the schema, acknowledgements, status, and docs/wire.md kept in step."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import wire
from wire import signature

DOC = (Path(__file__).resolve().parent.parent / "docs" / "wire.md").read_text(encoding="utf-8")
TOPIC = "vax/k/kiosk-a/event"
DOSE = {
    "ticket": {"day": "2026-11-25", "number": 3}, "id_number": "001190012345", "by": {"staff_id": 1, "name": "Hoa"},
    "dose": {"product": "comirnaty_30", "lot_number": "FK1234", "expiry": "2027-05-24", "number": 1, "booster": 0,
             "given_at": "2026-11-25T08:00:00+07:00"},
}


def body(seq: int = 3, event_type: str = "DoseRecorded", payload: dict | None = None, kiosk: str = "kiosk-a", **changes) -> bytes:
    text = wire.envelope(kiosk, seq, event_type, boot="boot-1", at="2026-11-25T08:00:00+07:00", clock_synced=True,
                         payload=DOSE if payload is None else payload)
    return json.dumps({**json.loads(text), **changes}, ensure_ascii=False).encode()


def without(mapping: dict, *path: str) -> dict:
    copy = json.loads(json.dumps(mapping))
    inner = copy
    for key in path[:-1]:
        inner = inner[key]
    del inner[path[-1]]
    return copy


# --- topics ---------------------------------------------------------------------------------------------------------


def test_ok__topics_put_the_kiosk_third():
    assert [wire.topic("kiosk-a", kind) for kind in wire.KIOSK_KINDS] == ["vax/k/kiosk-a/event", "vax/k/kiosk-a/status", "vax/k/kiosk-a/ack"]
    assert wire.parse_topic("vax/k/kiosk-a/status") == ("kiosk-a", "status")
    assert wire.EVENT_FILTER == "vax/k/+/event" and wire.STATUS_FILTER == "vax/k/+/status"


@pytest.mark.parametrize("kiosk_id", ["", "Kiosk-A", "-a", "a/b", "a+b", "a#", "a b", "x" * 64, "kiốt"])
def test_fail__kiosk_ids_that_cannot_be_a_topic_level_or_username(kiosk_id):
    with pytest.raises(ValueError):
        wire.topic(kiosk_id, wire.EVENT)


@pytest.mark.parametrize("name", ["vax/k/a/other", "vax/k/A/event", "vax/x/a/event", "vax/k/a/event/more", "other/k/a/event", "vax/k//event"])
def test_fail__not_a_kiosk_topic(name):
    assert wire.parse_topic(name) is None
    assert wire.parse_district_topic(name) is None


def test_ok__a_province_prefixes_the_kiosk_topics_with_the_district():
    assert wire.district_topic("d1", "kiosk-a", wire.ACK) == "vax/d/d1/k/kiosk-a/ack"
    assert wire.district_filters("quan-3") == ("vax/d/quan-3/k/+/event", "vax/d/quan-3/k/+/status")
    assert wire.parse_district_topic("vax/d/d1/k/kiosk-a/event") == ("d1", "kiosk-a", "event")
    assert wire.province_ack_topic("kiosk-a") == "vax/p/k/kiosk-a/ack"
    assert wire.parse_district_topic("vax/p/k/kiosk-a/ack") is None  # not a topic a hub reads


TOPIC_LEVEL = st.from_regex(wire.KIOSK_ID, fullmatch=True)


@given(district=TOPIC_LEVEL, kiosk=TOPIC_LEVEL, kind=st.sampled_from(wire.KIOSK_KINDS))
def test_ok__either_form_of_a_kiosk_topic_reads_back(district, kiosk, kind):
    assert wire.parse_district_topic(wire.district_topic(district, kiosk, kind)) == (district, kiosk, kind)
    assert wire.parse_district_topic(wire.topic(kiosk, kind)) == (None, kiosk, kind)


@pytest.mark.parametrize("name", ["vax/d/D1/k/a/event", "vax/d//k/a/event", "vax/d/d1/x/a/event", "vax/d/d1/k/a/other",
                                  "vax/d/d1/k/a/event/more", "vax/d/d1/d/d2/k/a/event", "vax/e/d1/k/a/event"])
def test_fail__not_a_district_topic(name):
    assert wire.parse_district_topic(name) is None


@pytest.mark.parametrize("district", ["", "D1", "d/1", "d+", "#", "x" * 64])
def test_fail__districts_that_cannot_be_a_topic_level(district):
    with pytest.raises(ValueError):
        wire.district_topic(district, "k1", wire.EVENT)


# --- events ---------------------------------------------------------------------------------------------------------


def test_ok__an_event_parses_and_keeps_its_text():
    event = wire.parse_event(TOPIC, body())
    assert (event.kiosk, event.seq, event.id, event.type, event.boot, event.clock_synced) == (
        "kiosk-a", 3, "kiosk-a:3", "DoseRecorded", "boot-1", True,
    )
    assert event.payload == DOSE
    assert event.body == body().decode()
    spaced = json.dumps(json.loads(body()), indent=2, ensure_ascii=True).encode()
    respelled = wire.parse_event(TOPIC, spaced)
    assert respelled.body == spaced.decode() and wire.same_content(respelled.body, event.body), "the same event however spelled"
    assert not wire.same_content(event.body, body(boot="boot-2").decode())


def test_ok__a_void_of_an_event_of_the_same_kiosk():
    payload = {"voids": "kiosk-a:2", "reason": "wrong person", "by": {"staff_id": 1, "name": "Hoa"}}
    assert wire.parse_event(TOPIC, body(event_type="EventVoided", payload=payload)).payload["voids"] == "kiosk-a:2"


PERSON = {"full_name": "Nguyễn Thị Lan", "birth_date": "1990-03-15", "sex": "Nữ", "old_id": "123456789"}
CORRECTED = {
    "ticket": {"day": "2026-11-25", "number": 3}, "id_number": "001190012345", "by": {"staff_id": 1, "name": "Hoa"},
    "stored": PERSON, "corrected": {**PERSON, "full_name": "Nguyễn Thị Lân"}, "fields": ["full_name"],
    "reason": "Tên trên thẻ mới cấp", "source": "manual",
}


def test_ok__an_identity_correction():
    event = wire.parse_event(TOPIC, body(event_type=wire.IDENTITY_EVENT, payload=CORRECTED))
    assert event.payload["corrected"]["full_name"] == "Nguyễn Thị Lân"


@pytest.mark.parametrize("payload", [
    without(CORRECTED, "reason"), without(CORRECTED, "by"), without(CORRECTED, "stored"), without(CORRECTED, "fields"),
    without(CORRECTED, "corrected", "birth_date"), {**CORRECTED, "reason": ""}, {**CORRECTED, "reason": "x" * 201},
    {**CORRECTED, "fields": []}, {**CORRECTED, "fields": ["address"]}, {**CORRECTED, "fields": ["sex"] * 5},
    {**CORRECTED, "stored": {**PERSON, "full_name": "x" * 101}}, {**CORRECTED, "corrected": {**PERSON, "old_id": "12"}},
], ids=["no-reason", "no-by", "no-stored", "no-fields", "no-birth-date", "empty-reason", "long-reason", "fields-empty",
        "fields-address", "fields-repeated", "long-name", "bad-old-id"])
def test_fail__an_identity_correction_breaking_the_schema(payload):
    with pytest.raises(wire.Rejected) as caught:
        wire.parse_event(TOPIC, body(event_type=wire.IDENTITY_EVENT, payload=payload))
    assert caught.value.reason == "schema"


@pytest.mark.parametrize(
    "topic_name, message, reason",
    [
        ("vax/k/kiosk-a/status", body(), "bad_topic"),
        ("vax/k/kiosk-a", body(), "bad_topic"),
        (TOPIC, b"x" * (wire.MAX_MESSAGE_BYTES + 1), "too_large"),
        (TOPIC, b"\xff\xfe{}", "not_utf8"),
        (TOPIC, b"{not json", "not_json"),
        (TOPIC, b"[1, 2]", "not_json"),
        (TOPIC, b"[" * 100000 + b"]" * 100000, "too_large"),
        (TOPIC, body(v=2), "unsupported_version"),
        (TOPIC, body(v="1"), "unsupported_version"),
        (TOPIC, body(type="DoseChanged"), "unknown_type"),
        (TOPIC, body(seq=0, id="kiosk-a:0"), "schema"),
        (TOPIC, body(boot=""), "schema"),
        (TOPIC, body(at="yesterday"), "schema"),
        (TOPIC, body(clock_synced="yes"), "schema"),
        (TOPIC, body(extra=1), "schema"),
        (TOPIC, body(payload=without(DOSE, "dose", "number")), "schema"),
        (TOPIC, body(payload=without(DOSE, "by")), "schema"),
        (TOPIC, body(payload={**DOSE, "id_number": "12345"}), "schema"),
        (TOPIC, body(event_type="PersonCheckedIn", payload={**without(DOSE, "dose"), "source": "scan"}), "schema"),
        (TOPIC, body(event_type="EventVoided", payload={"voids": "kiosk-a:2", "reason": "", "by": DOSE["by"]}), "schema"),
        (TOPIC, body(event_type="EventVoided", payload={"voids": "kiosk-b:2", "reason": "x", "by": DOSE["by"]}), "topic_mismatch"),
        ("vax/k/kiosk-b/event", body(), "topic_mismatch"),
        (TOPIC, body(id="kiosk-a:4"), "topic_mismatch"),
    ],
)
def test_fail__messages_the_hub_will_not_merge(topic_name, message, reason):
    with pytest.raises(wire.Rejected) as caught:
        wire.parse_event(topic_name, message)
    assert caught.value.reason == reason
    assert reason in wire.REJECTION_REASONS


def raw(seq: str = "3", **changes) -> bytes:
    """body() with seq spelled as raw JSON text (Python's json cannot write some of these)."""
    return body(**changes).replace(b'"seq": 3', b'"seq": ' + seq.encode())


@pytest.mark.parametrize(
    "message, reason, detail",
    [
        (raw("9" * 4301), "not_json", "a number the hub cannot read"),
        (raw("-" + "9" * 5000), "not_json", "a number the hub cannot read"),
        (raw("NaN"), "not_json", "NaN is not a JSON number"),
        (raw("Infinity"), "not_json", "Infinity is not a JSON number"),
        (raw("-Infinity"), "not_json", "-Infinity is not a JSON number"),
        (raw("1e400"), "schema", "seq must be integer"),
        (raw("9223372036854775808"), "schema", "seq must be smaller than or equal to 999999999999999999"),
        (raw("3.5"), "schema", "seq must be integer"),
        (raw("-3"), "schema", "seq must be bigger than or equal to 1"),
        (raw('"3"'), "schema", "seq must be integer"),
        (raw("[3]"), "schema", "seq must be integer"),
        (body(extra=json.loads("[" * 32 + "]" * 32)), "not_json", "nested deeper than 32 levels"),
        (body(payload={**DOSE, "note": json.loads('{"a":' * 40 + "1" + "}" * 40)}), "not_json", "nested deeper"),
        (b"[" * 30000 + b"]" * 30000, "not_json", ""),
        (body(boot="BOOT").replace(b'"BOOT"', b'"\\ud800"'), "not_utf8", "lone surrogate"),
        (body(payload={**DOSE, "note": "x"}).replace(b'"note"', b'"\\udc00"'), "not_utf8", "lone surrogate"),
        (body(type=["DoseRecorded"]), "unknown_type", "type a JSON list is not"),
        (body(type={"a": 1}), "unknown_type", "type a JSON dict is not"),
        (body(v=[1]), "unsupported_version", "v=a JSON list"),
        (body(v=10**40), "unsupported_version", "v=a large number"),
        (body(payload={**DOSE, "dose": {**DOSE["dose"], "booster": 10**30}}), "schema", "booster must be smaller"),
        (body(payload={**DOSE, "dose": {**DOSE["dose"], "lot_number": "L" * 41}}), "schema", "lot_number must be shorter"),
        (body(payload={**DOSE, "by": {"staff_id": 2**63, "name": "Hoa"}}), "schema", "staff_id must be smaller"),
        (body(payload={**DOSE, "ticket": {"day": "2026-11-25", "number": 2**63}}), "schema", "number must be smaller"),
        (body(event_type="LotOpened", payload={"lot": {"product": "p" * 41, "lot_number": "L1"}}), "schema", "product"),
        (body(event_type="PersonDeferred", payload={**without(DOSE, "dose"), "reason": "r" * 201}), "schema", "reason"),
    ],
)
def test_fail__every_way_json_can_fail_is_a_stable_reason(message, reason, detail):
    with pytest.raises(wire.Rejected) as caught:
        wire.parse_event(TOPIC, message)
    assert (caught.value.reason, type(caught.value)) == (reason, wire.Rejected)
    assert detail in caught.value.detail


@pytest.mark.parametrize("message", [b"", b"\x00", bytearray(b"{}"), "text", None, 12])
def test_fail__decode_raises_nothing_but_rejected(message):
    with pytest.raises(wire.Rejected):
        wire.decode(message)


def test_ok__what_is_not_nested_too_deep_or_escaped_wrongly_parses():
    deep = body(payload={**DOSE, "note": json.loads("[" * 27 + "]" * 27)})  # 32 levels with the envelope's
    assert wire.parse_event(TOPIC, deep).payload["note"]
    paired = body(payload={**DOSE, "note": "NOTE"}).replace(b'"NOTE"', b'"\\ud83d\\ude00"')  # a surrogate pair: one emoji
    assert wire.parse_event(TOPIC, paired).payload["note"] == "\U0001f600"
    ascii_only = json.dumps(json.loads(body()), ensure_ascii=True).encode()
    assert wire.parse_event(TOPIC, ascii_only).payload == DOSE


def test_fail__a_rejection_names_the_field_never_the_value():
    with pytest.raises(wire.Rejected) as caught:
        wire.parse_event(TOPIC, body(payload={**DOSE, "id_number": "Nguyễn Thị Lan 1990"}))
    assert "id_number" in caught.value.detail and "Lan" not in str(caught.value)


# --- acknowledgements and status --------------------------------------------------------------------------------------


def test_ok__an_ack_round_trips():
    ack = wire.Ack("kiosk-a", 10, 20, ((12, 14), (16, 16)), "2026-11-25T08:00:00+07:00")
    assert wire.parse_ack("kiosk-a", ack.encode()) == ack


@pytest.mark.parametrize(
    "message",
    [b"{}", b"nonsense", b'{"v":1,"kiosk":"kiosk-b","watermark":1,"highest":1,"gaps":[],"at":""}',
     b'{"v":1,"kiosk":"kiosk-a","watermark":5,"highest":3,"gaps":[],"at":""}',
     b'{"v":1,"kiosk":"kiosk-a","watermark":5,"highest":9,"gaps":[[2,3]],"at":""}',
     b'{"v":1,"kiosk":"kiosk-a","watermark":"5","highest":9,"gaps":[],"at":""}'],
)
def test_fail__not_an_ack_for_this_kiosk(message):
    with pytest.raises(wire.Rejected):
        wire.parse_ack("kiosk-a", message)


@pytest.mark.parametrize(
    "watermark, seqs, gaps",
    [(0, [], ()), (0, [2], ((1, 1),)), (3, [4, 5], ()), (3, [5, 6, 9], ((4, 4), (7, 8))), (0, [1, 1, 3], ((2, 2),))],
)
def test_ok__gaps_between(watermark, seqs, gaps):
    assert wire.gaps_between(watermark, seqs) == gaps


def test_ok__gaps_are_capped():
    assert len(wire.gaps_between(0, list(range(2, 200, 2)))) == wire.MAX_GAPS


def status(**changes) -> bytes:
    sent = wire.kiosk_status("kiosk-a", "online", boot="b", version="0.1.0", at="2026-11-25T08:00:00+07:00",
                             clock_synced=False, outbox=3, unpublished=1, camera_fps=9.5)
    return json.dumps({**json.loads(sent), **changes}).encode()


@pytest.mark.parametrize(
    "message, reason",
    [
        (status(outbox=10**30), "schema"),
        (status(outbox=-1), "schema"),
        (status(unpublished=1.5), "schema"),
        (status().replace(b'"camera_fps": 9.5', b'"camera_fps": 1e400'), "schema"),
        (status(camera_fps=float("nan")), "not_json"),
        (status(camera_fps="9"), "schema"),
        (status(boot="b" * 65), "schema"),
        (status(version=""), "schema"),
        (status(at="yesterday"), "schema"),
        (status(state="dozing"), "schema"),
        (status(clock_synced=1), "schema"),
        (json.dumps({k: v for k, v in json.loads(status()).items() if k != "boot"}).encode(), "schema"),
        (status(kiosk="kiosk-b"), "topic_mismatch"),
        (status(v=2), "unsupported_version"),
        (status().replace(b'"outbox": 3', b'"outbox": ' + b"9" * 5000), "not_json"),
        (b"[]", "not_json"),
    ],
)
def test_fail__a_status_the_hub_will_not_keep(message, reason):
    with pytest.raises(wire.Rejected) as caught:
        wire.parse_kiosk_status("kiosk-a", message)
    assert caught.value.reason == reason and reason in wire.REJECTION_REASONS


def test_ok__a_status_with_extra_fields_and_unknown_counts_is_kept():
    message = wire.parse_kiosk_status("kiosk-a", status(outbox=None, unpublished=None, camera_fps=None, newer=1))
    assert message["outbox"] is None and message["newer"] == 1


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -1, 10**30, 1e9, True, "9"])
def test_ok__a_kiosk_sends_a_count_or_rate_it_cannot_state_as_unknown(value):
    sent = wire.kiosk_status("kiosk-a", "online", boot="b", version="0.1.0", at="2026-11-25T08:00:00+07:00",
                             clock_synced=True, outbox=value, unpublished=value, camera_fps=value)
    message = wire.parse_kiosk_status("kiosk-a", sent)
    assert (message["outbox"], message["unpublished"], message["camera_fps"]) == (None, None, None)


def test_ok__statuses_round_trip_without_personal_data():
    sent = wire.kiosk_status("kiosk-a", "online", boot="b", version="0.1.0", at="2026-11-25T08:00:00+07:00",
                             clock_synced=False, outbox=3, unpublished=1, camera_fps=9.5)
    assert wire.parse_kiosk_status("kiosk-a", sent)["outbox"] == 3
    assert wire.parse_hub_status(wire.hub_status("stopped", at="t", version="0.1.0"))["state"] == "stopped"
    with pytest.raises(wire.Rejected):
        wire.parse_kiosk_status("kiosk-b", sent)
    with pytest.raises(ValueError):
        wire.kiosk_status("kiosk-a", "dozing", boot="b", version="v", at="t", clock_synced=True)


# --- the reference page -----------------------------------------------------------------------------------------------


def doc_section(title: str) -> str:
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", DOC, flags=re.S | re.M)
    assert match, f"docs/wire.md has no section '{title}'"
    return match.group(1)


def first_column(section: str) -> set[str]:
    return set(re.findall(r"^\| `([^`]+)` \|", section, flags=re.M))


def test_ok__every_topic_is_documented():
    names = {f"vax/k/<kiosk>/{kind}" for kind in wire.KIOSK_KINDS} | {wire.HUB_STATUS_TOPIC}
    names |= {f"vax/d/<district>/k/<kiosk>/{kind}" for kind in wire.KIOSK_KINDS}
    names.add(wire.province_ack_topic("kiosk").replace("kiosk", "<kiosk>"))
    assert first_column(doc_section("Topics")) == names
    assert wire.EVENT_FILTER in DOC and wire.STATUS_FILTER in DOC


def test_ok__every_event_type_is_documented():
    fields = set(wire.event_schema()["properties"])
    assert fields == set(json.loads(body())) | {"sig"}
    assert first_column(doc_section("Event")) >= fields
    assert first_column(doc_section("Event")) - fields == wire.EVENT_TYPES


def test_ok__every_required_payload_field_is_bold():
    section = doc_section("Event")
    for event_type in wire.EVENT_TYPES:
        row = re.search(rf"^\| `{event_type}` \| (.*) \|$", section, flags=re.M).group(1)
        for field in required_payload_fields(event_type):
            assert f"**`{field}`**" in row, f"{event_type}: {field} is required by the schema"


def required_payload_fields(event_type: str) -> set[str]:
    schema = wire.event_schema()
    for rule in schema["allOf"]:
        if event_type in rule["if"]["properties"]["type"]["enum"]:
            name = rule["then"]["properties"]["payload"]["$ref"].split("/")[-1]
            definition = schema["definitions"][name]
            inherited = [schema["definitions"][ref["$ref"].split("/")[-1]] for ref in definition.get("allOf", [])]
            return set(definition.get("required", [])).union(*(d.get("required", []) for d in inherited))
    return set()


def test_ok__ack_and_status_fields_are_documented():
    ack = json.loads(wire.Ack("k", 0, 0, (), "t").encode())
    assert first_column(doc_section("Acknowledgement")) == set(ack)
    status = json.loads(wire.kiosk_status("k", "online", boot="b", version="v", at="t", clock_synced=True))
    assert first_column(doc_section("Kiosk status")) == set(status)
    assert first_column(doc_section("Hub status")) == set(json.loads(wire.hub_status("online", at="t", version="v")))


def test_ok__every_quarantine_reason_is_documented():
    assert first_column(doc_section("Quarantine reasons")) == set(wire.REJECTION_REASONS)


def test_ok__the_fast_validator_agrees_with_the_schema_as_written():
    """event_validator compiles the envelope and each payload apart; the schema file compiled whole must agree."""
    import fastjsonschema

    whole = fastjsonschema.compile(wire.event_schema())
    samples = [json.loads(body(**change)) for change in ({}, {"boot": ""}, {"extra": 1})]
    samples += [json.loads(body(payload=p)) for p in (DOSE, without(DOSE, "by"), without(DOSE, "dose", "number"), {**DOSE, "id_number": "1"})]
    samples += [json.loads(body(event_type=t, payload=p)) for t, p in (
        ("PersonCheckedIn", DOSE), ("PersonCheckedIn", {**DOSE, "source": "scan", "person": {"full_name": "A", "birth_date": "2000-01-01", "sex": "Nam"}}),
        ("LotOpened", {"lot": {"product": "x", "lot_number": "y"}}), ("LotOpened", {}), ("PersonCalled", {"desk": 1}),
        ("EventVoided", {"voids": "kiosk-a:1", "reason": "r", "by": DOSE["by"]}), ("AefiRecorded", {**DOSE, "aefi": {"severity": "bad"}}),
        ("IdentityCorrected", CORRECTED), ("IdentityCorrected", {**CORRECTED, "fields": []}), ("IdentityCorrected", DOSE),
    )]
    for message in samples:
        verdicts = []
        for validate in (whole, wire.event_validator()):
            try:
                validate(message)
                verdicts.append(True)
            except fastjsonschema.JsonSchemaValueException:
                verdicts.append(False)
        assert verdicts[0] == verdicts[1], message["type"]


# --- limits ---------------------------------------------------------------------------------------------------------


SCHEMAS = {"event": wire.event_schema, "status": wire.status_schema}


def resolve(schema: dict, pointer: str):
    node = schema
    for key in pointer.split("/"):
        node = node[key]
    return node


@pytest.mark.parametrize("name, pointer", [(n, p) for n, limits in wire.limits.SCHEMA_LIMITS.items() for p in limits])
def test_ok__the_schemas_spell_every_limit_as_wire_limits_does(name, pointer):
    keyword, value = wire.limits.SCHEMA_LIMITS[name][pointer]
    assert resolve(SCHEMAS[name](), pointer)[keyword] == value


def bounds(schema: dict, path: str = ""):
    """Yield (path, node) of every node of a schema that says what type a value has."""
    if isinstance(schema, dict):
        if isinstance(schema.get("type"), (str, list)):  # not a property named "type"
            yield path, schema
        for key, child in schema.items():
            yield from bounds(child, f"{path}/{key}")
    elif isinstance(schema, list):
        for i, child in enumerate(schema):
            yield from bounds(child, f"{path}/{i}")


@pytest.mark.parametrize("name", SCHEMAS)
def test_ok__every_string_and_number_in_the_schemas_is_bounded(name):
    unbounded = []
    for path, node in bounds(SCHEMAS[name]()):
        types = node["type"] if isinstance(node["type"], list) else [node["type"]]
        if "string" in types and "maxLength" not in node:
            unbounded.append(path)
        if {"integer", "number"} & set(types) and not ("minimum" in node and "maximum" in node):
            unbounded.append(path)
        if "array" in types and "maxItems" not in node:
            unbounded.append(path)
    assert not unbounded


def test_ok__every_limit_fits_what_sqlite_holds():
    assert wire.limits.SEQ_MAX < wire.limits.SQLITE_INTEGER_MAX == 2**63 - 1
    assert wire.limits.EVENT_ID_MAX == len(f"{'k' * 63}:{wire.limits.SEQ_MAX}")


def test_ok__the_schema_reads_the_signature_as_wire_signature_writes_it():
    sig = wire.event_schema()["properties"]["sig"]
    assert sig["pattern"] == signature.SIG_PATTERN
    assert sig["maxLength"] == signature.KEY_ID_CHARS + 1 + signature.SIGNATURE_CHARS

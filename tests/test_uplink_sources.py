"""kiosk/uplink/sources.py: a kiosk that waits for its district hub's and its province's acknowledgements acts on the
lower one; an event is done only when both hubs hold it. The pure choice, the real Confirmer under any order of the
two hubs' acknowledgements, and the real publisher (not started: no broker) on a real outbox."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

import wire
from kiosk.payloads import parse_payload
from kiosk.queue.checkin import check_in
from kiosk.queue.store import Store
from kiosk.uplink.confirm import Confirmer
from kiosk.uplink.publisher import Publisher
from kiosk.uplink.sources import DISTRICT, PROVINCE, Heard, ack_topics, lower
from wire import signature

from .conftest import HUNG, LAN, MAI_SEX_MISMATCH, Ticker
from .uplink_kiosk import kiosk_config

KIOSK = "kiosk-test"
AT = "2026-11-25T08:00:00+07:00"
BOTH = (DISTRICT, PROVINCE)


def ack(watermark: int, gaps: tuple = (), chain: str = "") -> wire.Ack:
    return wire.Ack(KIOSK, watermark, watermark, gaps, AT, chain)


def test_ok__a_kiosk_of_a_lone_district_waits_for_its_hub_only():
    assert ack_topics(KIOSK, False) == {"vax/k/kiosk-test/ack": DISTRICT}
    assert ack_topics(KIOSK, True) == {"vax/k/kiosk-test/ack": DISTRICT, "vax/p/k/kiosk-test/ack": PROVINCE}


def test_ok__the_lower_watermark_is_acted_on_whole():
    district, province = ack(7, gaps=((9, 9),)), ack(4, gaps=((6, 6),))
    assert lower({DISTRICT: district, PROVINCE: province}, BOTH) is province
    assert lower({DISTRICT: district, PROVINCE: ack(7)}, BOTH) is district  # a tie: the district hub's
    assert lower({DISTRICT: district}, (DISTRICT,)) is district


def test_fail__nothing_is_acted_on_while_a_source_is_unheard():
    assert lower({DISTRICT: ack(7)}, BOTH) is None
    assert lower({PROVINCE: ack(7)}, BOTH) is None
    assert lower({}, (DISTRICT,)) is None


@given(st.dictionaries(st.sampled_from(BOTH), st.integers(0, 50)))
def test_ok__the_ack_acted_on_is_the_lowest_of_all_sources_or_none(watermarks):
    chosen = lower({source: ack(w) for source, w in watermarks.items()}, BOTH)
    if len(watermarks) < len(BOTH):
        assert chosen is None
    else:
        assert chosen.watermark == min(watermarks.values())


def test_ok__a_newer_word_from_the_source_ahead_changes_nothing():
    heard = Heard(BOTH)
    assert heard.hear(DISTRICT, ack(3)) is None
    province = ack(2)
    assert heard.hear(PROVINCE, province) is province
    assert heard.hear(DISTRICT, ack(5)) is None  # the province's is still the lower, and was acted on
    assert heard.hear(PROVINCE, ack(9)).watermark == 5


TEXTS = [wire.envelope(KIOSK, seq, wire.CHECK_IN_EVENT, boot="b", at=AT, clock_synced=True,
                       payload={"ticket": {"day": "2026-11-25", "number": seq}, "id_number": "001190012345",
                                "source": "camera", "person": LAN}) for seq in range(1, 31)]


def chain(watermark: int) -> str:
    """The chain a hub holding this kiosk's texts 1..watermark as written gives."""
    folded = wire.chain_start(KIOSK)
    for text in TEXTS[:watermark]:
        folded = wire.chain_next(folded, signature.digest(text.encode()), False)
    return folded.hex()


@given(st.lists(st.tuples(st.sampled_from(BOTH), st.integers(0, len(TEXTS))), max_size=30))
def test_ok__a_row_is_done_only_once_both_hubs_hold_it_in_any_order_of_their_acks(arrivals):
    """Each hub's watermark in any order, going back too (a restored database): the confirmed point is the highest
    lower watermark seen so far, never beyond what both hubs held at one moment, and 0 until both spoke."""
    heard, confirmer = Heard(BOTH), Confirmer(KIOSK)
    latest, expected = {}, 0
    for source, watermark in arrivals:
        latest[source] = watermark
        chosen = heard.hear(source, ack(watermark, chain=chain(watermark)))
        if chosen is not None:
            assert not confirmer.confirm(chosen, enumerate(TEXTS, 1)).problem
        if len(latest) == len(BOTH):
            expected = max(expected, min(latest.values()))
        assert confirmer.confirmed == expected


def recorded(site) -> None:
    """Three check-ins: outbox rows 1 to 3."""
    for code in (LAN, HUNG, MAI_SEX_MISMATCH):
        check_in(site, parse_payload(code, today=None), source="camera")


def test_ok__the_publisher_marks_done_only_what_both_acknowledged(tmp_path, site, store):
    recorded(site)
    config = kiosk_config(tmp_path, KIOSK, province_acks=True)
    kiosk = Publisher(config, Store(config.kiosk.db), clock=Ticker())  # not started: no broker traffic
    try:
        texts = dict(store.db.execute("select seq, body from outbox"))

        def hub_ack(watermark: int, gaps: tuple = ()) -> wire.Ack:
            folded = wire.chain_start(KIOSK)
            for seq in range(1, watermark + 1):
                folded = wire.chain_next(folded, signature.digest(texts[seq].encode()), False)
            return wire.Ack(KIOSK, watermark, 3, gaps, AT, folded.hex())

        kiosk.take_ack(DISTRICT, hub_ack(3))
        assert (kiosk.confirmer.confirmed, kiosk.flow.watermark) == (0, 0), "the district hub alone marks nothing done"
        kiosk.take_ack(PROVINCE, hub_ack(1, gaps=((2, 2),)))
        assert (kiosk.confirmer.confirmed, kiosk.flow.watermark) == (1, 1)
        kiosk.take_ack(PROVINCE, hub_ack(3))
        assert (kiosk.confirmer.confirmed, kiosk.flow.watermark) == (3, 3)
        kiosk.save()
        assert [acked is not None for acked, in store.db.execute("select acked_at from outbox order by seq")] == [True] * 3
        kiosk.take_ack(PROVINCE, wire.Ack(KIOSK, 4, 4, (), AT))
        assert kiosk.errors["ack"].startswith("the province acknowledges up to 4 but this kiosk's outbox ends at 3")
        assert kiosk.confirmer.confirmed == 3
    finally:
        kiosk.store.close()


def test_ok__the_lower_hub_s_gaps_are_sent_again(tmp_path, site, store):
    """The province lost event 2 (a bridge queue): its gap, not the district hub's clean acknowledgement, is acted
    on; event 2 goes out again once it was sent."""
    recorded(site)
    config = kiosk_config(tmp_path, KIOSK, province_acks=True)
    kiosk = Publisher(config, Store(config.kiosk.db), clock=Ticker())
    try:
        for seq in (1, 2, 3):
            kiosk.flow.sent(mid=seq, seq=seq, now=0.0)
        kiosk.take_ack(DISTRICT, wire.Ack(KIOSK, 3, 3, (), AT))
        kiosk.take_ack(PROVINCE, wire.Ack(KIOSK, 1, 3, ((2, 2),), AT))
        assert kiosk.flow.watermark == 1 and kiosk.flow.take_resends(8) == [2]
    finally:
        kiosk.store.close()

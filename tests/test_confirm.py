"""What the hub's acknowledgement confirms: signatures checked before merging, refused events settled and named, the
chain a kiosk folds from its own outbox, forged and disputed events found. Through the real Ingest and SQLite store."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import wire
from hub.ingest import Ingest
from hub.keys import KEYS_REFRESH_SECONDS
from hub.store import reports
from hub.store.sqlite import open_store
from kiosk.uplink.confirm import DISPUTED, IMPERSONATED, Confirmer
from wire import signature

from .hub_helpers import DAY, LAN
from .keys import enroll, signer

KIOSK = "ka"
TOPIC = wire.topic(KIOSK, wire.EVENT)
AT = "2024-05-01T10:00:00Z"


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def outbox_text(seq: int, *, name: str = LAN["full_name"], kiosk: str = KIOSK) -> str:
    """An outbox row as the kiosk writes it: a check-in; a name over the schema's limit makes it one the hub refuses."""
    payload = {"ticket": {"day": DAY, "number": seq}, "id_number": "001190012345", "source": "camera",
               "person": {**LAN, "full_name": name}}
    return wire.envelope(kiosk, seq, wire.CHECK_IN_EVENT, boot="b", at=f"{DAY}T08:00:00+07:00", clock_synced=True,
                         payload=payload)


@pytest.fixture
def store(tmp_path):
    with open_store(tmp_path / "hub.db") as opened:
        enroll(opened, KIOSK)
        yield opened


def commit(ingest: Ingest, messages: list[bytes], topic: str = TOPIC) -> wire.Ack | None:
    for message in messages:
        ingest.receive(topic, message)
    flushed = ingest.flush()
    return next((ack for ack in flushed.acks if ack.kiosk == KIOSK), None)


def quarantined(store) -> list[tuple]:
    return store.conn.execute("SELECT reason, kiosk FROM quarantine ORDER BY id").fetchall()


# -- signatures: checked before anything else; a forgery settles nothing -------------------------------------------------


def test_fail__forgeries_are_quarantined_and_settle_nothing_then_the_real_event_merges(store):
    real = signer(KIOSK).sign(outbox_text(1))
    forged = outbox_text(1, name="Kẻ Mạo Danh")
    stranger = signature.Signer(signature.generate_key())
    ingest = Ingest(store)
    ack = commit(ingest, [
        forged.encode(),                                      # a password holder without the key: unsigned
        stranger.sign(forged),                                # signed with a key the hub does not know
        signer("kb").sign(forged),                            # another enrolled kiosk's key
        real.replace("Lan".encode(), "Lân".encode()),         # the real event, changed on the way
    ])
    assert ack is None  # nothing of ka settled: no acknowledgement
    assert [r for r, _ in quarantined(store)] == ["unsigned", "unknown_key", "unknown_key", "bad_signature"]
    ack = commit(ingest, [real])
    assert (ack.watermark, ack.refused, ack.disputed) == (1, (), ())
    assert store.stats()["events"] == 1 and reports.conflicts(store.path, kind="disputed_event") == []


def test_fail__a_revoked_key_is_refused_without_a_restart(store):
    clock = Clock()
    ingest = Ingest(store, clock=clock)
    assert commit(ingest, [signer(KIOSK).sign(outbox_text(1))]).watermark == 1
    store.revoke_keys(KIOSK, AT, "stolen")
    clock.now += KEYS_REFRESH_SECONDS
    assert commit(ingest, [signer(KIOSK).sign(outbox_text(2))]) is None
    assert quarantined(store)[-1] == ("revoked_key", KIOSK)


# -- refused: the kiosk's own event that breaks the contract is settled, named, and the rest goes on ------------------------


def test_ok__a_refused_event_is_settled_named_and_the_next_ones_merge(store):
    texts = [outbox_text(1), outbox_text(2, name="X" * 101), outbox_text(3)]
    ack = commit(Ingest(store), [signer(KIOSK).sign(text) for text in texts])
    assert (ack.watermark, ack.highest, ack.gaps) == (3, 3, ())
    assert (ack.refused, ack.refused_count) == (((2, "schema"),), 1)
    assert store.stats()["events"] == 2 and store.stats()["kiosks"][0]["refused"] == 1
    confirmer = Confirmer(KIOSK)
    result = confirmer.confirm(ack, enumerate(texts, start=1))
    assert (result.problem, result.confirmed, result.verdicts) == (None, 3, {2: "refused:schema"})


def test_ok__a_refused_event_sent_again_is_a_duplicate_and_stays_refused(store):
    refused = signer(KIOSK).sign(outbox_text(1, name="X" * 101))
    ingest = Ingest(store)
    first, again = commit(ingest, [refused]), commit(ingest, [refused])
    assert first.refused == again.refused == ((1, "schema"),) and first.chain == again.chain
    assert store.conn.execute("SELECT count(*) FROM disputes").fetchone() == (0,)


# -- disputes: two texts of one event, each validly signed ---------------------------------------------------------------


@pytest.mark.parametrize("forgery_first", [True, False])
def test_fail__a_forgery_with_the_kiosks_key_is_a_dispute_the_kiosk_learns_of(store, forgery_first):
    texts = [outbox_text(1), outbox_text(2), outbox_text(3)]
    forged = signer(KIOSK).sign(outbox_text(2, name="Kẻ Mạo Danh"))  # a stolen key, or a restored database
    real = [signer(KIOSK).sign(text) for text in texts]
    ingest = Ingest(store)
    commit(ingest, [forged] if forgery_first else real)
    ack = commit(ingest, real if forgery_first else [forged])
    assert ack.watermark == 3 and ack.disputed_count == 1 and ack.disputed[0][0] == 2
    result = Confirmer(KIOSK).confirm(ack, enumerate(texts, start=1))
    assert result.problem is None and result.confirmed == 3
    assert result.verdicts == {2: DISPUTED if forgery_first else IMPERSONATED}
    [conflict] = reports.conflicts(store.path, kind="disputed_event")
    assert conflict["event_ids"] == ["ka:2"] and conflict["detail"]["deliveries"] == 1
    assert ("replayed_changed", KIOSK) in quarantined(store)


def test_fail__a_hub_holding_another_text_is_never_confirmed(store):
    """A hub (or a kiosk id reused by another database) whose chain is not this outbox: nothing is marked."""
    ingest = Ingest(store)
    ack = commit(ingest, [signer(KIOSK).sign(outbox_text(seq, name="Người Khác")) for seq in (1, 2)])
    confirmer = Confirmer(KIOSK)
    result = confirmer.confirm(ack, enumerate([outbox_text(1), outbox_text(2)], start=1))
    assert result.confirmed == 0 and result.verdicts == {} and "did not write" in result.problem
    assert confirmer.confirmed == 0


def test_fail__a_kiosk_not_told_of_every_refusal_does_not_confirm(store):
    """More refusals than one acknowledgement lists, and the kiosk missed the earlier acknowledgements."""
    count = wire.MAX_LISTED + 3
    texts = [outbox_text(seq, name="X" * 101) for seq in range(1, count + 1)]
    ack = commit(Ingest(store), [signer(KIOSK).sign(text) for text in texts])
    assert (len(ack.refused), ack.refused_count) == (wire.MAX_LISTED, count)
    result = Confirmer(KIOSK).confirm(ack, enumerate(texts, start=1))
    assert result.confirmed == 0 and f"refused {count} events and this kiosk knows of {wire.MAX_LISTED}" in result.problem


# -- the property: whatever the order, duplication and batching, the kiosk confirms exactly what it wrote ----------------


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(refused=st.sets(st.integers(1, 12), max_size=4), data=st.data())
def test_ok__the_kiosk_confirms_what_it_wrote_whatever_the_delivery(refused, data):
    texts = [outbox_text(seq, name="X" * 101 if seq in refused else LAN["full_name"]) for seq in range(1, 13)]
    messages = [signer(KIOSK).sign(text) for text in texts]
    delivered = data.draw(st.permutations(messages + data.draw(st.lists(st.sampled_from(messages), max_size=6))))
    cuts = sorted(data.draw(st.sets(st.integers(1, len(delivered) - 1), max_size=5)))
    confirmer, verdicts = Confirmer(KIOSK), {}
    with tempfile.TemporaryDirectory() as folder, open_store(Path(folder) / "hub.db") as store:
        enroll(store, KIOSK)
        ingest = Ingest(store)
        for a, b in zip([0, *cuts], [*cuts, len(delivered)]):
            ack = commit(ingest, delivered[a:b])
            if ack is not None and data.draw(st.booleans()):  # the kiosk may miss any acknowledgement but the last
                result = confirmer.confirm(ack, enumerate(texts, start=1))
                assert result.problem is None
                verdicts.update(result.verdicts)
        result = confirmer.confirm(store.ack_for(KIOSK, AT), enumerate(texts, start=1))
    assert result.problem is None and confirmer.confirmed == 12
    assert {**verdicts, **result.verdicts} == {seq: "refused:schema" for seq in refused}


def test_ok__a_batch_verified_ahead_on_threads_is_classified_the_same(store):
    """The merge worker checks a batch's signatures on several threads first; the verdicts are the same."""
    texts = [outbox_text(seq) for seq in range(1, 41)]
    messages = [signer(KIOSK).sign(text) for text in texts]
    messages[7] = messages[7].replace("Lan".encode(), "Lân".encode())  # changed on the way
    ingest = Ingest(store)
    ingest.receive_all([(TOPIC, message) for message in messages])
    ack = next(ack for ack in ingest.flush().acks if ack.kiosk == KIOSK)
    assert (ack.watermark, ack.highest) == (7, 40) and quarantined(store) == [("bad_signature", KIOSK)]
    assert len(ingest.keys.verified) == 39

"""kiosk/uplink/flow.py's rewinds to a hub that says it is online but acknowledges nothing: plain state, its clock
given (monotonic seconds), no broker."""

from hypothesis import given
from hypothesis import strategies as st

from kiosk.uplink.flow import RESEND_MAX_SECONDS, Flow


def flow_with_rows_out(resend_seconds: float, now: float = 0.0) -> Flow:
    flow = Flow(window=32, ahead=2000, resend_seconds=resend_seconds, now=now)
    flow.hub_state("online", now)
    for seq in range(1, 6):
        flow.sent(mid=seq, seq=seq, now=now)
    return flow


def rewinds(flow: Flow, until: float, step: float = 1.0) -> list[float]:
    """The moments the flow rewinds, checked every ``step`` seconds up to ``until``, rows sent again at once."""
    moments, now = [], 0.0
    while now <= until:
        if flow.rewind_if_silent(now):
            moments.append(now)
            flow.sent(mid=100 + len(moments), seq=flow.cursor, now=now)
        now += step
    return moments


@given(resend=st.sampled_from([2.0, 5.0, 30.0]))
def test_ok__each_silent_rewind_doubles_the_wait_up_to_the_cap(resend):
    flow = flow_with_rows_out(resend)
    moments = rewinds(flow, until=3 * RESEND_MAX_SECONDS + 64 * resend)
    waits = [b - a for a, b in zip([0.0, *moments], moments)]
    expected = [min(resend * 2 ** n, RESEND_MAX_SECONDS) for n in range(len(waits))]
    assert waits == expected
    assert waits[-1] == RESEND_MAX_SECONDS, "a day-long silence settles at one rewind per RESEND_MAX_SECONDS"


def test_ok__an_acknowledgement_that_moves_starts_again_from_resend_seconds():
    flow = flow_with_rows_out(30.0)
    assert rewinds(flow, until=100.0) == [30.0, 90.0]  # waits of 30, then 60; the next would wait 120
    flow.acknowledged(2, (), now=100.0)
    flow.sent(mid=200, seq=6, now=100.0)
    assert not flow.rewind_if_silent(129.0)
    assert flow.rewind_if_silent(130.0)


def test_ok__a_hub_coming_online_again_starts_again_from_resend_seconds():
    flow = flow_with_rows_out(30.0)
    assert rewinds(flow, until=100.0) == [30.0, 90.0]
    flow.hub_state("offline", 100.0)
    assert not flow.rewind_if_silent(400.0), "no rewind while the hub is offline"
    flow.hub_state("online", 400.0)
    assert not flow.rewind_if_silent(429.0)
    assert flow.rewind_if_silent(430.0)

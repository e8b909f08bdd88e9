"""The retry ladder's policy (kiosk/decode/ladder.py) on a simulated clock: it always moves on, never drops a retry."""

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.decode.ladder import DECAY, Costs, Ladder, persists

REGION = [(100, 100, 300, 300)]


class Machine:
    """A simulated clock, and retries that cost what the test says (hardware-free: only time is simulated)."""

    def __init__(self, costs):
        self.now = 0.0
        self.costs = costs
        self.runs: list[int] = []

    def clock(self) -> float:
        return self.now

    def attempt(self, retry: int) -> list:
        self.runs.append(retry)
        self.now += self.costs[retry]
        return []


def hold(ladder: Ladder, machine: Machine, preludes) -> list[list[int]]:
    """Show the same region for one frame per prelude (the first pass's cost); return the retries run per frame."""
    per_frame = []
    for prelude in preludes:
        start = machine.now
        machine.now += prelude
        before = len(machine.runs)
        ladder.follow(REGION)
        ladder.climb(start, machine.attempt)
        per_frame.append(machine.runs[before:])
    return per_frame


@settings(max_examples=200, deadline=None)
@given(
    budget=st.floats(0.005, 0.1),
    cost_factors=st.lists(st.floats(0.0, 3.0), min_size=1, max_size=12),
    prelude_factors=st.lists(st.floats(0.0, 1.5), min_size=1, max_size=5),
)
def test_ok__a_held_card_gets_every_retry_in_every_window_of_frames(budget, cost_factors, prelude_factors):
    costs = [f * budget for f in cost_factors]
    machine = Machine(costs)
    ladder = Ladder(range(len(costs)), budget, machine.clock)
    decays = math.ceil(math.log(3.0) / math.log(1 / DECAY))
    window = (decays + 2) * len(costs)
    preludes = [prelude_factors[i % len(prelude_factors)] * budget for i in range(3 * window)]
    frames = hold(ladder, machine, preludes)
    for first in range(len(frames) - window + 1):
        ran = {retry for frame in frames[first : first + window] for retry in frame}
        assert ran == set(range(len(costs))), f"frames {first}..{first + window} missed {set(range(len(costs))) - ran}"


@settings(max_examples=200, deadline=None)
@given(budget=st.floats(0.005, 0.1), cost_factors=st.lists(st.floats(0.0, 3.0), min_size=1, max_size=12),
       prelude=st.floats(0.0, 1.5))
def test_ok__every_frame_moves_the_ladder_on(budget, cost_factors, prelude):
    costs = [f * budget for f in cost_factors]
    machine = Machine(costs)
    ladder = Ladder(range(len(costs)), budget, machine.clock)
    for _ in range(4 * len(costs)):
        before = (ladder.next, [ladder.costs.estimate(r) for r in range(len(costs))])
        frame = hold(ladder, machine, [prelude * budget])[0]
        after = (ladder.next, [ladder.costs.estimate(r) for r in range(len(costs))])
        assert frame or after != before or all(e == 0 for e in after[1]), "a frame neither ran a retry nor moved on"


def test_ok__a_frame_within_budget_runs_as_many_retries_as_fit():
    machine = Machine([1 / 128] * 8)  # binary fractions: the sums are exact
    ladder = Ladder(range(8), 4 / 128, machine.clock)
    hold(ladder, machine, [0.0] * 6)  # unknown costs count as 0 until each retry has run warm
    first, second = hold(ladder, machine, [0.0, 0.0])
    assert len(first) == len(second) == 4 and second[0] == (first[-1] + 1) % 8


def test_ok__a_retry_whose_first_run_was_slow_is_not_excluded():
    # The issue: a retry's first run paid a one-off start-up cost (60 ms) and was remembered as too dear for 40 ms.
    machine = Machine([0.001, 0.06, 0.001])
    ladder = Ladder(range(3), 0.04, machine.clock)
    hold(ladder, machine, [0.0])
    machine.costs[1] = 0.02  # warm, it takes 20 ms
    frames = hold(ladder, machine, [0.002] * 6)
    assert sum(frame.count(1) for frame in frames) >= 3


def test_ok__a_new_region_starts_again_at_the_cheapest_retry():
    machine = Machine([0.03] * 5)
    ladder = Ladder(range(5), 0.04, machine.clock)
    assert hold(ladder, machine, [0.0, 0.0]) == [[0, 1], [2, 3]]
    before = len(machine.runs)
    ladder.follow([(400, 300, 500, 400)])
    ladder.climb(machine.now, machine.attempt)
    assert machine.runs[before] == 0


def test_ok__the_retry_that_read_runs_first_on_the_next_frame():
    machine = Machine([0.03] * 4)
    ladder = Ladder(range(4), 0.04, machine.clock)
    hold(ladder, machine, [0.0, 0.0])
    assert ladder.climb(machine.now, lambda retry: ["code"] if retry == 2 else []) == ["code"]
    assert ladder.retries[ladder.next] == 2


def test_ok__costs_ignore_the_cold_run_then_follow_the_warm_ones():
    costs = Costs()
    costs.record("zbar", 0.5)
    assert costs.estimate("zbar") == 0.0
    costs.record("zbar", 0.01)
    assert costs.estimate("zbar") == 0.01
    costs.decay("zbar")
    assert costs.estimate("zbar") == 0.01 * DECAY


def test_ok__a_region_persists_while_its_centre_stays_inside():
    assert persists([(0, 0, 100, 100)], [(10, 10, 120, 120)])
    assert not persists([(0, 0, 100, 100)], [(200, 200, 300, 300)])
    assert not persists([], [(0, 0, 10, 10)])

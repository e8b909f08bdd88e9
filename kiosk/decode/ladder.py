"""The robust decoder's retry ladder: honest cost estimates, and a place in the ladder kept while a code is held still.

A card held under the camera gives near-identical frames. Each frame has a
time budget too small for every retry, so the ladder does not start again at
the cheapest retry on each frame: while a QR-like region persists, the next
frame goes on where the last one stopped, and a card held for a second gets
every retry. What each retry costs is learnt on the machine, warm: the first
run of a retry pays one-off costs (loading libzbar, planning a DFT size) and
is not counted, and a retry skipped for its estimate has the estimate cut, so
it runs again and is measured again instead of being excluded for good.
"""
from __future__ import annotations

from typing import Callable, Hashable, Sequence

COLD_RUNS = 1  # runs of each retry whose cost is not counted (one-off start-up costs)
SMOOTHING = 0.3  # weight of the newest warm measurement in a retry's running cost
DECAY = 0.7  # a retry skipped for its estimate has the estimate multiplied by this


class Costs:
    """Running estimate of what each retry costs, in seconds; unknown retries are estimated at 0 (they run)."""

    def __init__(self):
        self._estimate: dict[Hashable, float] = {}
        self._runs: dict[Hashable, int] = {}

    def estimate(self, retry: Hashable) -> float:
        """Return the retry's estimated cost in seconds (0 until it has run warm)."""
        return self._estimate.get(retry, 0.0)

    def record(self, retry: Hashable, seconds: float) -> None:
        """Count one run of ``retry`` that took ``seconds``; cold runs are not counted."""
        runs = self._runs[retry] = self._runs.get(retry, 0) + 1
        if runs <= COLD_RUNS:
            return
        known = self._estimate.get(retry)
        self._estimate[retry] = seconds if known is None else known + SMOOTHING * (seconds - known)

    def decay(self, retry: Hashable) -> None:
        """Cut the retry's estimate, so a retry skipped now fits a frame again later and is re-measured."""
        if retry in self._estimate:
            self._estimate[retry] *= DECAY


Box = tuple[int, int, int, int]


class Ladder:
    """Runs retries in order within each frame's budget, resuming where it stopped while the region persists."""

    def __init__(self, retries: Sequence[Hashable], budget: float, clock: Callable[[], float]):
        self.retries = tuple(retries)
        self.budget = budget
        self.clock = clock
        self.costs = Costs()
        self.next = 0
        self.regions: list[Box] = []

    def follow(self, regions: list[Box]) -> None:
        """Note this frame's regions; start again at the cheapest retry unless they continue the last frame's."""
        if not persists(self.regions, regions):
            self.next = 0
        self.regions = list(regions)

    def climb(self, start: float, attempt: Callable[[Hashable], list]) -> list:
        """Run retries from where the ladder stands until one reads, the budget is spent, or each ran once.

        ``start`` is when the frame's decode began (the budget counts from it); ``attempt(retry)``
        runs one retry and returns what it read. Every frame runs at least one retry whose estimate
        fits the whole budget, so the ladder always moves on.
        """
        ran = 0
        for _ in range(len(self.retries)):
            retry = self.retries[self.next]
            left, estimate = self.budget - (self.clock() - start), self.costs.estimate(retry)
            # The first retry of a frame may use the whole budget, even if the first pass ate into it.
            if not (estimate <= left or (not ran and estimate <= self.budget)):
                if ran:
                    return []  # the next frame starts with this retry, with a whole budget
                self.costs.decay(retry)  # it fits no frame as estimated: make it fit again later, then re-measure
            else:
                ran += 1
                codes = self.timed(retry, attempt)
                if codes:
                    return codes  # stay on this retry: the next frame of the same card tries it first
            self.next = (self.next + 1) % len(self.retries)
        return []

    def timed(self, retry: Hashable, attempt: Callable[[Hashable], list]) -> list:
        """Run ``attempt(retry)``, record what it cost, return what it read."""
        began = self.clock()
        codes = attempt(retry)
        self.costs.record(retry, self.clock() - began)
        return codes


def persists(previous: list[Box], current: list[Box]) -> bool:
    """Return whether a region of ``current`` has its centre inside a region of ``previous``."""
    return any(contains(old, new) for old in previous for new in current)


def contains(outer: Box, inner: Box) -> bool:
    """Return whether box ``outer`` contains the centre of box ``inner``."""
    cx, cy = (inner[0] + inner[2]) / 2, (inner[1] + inner[3]) / 2
    return outer[0] <= cx <= outer[2] and outer[1] <= cy <= outer[3]

"""Where a step's measured window starts: decided from the measured series, never from the model.

Two rules, the later of which wins:

- MSER-5 (White 1997; White, Cobb & Spratt 2000), a published truncation rule: batch the
  series into means of 5 observations z_1..z_m and pick the truncation d that minimises
  ``sum_{i>d} (z_i - mean(z_{d+1..m}))**2 / (m - d)**2``: the point after which what is left
  is most stable per observation kept. As its authors advise, d is sought in the first half
  only (over the whole series, a quiet tail of a stationary series sometimes wins by luck);
  an optimum on that boundary means the series was still moving: it never settled. It is
  applied to the latencies (in completion order) and to the throughput per half second,
  since a ramp can show in either.
- Turnover: in a closed loop the queue a user meets is made by the other users' requests, so
  it has the new step's shape only once every user has completed a request it sent after the
  step began. Until then the latencies belong to the previous population.

A step whose truncation lands past its budget (WARMUP seconds) never settled: it is measured
all the same, from where it did settle, and marked ``unsteady``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .samples import Sample

BATCH = 5  # MSER-5
MIN_BATCHES_LEFT = 5  # the truncation must leave something to measure
INTERVAL = 0.5  # seconds per throughput observation


@dataclass(frozen=True)
class Truncation:
    """Seconds after the step began at which each rule lets the window start."""

    latency: float
    throughput: float
    turnover: float | None  # None: some user never completed a request sent in this step
    drifting: bool = False  # MSER's optimum sat on its boundary: the series never settled

    @property
    def settled_after(self) -> float | None:
        if self.turnover is None or self.drifting:
            return None
        return max(self.latency, self.throughput, self.turnover)


@dataclass(frozen=True)
class Cut:
    dropped: int  # leading observations to drop (a multiple of the batch size)
    drifting: bool


def mser(series: Sequence[float], batch: int = BATCH) -> Cut:
    """MSER-``batch`` over the first half of the series."""
    m = len(series) // batch
    z = [sum(series[i * batch : (i + 1) * batch]) / batch for i in range(m)]
    if m < 2 * MIN_BATCHES_LEFT:
        return Cut(0, False)  # too short to tell; the turnover rule still applies
    best_d, best = 0, None
    last = m // 2
    # Suffix sums make every candidate O(1): sum and sum of squares of z[d:].
    total, squares = sum(z), sum(v * v for v in z)
    for d in range(last + 1):
        n = m - d
        statistic = (squares - total * total / n) / (n * n)
        if best is None or statistic < best - 1e-12 * abs(best):
            best_d, best = d, statistic
        total -= z[d]
        squares -= z[d] * z[d]
    return Cut(best_d * batch, drifting=best_d == last)


def truncate(step: list[Sample], start: float, end: float) -> Truncation:
    """The truncation of one step's samples (completed in [start, end), sorted by end)."""
    ok = [s for s in step if s.ok]
    by_latency = mser([s.response_ms for s in ok])
    latency = ok[by_latency.dropped].end - start if by_latency.dropped else 0.0
    # Each half second's count is already a mean of many requests: batches of one.
    by_throughput = mser(_per_interval(step, start, end), batch=1)
    return Truncation(
        latency,
        by_throughput.dropped * INTERVAL,
        _turnover(step, start),
        by_latency.drifting or by_throughput.drifting,
    )


def truncate_series(throughput: Sequence[float], latency: Sequence[float],
                    interval: float) -> Truncation:  # fmt: skip
    """The open loop's truncation, from per-interval throughput and mean latency.

    There is no turnover rule: an open loop has no users whose queue must turn over, and its
    arrivals do not depend on the answers."""
    by_throughput, by_latency = mser(throughput, batch=1), mser(latency, batch=1)
    return Truncation(
        by_latency.dropped * interval,
        by_throughput.dropped * interval,
        0.0,
        by_latency.drifting or by_throughput.drifting,
    )


def _per_interval(step: list[Sample], start: float, end: float) -> list[float]:
    counts = [0.0] * max(int((end - start) / INTERVAL), 0)
    for s in step:
        i = int((s.end - start) / INTERVAL)
        if 0 <= i < len(counts):
            counts[i] += 1
    return counts


def _turnover(step: list[Sample], start: float) -> float | None:
    """When the last user completed its first request sent after ``start``."""
    first: dict[str, float] = {}
    users: set[str] = set()
    for s in step:
        users.add(s.user)
        if s.start >= start and s.user not in first:
            first[s.user] = s.end
    if not users or first.keys() != users:
        return None
    return max(first.values()) - start

"""Where a step's measured window starts: decided from the measured series, never from the model.

Two rules, the later of which wins:

- MSER-5 (White 1997; White, Cobb & Spratt 2000), a published truncation rule: batch the
  series into means of 5 observations z_1..z_m and pick the truncation d that minimises
  ``sum_{i>d} (z_i - mean(z_{d+1..m}))**2 / (m - d)**2``: the point after which what is left
  is most stable per observation kept. As its authors advise, d is sought in the first half
  only (over the whole series, a quiet tail of a stationary series sometimes wins by luck).
  It is applied to the latencies (in completion order) and to the throughput, since a ramp
  can show in either: the closed loop counts completions per THROUGHPUT_WIDTH (half a
  second), the open loop reads them per recorded slice (``offered.INTERVAL``, one second).

  Whether the series ever settled is a separate test (``shifted``): what is kept before
  mid-step must sit at the level of what follows it, within DRIFT and DRIFT_T batch-means
  standard errors. MSER's own sign of it, an optimum on the half-way boundary, misleads both
  ways on this lab's series. A closed loop completes in batches (40 threads finishing a
  200 ms sleep together): the counts per half second alternate (80, 120, 80...) while the
  batches are in phase and smooth out as jitter spreads them, and MSER reads the fading ripple
  as a quieter tail, on the boundary, although the rate never moved (5 of 60 simulated
  saturated steps, 2 of 56 points of a default sweep). A steady climb with the same ripple
  has its optimum one short of the boundary. And as MSER's statistic is itself an estimate,
  the cut is the earliest candidate within TOLERANCE of the least, and what it would drop is
  taken back from the earliest start whose stretch sits at the level of what it kept: on 16
  observations of pure noise, plain MSER cuts a quarter or more away 12 % of the time.
- Turnover: in a closed loop the queue a user meets is made by the other users' requests, so
  it has the new step's shape only once every user has completed a request it sent after the
  step began. Until then the latencies belong to the previous population.

A step whose truncation lands past its budget (WARMUP, or two of its cycles if longer) never
settled in time: it is measured all the same, from where it did settle, and marked
``unsteady``; so is one whose series never settled (measured from WARMUP).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from statistics import fmean, variance

from loadlab.measure.samples import Sample

BATCH = 5  # MSER-5
MIN_BATCHES_LEFT = 5  # the truncation must leave something to measure
THROUGHPUT_WIDTH = 0.5  # seconds per throughput observation of the closed loop
TOLERANCE = 0.1  # candidates within 10 % of MSER's least statistic are as good
DRIFT = 0.02  # a level shift under 2 % is within the noise of a 6 s window on most points
DRIFT_T = 3.0  # and one under three standard errors may be luck
CHUNKS = 6  # stretches per part for the drift test's standard error


@dataclass(frozen=True)
class Truncation:
    """Seconds after the step began at which each rule lets the window start."""

    latency: float
    throughput: float
    turnover: float | None  # None: some user never completed a request sent in this step
    drifting: bool = False  # a series still moved after mid-step: it never settled
    drifting_in: tuple[str, ...] = ()  # which series drifted: "latency", "throughput"

    @property
    def settled_after(self) -> float | None:
        if self.turnover is None or self.drifting:
            return None
        return max(self.latency, self.throughput, self.turnover)

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> Truncation:
        """run.json's truncation; a key an early format-2 run lacks takes its default."""
        return cls(data.get("latency", 0.0), data.get("throughput", 0.0), data.get("turnover"),
                   data.get("drifting", False), tuple(data.get("drifting_in", ())))  # fmt: skip


@dataclass(frozen=True)
class Cut:
    dropped: int  # leading observations to drop (a multiple of the batch size)
    drifting: bool


def mser(series: Sequence[float], batch: int = BATCH) -> Cut:
    """MSER-``batch`` over the first half of the series, with the guards above."""
    m = len(series) // batch
    z = [sum(series[i * batch : (i + 1) * batch]) / batch for i in range(m)]
    if m < 2 * MIN_BATCHES_LEFT:
        return Cut(0, False)  # too short to tell; the turnover rule still applies
    last = m // 2
    candidates = []
    # Suffix sums make every candidate O(1): sum and sum of squares of z[d:].
    total, squares = sum(z), sum(v * v for v in z)
    for d in range(last + 1):
        n = m - d
        candidates.append(max(squares - total * total / n, 0.0) / (n * n))
        total -= z[d]
        squares -= z[d] * z[d]
    best = min(candidates)
    d = next(d for d, value in enumerate(candidates) if value <= best * (1 + TOLERANCE))
    # On a short series MSER often cuts late by luck: a kept tail that happens to be quieter
    # wins (12 % of noise series of 16 values lost a quarter or more). What it would drop is
    # kept again from the earliest start whose stretch sits at the level of what it kept.
    kept = _chunked(z[d:])  # the same for every candidate start: chunked once
    d = next((e for e in range(d - 1) if not _apart(_chunked(z[e:d]), kept)), d)
    # What is kept before mid-step is compared with what follows it: a series still moving at
    # mid-step differs there; a fading ripple does not. (Where the optimum sits is no guide:
    # a climb with an alternating ripple has its optimum one short of the boundary.)
    before = z[d:last] if last - d >= 2 else z[last // 2 : last]
    return Cut(d * batch, drifting=shifted(before, z[last:]))


def shifted(before: Sequence[float], after: Sequence[float]) -> bool:
    """Whether ``before`` sits at another level than ``after``: by more than DRIFT of it and
    DRIFT_T standard errors, each part's error from the means of CHUNKS stretches of it (a
    batch-means error: neighbouring latencies move together, and an error that took them
    as independent would call every slow wander a drift)."""
    return _apart(_chunked(before), _chunked(after))


def _apart(a: Sequence[float], b: Sequence[float]) -> bool:
    """``shifted`` on parts already chunked."""
    if len(a) < 2 or len(b) < 2:
        return False
    error = math.sqrt(variance(a) / len(a) + variance(b) / len(b))
    gap = abs(fmean(a) - fmean(b))
    return gap > DRIFT * abs(fmean(b)) and gap > DRIFT_T * error


def _chunked(values: Sequence[float]) -> list[float]:
    if len(values) <= CHUNKS:
        return list(values)
    edges = [round(i * len(values) / CHUNKS) for i in range(CHUNKS + 1)]
    return [fmean(values[lo:hi]) for lo, hi in itertools.pairwise(edges)]


def truncate(step: list[Sample], start: float, end: float) -> Truncation:
    """The truncation of one step's samples (completed in [start, end), sorted by end)."""
    ok = [s for s in step if s.ok]
    by_latency = mser([s.response_ms for s in ok])
    latency = ok[by_latency.dropped].end - start if by_latency.dropped else 0.0
    # Each observation's count is already a mean of many requests: batches of one.
    by_throughput = mser(_per_observation(step, start, end), batch=1)
    return Truncation(
        latency,
        by_throughput.dropped * THROUGHPUT_WIDTH,
        _turnover(step, start),
        by_latency.drifting or by_throughput.drifting,
        _drifting_in(latency=by_latency, throughput=by_throughput),
    )


def truncate_series(throughput: Sequence[float], latency: Sequence[float],
                    width: float) -> Truncation:  # fmt: skip
    """The open loop's truncation, from throughput and mean latency per recorded slice
    (``width`` seconds each).

    There is no turnover rule: an open loop has no users whose queue must turn over, and its
    arrivals do not depend on the answers."""
    by_throughput, by_latency = mser(throughput, batch=1), mser(latency, batch=1)
    return Truncation(
        by_latency.dropped * width,
        by_throughput.dropped * width,
        0.0,
        by_latency.drifting or by_throughput.drifting,
        _drifting_in(latency=by_latency, throughput=by_throughput),
    )


def _drifting_in(**cuts: Cut) -> tuple[str, ...]:
    return tuple(name for name, cut in cuts.items() if cut.drifting)


def _per_observation(step: list[Sample], start: float, end: float) -> list[float]:
    counts = [0.0] * max(int((end - start) / THROUGHPUT_WIDTH), 0)
    for s in step:
        i = int((s.end - start) / THROUGHPUT_WIDTH)
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

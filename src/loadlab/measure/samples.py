"""Raw per-request samples from the Locust workers: who sent each request, when, and how it went.

Locust's own percentiles are bucketed and its stats mix every step of a run; the lab keeps
every request instead (one CSV row each, per worker) and computes its numbers from them, so
a window can be cut anywhere after the fact (see ``steady`` and ``estimate``).
"""

from __future__ import annotations

import bisect
import csv
import math
from dataclasses import dataclass
from pathlib import Path

from loadlab.errors import PointError


@dataclass(frozen=True)
class Sample:
    user: str  # the Locust user that sent it: each user is one closed loop
    start: float  # seconds since the epoch, when the request was sent
    end: float  # when the answer (or the error) arrived
    response_ms: float
    error: str  # empty on success

    @property
    def ok(self) -> bool:
        return not self.error


def load(directory: Path) -> list[Sample]:
    """Every worker's samples-*.csv in ``directory``, in completion order."""
    files = sorted(directory.glob("samples-*.csv"))
    if not files:
        raise PointError(f"no Locust worker wrote samples to {directory}")
    found: list[Sample] = []
    for path in files:
        with path.open(newline="") as f:
            found += [
                Sample(
                    r["user"],
                    float(r["start_time"]),
                    float(r["end_time"]),
                    float(r["response_ms"]),
                    r["error"],
                )
                for r in csv.DictReader(f)
            ]
    return sorted(found, key=lambda s: s.end)


def completed_between(samples: list[Sample], start: float, end: float) -> list[Sample]:
    """The samples (sorted by end) whose answer arrived in [start, end)."""
    ends = [s.end for s in samples]
    return samples[bisect.bisect_left(ends, start) : bisect.bisect_left(ends, end)]


def percentile(sorted_values: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default), q in [0, 100]."""
    if not sorted_values:
        raise ValueError("percentile of no values")
    rank = (len(sorted_values) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (rank - low)

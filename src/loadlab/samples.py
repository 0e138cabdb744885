"""Raw per-request samples from the Locust workers, and statistics over a measured window.

Locust's own percentiles are bucketed and its stats mix in the ramp-up; the lab computes
its numbers from every request instead: the window starts ``warmup`` seconds after the first
request and lasts ``duration`` seconds, and only requests that completed inside it count.
"""

from __future__ import annotations

import csv
import math
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from .errors import PointError


@dataclass(frozen=True)
class Sample:
    end_time: float  # seconds since the epoch, when the answer arrived
    response_ms: float
    error: str  # empty on success


@dataclass(frozen=True)
class WindowStats:
    requests: int
    failures: int
    rps: float
    mean_ms: float | None
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    max_ms: float | None
    window_start: float
    window_end: float
    errors: dict[str, int]


def load(directory: Path) -> list[Sample]:
    """Every worker's samples-*.csv in ``directory``, in completion order."""
    files = sorted(directory.glob("samples-*.csv"))
    if not files:
        raise PointError(f"no Locust worker wrote samples to {directory}")
    found: list[Sample] = []
    for path in files:
        with path.open(newline="") as f:
            found += [
                Sample(float(r["end_time"]), float(r["response_ms"]), r["error"])
                for r in csv.DictReader(f)
            ]
    return sorted(found, key=lambda s: s.end_time)


def percentile(sorted_values: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default), q in [0, 100]."""
    if not sorted_values:
        raise ValueError("percentile of no values")
    rank = (len(sorted_values) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (rank - low)


def first_start(samples: list[Sample]) -> float:
    """When the load began: the earliest request start (end time minus response time)."""
    return min(s.end_time - s.response_ms / 1000 for s in samples)


def window(samples: list[Sample], warmup: float, duration: float) -> WindowStats:
    """Statistics of the requests that completed in [start + warmup, start + warmup + duration)."""
    if not samples:
        raise PointError("Locust recorded no request at all")
    start = first_start(samples) + warmup
    end = start + duration
    if samples[-1].end_time < end - 0.5:
        raise PointError(f"samples stop {end - samples[-1].end_time:.1f} s before the window ends")
    inside = [s for s in samples if start <= s.end_time < end]
    ok = sorted(s.response_ms for s in inside if not s.error)
    errors = Counter(s.error for s in inside if s.error)

    def pct(q: float) -> float | None:
        return round(percentile(ok, q), 3) if ok else None

    return WindowStats(
        requests=len(inside),
        failures=sum(errors.values()),
        rps=round(len(ok) / duration, 3),
        mean_ms=round(sum(ok) / len(ok), 3) if ok else None,
        p50_ms=pct(50),
        p95_ms=pct(95),
        p99_ms=pct(99),
        max_ms=round(ok[-1], 3) if ok else None,
        window_start=start,
        window_end=end,
        errors=dict(errors),
    )

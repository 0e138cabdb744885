"""Failures are results: the keys of a run that gave no trusted number.

A key whose points are not "ok" (failed, failing, unsteady, harness-bound, pending), that
had no successful request, or that is missing from the run while the reference measured it,
is listed with its reason and fails a gate like a regression.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from loadlab.judge.keys import Key, key_of
from loadlab.measure.stats import WindowStats
from loadlab.results import PointResult, Run

METRICS = {"rps": "rps_ci", "p95_ms": "p95_ci"}  # metric -> its confidence interval in stats


@dataclass(frozen=True)
class Failure:
    """A key of B that gave no trusted number: it fails a gate like a regression."""

    key: Key
    reason: str


def samples(run: Run) -> dict[Key, list[WindowStats]]:
    """The stats of the trusted repeats of each key, in matrix order."""
    found: dict[Key, list[WindowStats]] = {}
    for result in run.points.values():
        if problem(result) is None and result.stats is not None:
            found.setdefault(key_of(result), []).append(result.stats)
    return found


def problem(result: PointResult) -> str | None:
    """Why a point gives no trusted number, or None when it does."""
    if result.status != "ok":
        flags = getattr(result, "flags", None) or []
        text = result.status + (f" ({', '.join(flags)})" if flags else "")
        if result.status == "pending":
            text = "pending (never measured)"
        return text + (f": {result.error}" if result.error else "")
    stats = result.stats
    if stats is None or any(getattr(stats, metric) is None for metric in METRICS):
        return "ok but without statistics"
    requests = stats.requests
    successes = requests - (stats.failures or 0) if requests is not None else stats.rps
    return None if successes > 0 else "no successful request"


def failures(run: Run, expected: dict[Key, list[WindowStats]] | None = None) -> list[Failure]:
    """Keys of ``run`` without a trusted number, and ``expected`` keys it does not have."""
    by_key: dict[Key, list[PointResult]] = defaultdict(list)
    for result in run.points.values():
        by_key[key_of(result)].append(result)
    found = []
    for key, results in by_key.items():
        problems = [(r.point.repeat, problem(r)) for r in results]
        texts = [
            text if len(results) == 1 else f"repeat {repeat} {text}"
            for repeat, text in problems
            if text
        ]
        if texts:
            found.append(Failure(key, "; ".join(texts)))
    found += [
        Failure(key, f"missing from {run.run_id} (measured in the reference)")
        for key in expected or {}
        if key not in by_key
    ]
    return found

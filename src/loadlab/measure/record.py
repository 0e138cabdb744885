"""The open loop's record: per half second, what every worker sent, dropped and got back.

Each open-loop worker writes one ``hist-<worker>.json``: its intervals (by when things
happened, relative to the run's shared start time t0), each with counts and three encoded
HdrHistograms (latency from the intended send time, latency from the actual send, send lag).
Here the workers' intervals are merged by index, so a window is a run of whole intervals and
its percentiles come from one merged histogram: memory on both sides is bounded by the number
of intervals, not of requests.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from loadlab.errors import PointError
from loadlab.shared import histograms
from loadlab.shared.offered import HISTOGRAMS_PREFIX

COUNTS = ("sent", "dropped", "ok", "failed", "incomplete")
HISTOGRAMS = ("corrected", "uncorrected", "lag")


@dataclass
class Interval:
    """One half second of every worker together."""

    start: float  # epoch seconds
    counts: Counter = field(default_factory=Counter)
    encoded: dict[str, list[str]] = field(default_factory=lambda: {h: [] for h in HISTOGRAMS})


@dataclass(frozen=True)
class Record:
    """Every worker's intervals merged, in time order, and the errors they saw."""

    intervals: list[Interval]
    width: float
    errors: dict[str, int]

    def between(self, start: float, end: float) -> list[Interval]:
        """The intervals lying wholly in [start, end)."""
        eps = 1e-6
        return [
            i
            for i in self.intervals
            if i.start >= start - eps and i.start + self.width <= end + eps
        ]


def load(directory: Path, workers: int) -> Record:
    """Merge ``workers`` workers' hist-*.json; fewer files than workers fails the point."""
    files = sorted(directory.glob(f"{HISTOGRAMS_PREFIX}*.json"))
    if len(files) != workers:
        raise PointError(
            f"open-loop record incomplete: {len(files)} of {workers} workers wrote one"
        )
    merged: dict[int, Interval] = {}
    errors: Counter = Counter()
    width = 0.5
    for path in files:
        data = json.loads(path.read_text())
        width = data["interval"]
        errors.update(data.get("errors") or {})
        for raw in data["intervals"]:
            interval = merged.setdefault(raw["index"], Interval(data["t0"] + raw["index"] * width))
            interval.counts.update({k: raw.get(k, 0) for k in COUNTS})
            for name in HISTOGRAMS:
                interval.encoded[name].append(raw[name])
    return Record([merged[i] for i in sorted(merged)], width, dict(errors))


def total(intervals: list[Interval], name: str) -> int:
    return sum(i.counts[name] for i in intervals)


def merged(intervals: list[Interval], name: str):
    """One histogram of ``name`` over ``intervals`` (every worker's)."""
    return histograms.merge(text for i in intervals for text in i.encoded[name])

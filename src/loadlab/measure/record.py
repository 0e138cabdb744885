"""The open loop's record: per slice of ``offered.INTERVAL`` seconds (one second), what every
worker sent, dropped and got back.

Each open-loop worker writes one ``hist-<worker>.json``: its slices of time (by when things
happened, relative to the run's shared start time t0; the file calls them "intervals" and
their width "interval", as the Locust image writes them), each with counts and three encoded
HdrHistograms (latency from the intended send time, latency from the actual send, send lag).
Here the workers' slices are merged by index, so a window is a run of whole slices and its
percentiles come from one merged histogram: memory on both sides is bounded by the number of
slices, not of requests.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from loadlab.errors import PointError
from loadlab.shared import histograms
from loadlab.shared.offered import HISTOGRAMS_PREFIX, INTERVAL

COUNTS = ("sent", "dropped", "ok", "failed", "incomplete")
HISTOGRAMS = ("corrected", "uncorrected", "lag")


@dataclass
class Slice:
    """One slice of time (``Record.width`` seconds) of every worker together."""

    start: float  # epoch seconds
    counts: Counter = field(default_factory=Counter)
    encoded: dict[str, list[str]] = field(default_factory=lambda: {h: [] for h in HISTOGRAMS})


@dataclass(frozen=True)
class Record:
    """Every worker's slices merged, in time order, and the errors they saw."""

    slices: list[Slice]
    width: float  # seconds per slice, as the workers recorded it (offered.INTERVAL)
    errors: dict[str, int]

    def between(self, start: float, end: float) -> list[Slice]:
        """The slices lying wholly in [start, end)."""
        eps = 1e-6
        return [
            s for s in self.slices if s.start >= start - eps and s.start + self.width <= end + eps
        ]


def load(directory: Path, workers: int) -> Record:
    """Merge ``workers`` workers' hist-*.json; fewer files than workers fails the point."""
    files = sorted(directory.glob(f"{HISTOGRAMS_PREFIX}*.json"))
    if len(files) != workers:
        raise PointError(
            f"open-loop record incomplete: {len(files)} of {workers} workers wrote one"
        )
    merged: dict[int, Slice] = {}
    errors: Counter = Counter()
    width = INTERVAL
    for path in files:
        data = json.loads(path.read_text())
        width = data["interval"]
        errors.update(data.get("errors") or {})
        for raw in data["intervals"]:
            found = merged.setdefault(raw["index"], Slice(data["t0"] + raw["index"] * width))
            found.counts.update({k: raw.get(k, 0) for k in COUNTS})
            for name in HISTOGRAMS:
                found.encoded[name].append(raw[name])
    return Record([merged[i] for i in sorted(merged)], width, dict(errors))


def total(slices: list[Slice], name: str) -> int:
    return sum(s.counts[name] for s in slices)


def merged(slices: list[Slice], name: str):
    """One histogram of ``name`` over ``slices`` (every worker's)."""
    return histograms.merge(text for s in slices for text in s.encoded[name])

"""Latency histograms whose memory does not grow with the number of requests.

Each Locust worker records every latency into an HdrHistogram (fixed buckets, 3 significant
digits: any value is known to within 0.1 %, from 1 us to an hour), ships it encoded (the
HdrHistogram V2 encoding: compressed, base64, a few kB) once per interval, and the driver
merges the intervals of the window and reads its percentiles from the merge. Counts add
exactly, so a merge is the histogram of all the data, whatever the split.

Values are recorded in whole microseconds and given back in milliseconds. Percentiles are
the top of the bucket holding the nearest-rank value (HdrHistogram's convention), so they
never under-state a latency and over-state it by at most 0.1 % plus 1 us.

This module runs inside the Locust image too: stdlib and ``hdrh`` only, nothing from loadlab.
"""

from __future__ import annotations

from collections.abc import Iterable

from hdrh.histogram import HdrHistogram

LOWEST_US = 1
HIGHEST_US = 3_600_000_000  # one hour: nothing the lab measures comes near it
DIGITS = 3
# Percentile keys as in run.json's stats.
PERCENTILES = {"p50_ms": 50.0, "p90_ms": 90.0, "p95_ms": 95.0, "p99_ms": 99.0, "p999_ms": 99.9}


def make() -> HdrHistogram:
    """An empty latency histogram (23,552 counters, about 190 kB, whatever is recorded)."""
    return HdrHistogram(LOWEST_US, HIGHEST_US, DIGITS)


def record(hist: HdrHistogram, seconds: float) -> None:
    """Add one latency given in seconds.

    Out-of-range values are clamped, not dropped: hdrh silently ignores them, and a lost
    request would understate the tail. Below 0 only a clock step can happen (a monotonic
    clock read twice); above an hour means a hung request, shown as an hour.
    """
    hist.record_value(min(max(round(seconds * 1_000_000), 0), HIGHEST_US))


def encode(hist: HdrHistogram) -> str:
    """The histogram as compact text (HdrHistogram V2, zlib, base64), for JSON or a file."""
    return hist.encode().decode("ascii")


def decode(text: str | bytes) -> HdrHistogram:
    """A histogram back from ``encode``'s text (or any HdrHistogram V2 base64 blob)."""
    return HdrHistogram.decode(text.encode("ascii") if isinstance(text, str) else text)


def merge(encoded: Iterable[str | bytes]) -> HdrHistogram:
    """One histogram holding every value of the encoded histograms (empty if there are none)."""
    total = make()
    for text in encoded:
        total.add(decode(text))
    return total


def percentiles(hist: HdrHistogram) -> dict:
    """count, mean, min, p50, p90, p95, p99, p99.9 and max, in milliseconds (None if empty)."""
    count = hist.get_total_count()
    if not count:
        return {
            "count": 0,
            "mean_ms": None,
            "min_ms": None,
            **dict.fromkeys(PERCENTILES),
            "max_ms": None,
        }
    values = hist.get_percentile_to_value_dict(list(PERCENTILES.values()))
    return {
        "count": count,
        # The mean uses each bucket's midpoint, so it is within 0.05 % of the exact mean.
        "mean_ms": round(hist.get_mean_value() / 1000, 3),
        # hdrh's get_min_value() reads 0 after a merge into an empty histogram; the 0th
        # percentile is the lowest value of the first non-empty bucket.
        "min_ms": hist.get_value_at_percentile(0) / 1000,
        **{key: values[p] / 1000 for key, p in PERCENTILES.items()},
        "max_ms": hist.get_max_value() / 1000,
    }

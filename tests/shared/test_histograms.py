"""Latency histograms: exact merges, percentiles within the stated precision, bounded memory."""

from __future__ import annotations

import math
import random
import statistics
import tracemalloc

import pytest

from loadlab.shared import histograms

N = 100_000


@pytest.fixture(scope="module")
def latencies() -> list[float]:
    """Seconds, lognormal: median 50 ms, a long tail past a second (like a queueing service)."""
    rng = random.Random(42)
    return [rng.lognormvariate(math.log(0.05), 1.0) for _ in range(N)]


@pytest.fixture(scope="module")
def whole(latencies):
    hist = histograms.make()
    for seconds in latencies:
        histograms.record(hist, seconds)
    return hist


def nearest_rank(sorted_us: list[int], percent: float) -> int:
    """The exact percentile with HdrHistogram's rank rule: the ceil-ish p x N-th value."""
    rank = max(1, int(percent * len(sorted_us) / 100 + 0.5))
    return sorted_us[rank - 1]


def test_merge_of_parts_is_the_histogram_of_all_the_data(latencies, whole):
    """Encoded per-worker histograms of uneven shares merge into exactly the whole histogram."""
    rng = random.Random(5)
    parts = [histograms.make() for _ in range(5)]
    for seconds in latencies:
        histograms.record(parts[min(4, int(rng.expovariate(1.0)))], seconds)
    merged = histograms.merge(histograms.encode(part) for part in parts)
    assert list(merged.counts) == list(whole.counts)
    assert histograms.encode(merged) == histograms.encode(whole)
    assert histograms.percentiles(merged) == histograms.percentiles(whole)


def test_percentiles_match_exact_ones_within_the_histograms_precision(latencies, whole):
    """Each percentile is the exact nearest-rank value raised by at most 0.1 % plus 1 us.

    3 significant digits give buckets at most 1/1024 of their value wide, and a percentile
    reads the top of its bucket; 1 us is the lowest bucket's width.
    """
    exact = sorted(round(s * 1_000_000) for s in latencies)
    got = histograms.percentiles(whole)
    for key, percent in histograms.PERCENTILES.items():
        want = nearest_rank(exact, percent)
        assert want <= got[key] * 1000 <= want * 1.001 + 1, key
    assert exact[-1] <= got["max_ms"] * 1000 <= exact[-1] * 1.001 + 1
    assert got["min_ms"] * 1000 <= exact[0]
    assert got["count"] == N


def test_mean_is_within_half_a_bucket_of_the_exact_mean(latencies, whole):
    """The mean from bucket midpoints is within 0.05 % (half a bucket) plus 1 us of the exact."""
    exact_ms = statistics.fmean(latencies) * 1000
    assert abs(histograms.percentiles(whole)["mean_ms"] - exact_ms) <= exact_ms * 5e-4 + 0.001


def test_encoding_round_trips(whole):
    """decode(encode(h)) has the same counts and percentiles as h, in a few kB of text."""
    text = histograms.encode(whole)
    assert isinstance(text, str) and len(text) < 16_000
    back = histograms.decode(text)
    assert list(back.counts) == list(whole.counts)
    assert histograms.percentiles(back) == histograms.percentiles(whole)


def test_memory_does_not_grow_with_the_number_of_values():
    """Recording 200,000 more values allocates nothing that stays, and the encoding stays small."""
    hist = histograms.make()
    rng = random.Random(3)
    for _ in range(1000):
        histograms.record(hist, rng.lognormvariate(-3, 1))
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(200_000):
            histograms.record(hist, rng.lognormvariate(-3, 1))
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert grown < 1024
    assert len(hist.counts) == histograms.make().counts_len
    assert len(histograms.encode(hist)) < 16_000


def test_out_of_range_values_are_clamped_not_lost():
    """A negative latency counts as 0 and one beyond an hour as an hour: the count is kept."""
    hist = histograms.make()
    for seconds in (-0.001, 0.2, 10_000.0):
        histograms.record(hist, seconds)
    got = histograms.percentiles(hist)
    assert got["count"] == 3
    assert got["min_ms"] == 0
    assert got["max_ms"] == pytest.approx(3_600_000, rel=0.001)


def test_empty_histogram_has_a_count_and_no_percentiles():
    """No values (or merging nothing) gives count 0 and None for every statistic."""
    for hist in (histograms.make(), histograms.merge([])):
        got = histograms.percentiles(hist)
        assert got.pop("count") == 0
        assert set(got.values()) == {None}

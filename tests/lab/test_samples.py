"""Window statistics from raw samples: warmup excluded, exact percentiles, failures apart."""

from __future__ import annotations

import pytest

from loadlab.errors import PointError
from loadlab.samples import Sample, load, percentile, window


def steady(rps: int, seconds: int, ms: float = 125.0, t0: float = 1000.0) -> list[Sample]:
    """``rps`` completions a second for ``seconds``, the first request starting at ``t0``."""
    return [Sample(t0 + ms / 1000 + i / rps, ms, "") for i in range(rps * seconds)]


def test_percentile_interpolates_like_numpy():
    """Linear interpolation between closest ranks, as numpy.percentile does by default."""
    values = [1.0, 2.0, 3.0, 4.0]
    assert (percentile(values, 0), percentile(values, 50), percentile(values, 100)) == (1, 2.5, 4)
    assert percentile(values, 95) == pytest.approx(3.85)


def test_window_excludes_warmup_and_counts_only_the_window():
    """With warmup 2 s and duration 5 s, 10 rps over 10 s gives 50 requests and 10 rps."""
    stats = window(steady(10, 10), warmup=2, duration=5)
    assert (stats.requests, stats.rps, stats.failures) == (50, 10.0, 0)
    assert stats.p50_ms == 125.0


def test_warmup_latencies_do_not_leak_into_the_window():
    """Slow requests during the warmup leave the window's percentiles untouched."""
    slow_start = [Sample(1000.5, 500.0, ""), *steady(10, 10, t0=1000.0)]
    assert window(slow_start, warmup=2, duration=5).max_ms == 125.0


def test_failures_are_counted_apart_from_throughput():
    """Failed requests count as requests and failures, not in rps or the percentiles."""
    data = steady(10, 10) + [Sample(1004.0, 1.0, "HTTPError: 503")] * 7
    stats = window(sorted(data, key=lambda s: s.end_time), warmup=2, duration=5)
    assert (stats.requests, stats.failures, stats.rps) == (57, 7, 10.0)
    assert stats.errors == {"HTTPError: 503": 7} and stats.p50_ms == 125.0


def test_a_window_longer_than_the_samples_is_an_error():
    """Samples that stop before the window ends fail the point instead of under-counting."""
    with pytest.raises(PointError, match="before the window ends"):
        window(steady(10, 5), warmup=2, duration=5)


def test_load_merges_every_worker_file(tmp_path):
    """Samples from each worker's file are merged in completion order."""
    (tmp_path / "samples-a.csv").write_text("end_time,response_ms,error\n2.0,5.0,\n")
    (tmp_path / "samples-b.csv").write_text("end_time,response_ms,error\n1.0,7.0,x\n")
    assert [s.end_time for s in load(tmp_path)] == [1.0, 2.0]
    with pytest.raises(PointError, match="no Locust worker"):
        load(tmp_path / "missing")

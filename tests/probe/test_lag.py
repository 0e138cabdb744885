"""The lag monitor: percentiles over a time range, the ring it keeps, a real loop's lag."""

from __future__ import annotations

import asyncio
import math
import time

import pytest

from loadlab.probe.lag import Monitor, Ring, summarize

# A hundred samples, one a second from t=1 to t=100, the one at t=k late by k-1 ms.
RAMP = [(float(t), (t - 1) / 1000) for t in range(1, 101)]


def test_percentiles_are_nearest_rank_over_the_whole_range():
    """Over 0..99 ms, p50 is the 50th smallest (49 ms), p99 the 99th (98 ms), max 99 ms."""
    found = summarize(RAMP, 1, 100)
    assert found == {"samples": 100, "p50_ms": 49.0, "p99_ms": 98.0, "max_ms": 99.0}


def test_only_the_samples_in_the_range_count_both_ends_included():
    """From t=11 to t=20 the lags are 10..19 ms: p50 14, p99 and max 19."""
    found = summarize(RAMP, 11, 20)
    assert found == {"samples": 10, "p50_ms": 14.0, "p99_ms": 19.0, "max_ms": 19.0}


def test_one_blocked_tick_shows_in_p99_and_max_not_in_p50():
    """A single 200 ms stall among 99 punctual ticks is the max, and p99 of 100 (nearest
    rank: the 99th) stays punctual; the median never moves."""
    samples = [(float(t), 0.0005) for t in range(99)] + [(99.0, 0.2)]
    found = summarize(samples, 0, 99)
    assert (found["p50_ms"], found["p99_ms"], found["max_ms"]) == (0.5, 0.5, 200.0)
    found = summarize(samples, 50, 99)  # 50 samples: the 99th percentile is the largest
    assert (found["p99_ms"], found["max_ms"]) == (200.0, 200.0)


@pytest.mark.parametrize(("since", "until"), [(200, 300), (50.5, 50.9), (10, 5)])
def test_no_sample_in_the_range_gives_null_percentiles(since, until):
    """A range with no sample reports zero samples and None for every percentile."""
    assert summarize(RAMP, since, until) == {
        "samples": 0,
        "p50_ms": None,
        "p99_ms": None,
        "max_ms": None,
    }


def test_the_ring_keeps_the_last_samples_only():
    """Past its capacity the ring overwrites its oldest samples and keeps counting."""
    ring = Ring(capacity=3)
    for t in range(5):
        ring.add(float(t), t / 10)
    assert sorted(ring) == [(2.0, 0.2), (3.0, 0.3), (4.0, 0.4)]
    assert ring.count == 5
    assert list(Ring(capacity=3)) == []


def test_a_blocked_loop_is_one_late_tick_and_a_free_loop_is_punctual():
    """On a real loop, time.sleep(0.15) in a coroutine shows as a tick >= 100 ms late, the
    ticks around it under 50 ms; stop() arms no further timer."""

    async def scenario() -> Monitor:
        monitor = Monitor(interval=0.01)
        monitor.start(asyncio.get_running_loop())
        await asyncio.sleep(0.1)
        time.sleep(0.15)  # blocks the loop: the armed timer fires late
        await asyncio.sleep(0.1)
        monitor.stop()
        return monitor

    monitor = asyncio.run(scenario())
    found = summarize(monitor.ring, -math.inf, math.inf)
    assert found["max_ms"] >= 100
    assert found["p50_ms"] < 50
    assert 5 <= found["samples"] <= 25  # about 20 ticks of 10 ms in 0.35 s, one of them late
    count = monitor.ring.count
    asyncio.run(asyncio.sleep(0.05))
    assert monitor.ring.count == count


def test_lag_samples_carry_wall_clock_times():
    """Each sample is stamped with time.time(), so an epoch range from the driver finds it."""

    async def scenario() -> Monitor:
        monitor = Monitor(interval=0.005)
        monitor.start(asyncio.get_running_loop())
        await asyncio.sleep(0.05)
        monitor.stop()
        return monitor

    before = time.time()
    monitor = asyncio.run(scenario())
    after = time.time()
    assert all(before <= when <= after and lag >= 0 for when, lag in monitor.ring)
    assert summarize(monitor.ring, before, after)["samples"] == monitor.ring.count > 0

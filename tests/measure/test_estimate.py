"""Window estimators on synthetic closed-loop traces and open-loop slices whose true values
are known."""

from __future__ import annotations

import random
from statistics import fmean

import pytest

from loadlab.measure.estimate import (
    batch_count,
    closed_loop,
    confidence_interval,
    lag1,
    open_loop,
    t_quantile,
    throughput,
)
from loadlab.measure.record import Slice
from loadlab.measure.samples import Sample
from loadlab.shared import histograms

from .closed_loop import simulate

T0 = 1000.0


def test_batch_case_is_not_quantized():
    """10 users sleeping 0.2 s in lockstep: the estimate is 10 / (0.2 + gap) within 0.2 %."""
    trace = simulate(10, 1000, 0.2, gap=0.0005, seconds=30)
    truth = 10 / 0.2005
    worst_count = 0.0
    for start, length in [(T0 + 2, 6.0), (T0 + 2.05, 6.1), (T0 + 3.33, 5.55), (T0 + 2.1, 5.9)]:
        stats = closed_loop(trace, start, start + length, users=10)
        assert stats.rps == pytest.approx(truth, rel=0.002)
        worst_count = max(worst_count, abs(stats.rps_count - truth) / truth)
    # A plain count of the same windows steps with the batches (the few-per-cent steps).
    assert worst_count > 0.01


def test_saturated_pool_gives_p_over_s_and_never_more():
    """80 users through 40 threads of 0.2 s: 200 rps within 0.2 %, CI inside the physics."""
    stats = closed_loop(simulate(80, 40, 0.2, seconds=40), T0 + 5, T0 + 35, users=80)
    assert stats.rps == pytest.approx(200, rel=0.002)
    assert stats.rps <= 200 * 1.0005
    assert stats.mean_ms == pytest.approx(400, rel=0.01)


def test_heterogeneous_queue_with_jitter_matches_the_long_run_rate():
    """With 20 % service jitter and 6 threads for 120 users, the rate is 6 / 0.2 = 30 rps."""
    stats = closed_loop(simulate(120, 6, 0.2, jitter=0.2, seconds=120), T0 + 20, T0 + 115, 120)
    assert stats.rps == pytest.approx(30, rel=0.01)


def test_littles_law_error_is_the_clients_own_gap():
    """With a 2 ms client gap on a 200 ms cycle, Little's-law error is about -1 %."""
    stats = closed_loop(simulate(10, 100, 0.2, gap=0.002, seconds=20), T0 + 2, T0 + 18, 10)
    assert stats.little_error_pct == pytest.approx(-100 * 0.002 / 0.202, abs=0.05)
    exact = closed_loop(simulate(10, 100, 0.2, gap=0.0, seconds=20), T0 + 2, T0 + 18, 10)
    assert abs(exact.little_error_pct) < 0.01


def test_failures_count_as_requests_not_throughput():
    """Half the requests failing halves the successful throughput; the ratio is reported."""
    trace = [
        Sample(s.user, s.start, s.end, s.response_ms, "HTTPError: 503" if i % 2 else "")
        for i, s in enumerate(simulate(10, 100, 0.2, seconds=20))
    ]
    stats = closed_loop(trace, T0 + 2, T0 + 18, 10)
    assert stats.failure_ratio == pytest.approx(0.5, abs=0.01)
    assert stats.rps == pytest.approx(10 / 0.2005 / 2, rel=0.01)
    assert stats.errors == {"HTTPError: 503": stats.failures}


def test_throughput_of_no_cycle_is_zero():
    """One completion per user gives no cycle, hence no rate (not a division by zero)."""
    assert throughput([Sample("a", 0, 1, 1000, "")]) == 0.0


def test_t_quantiles_match_tables():
    """t(0.975) for 2, 9 and 1000 degrees of freedom: 4.303, 2.262, 1.962 (standard tables)."""
    assert t_quantile(0.975, 2) == pytest.approx(4.303, abs=1e-3)
    assert t_quantile(0.975, 9) == pytest.approx(2.262, abs=1e-3)
    assert t_quantile(0.975, 1000) == pytest.approx(1.962, abs=1e-3)


def test_confidence_interval_covers_the_truth_at_about_95_percent():
    """Over 2000 synthetic windows of 10 normal batch values, the CI covers the mean ~95 %."""
    rng = random.Random(7)
    covered = 0
    for _ in range(2000):
        values = [rng.gauss(100, 5) for _ in range(10)]
        low, high = confidence_interval(fmean(values), values)
        covered += low <= 100 <= high
    # Binomial sd at 95 % over 2000 trials is 0.49 %: 93.5-96.5 % is three sd.
    assert 0.935 <= covered / 2000 <= 0.965


def test_batches_are_long_enough_for_the_queue():
    """A 4 s mean latency in a 30 s window allows 7 batches; in 10 s, none (no CI)."""
    assert batch_count(30, 4000) == 7 and batch_count(10, 4000) == 0
    assert batch_count(30, 200) == 10


def test_lag1_of_a_trend_is_high_and_of_alternation_negative():
    """A rising series is strongly autocorrelated; an alternating one is negatively."""
    assert lag1(list(range(10))) > 0.5
    assert lag1([1, -1] * 5) < 0
    assert lag1([3.0] * 5) == 0.0


def test_io_like_point_has_a_narrow_interval():
    """A jittery 200 ms sleep through 40 threads: rps CI half-width well under 1 %."""
    trace = simulate(40, 40, 0.2, jitter=0.02, seconds=40)
    stats = closed_loop(trace, T0 + 5, T0 + 35, 40)
    low, high = stats.rps_ci
    assert low <= stats.rps <= high and (high - low) / 2 / stats.rps < 0.01
    assert stats.batches >= 3 and stats.mean_ci is not None and stats.p95_ci is not None


def test_long_variable_cycles_are_not_favoured_short():
    """50 users whose requests take 0.2-3.8 s (mean 2 s), in 5 s windows: throughput stays
    50 / 2 = 25/s within 2 % on average. Counting only cycles that fit in a window read
    30.4/s here (the inspection paradox: short cycles fit more often)."""
    trace = simulate(50, 1000, 2.0, jitter=0.9, gap=0.0, seconds=400, seed=3)
    found = [closed_loop(trace, T0 + 20 + 5 * i, T0 + 25 + 5 * i, 50).rps for i in range(70)]
    assert fmean(found) == pytest.approx(25, rel=0.02)


def open_slices(count: int = 10, workers: int = 2) -> list[Slice]:
    """``count`` one-second slices of ``workers`` workers, each worker sending 52 and dropping 3
    a second, 50 answered (40-59.6 ms from the actual send, sent 30 ms late) and 1 failed."""
    slices = []
    for i in range(count):
        found = Slice(start=T0 + i)
        for _ in range(workers):
            found.counts.update(sent=52, dropped=3, ok=50, failed=1)
            hists = {name: histograms.make() for name in ("corrected", "uncorrected", "lag")}
            for j in range(50):
                served = 0.040 + 0.0004 * j
                histograms.record(hists["uncorrected"], served)
                histograms.record(hists["corrected"], served + 0.030)
                histograms.record(hists["lag"], 0.030)
            for name, hist in hists.items():
                found.encoded[name].append(histograms.encode(hist))
        slices.append(found)
    return slices


def test_open_loop_latency_counts_from_the_intended_send():
    """Sends 30 ms late: the latency from the intended time is the served time plus 30 ms,
    the uncorrected one the served time alone (mean 49.8 ms), and the lag reads 30 ms."""
    stats = open_loop(open_slices(), 1.0, 110.0, {"HTTPError: 503": 20})
    assert stats.mean_uncorrected_ms == pytest.approx(49.8, rel=1e-3)
    assert stats.mean_ms == pytest.approx(79.8, rel=1e-3)
    assert stats.mean_ms - stats.mean_uncorrected_ms == pytest.approx(30.0, abs=0.1)
    assert stats.p50_ms > stats.p50_uncorrected_ms and stats.p99_ms > stats.p99_uncorrected_ms
    assert stats.lag_p99_ms == pytest.approx(30.0, rel=1e-3)


def test_open_loop_counts_drops_sends_and_answers():
    """Over 10 slices of 2 workers: 60 dropped, 104 sent and 100 answered a second, 20 failed."""
    stats = open_loop(open_slices(), 1.0, 110.0, {"HTTPError: 503": 20})
    assert stats.dropped == 60
    assert (stats.sent_rate, stats.rps, stats.offered_rate) == (104.0, 100.0, 110.0)
    assert (stats.requests, stats.failures) == (1020, 20)
    assert stats.failure_ratio == pytest.approx(20 / 1020, abs=1e-6)
    assert (stats.window_start, stats.window_end, stats.duration) == (T0, T0 + 10, 10.0)
    assert stats.batches == 10 and stats.rps_ci == (100.0, 100.0)


def test_a_closed_loop_p99_has_an_interval_once_each_batch_holds_a_hundred_answers():
    """A p99 SLO under a closed loop (make capacity USERS=) needs p99's interval: from at
    least 3 batches of 100 answers each, around the window's p99; none from a shorter window."""
    trace = simulate(10, 100, 0.05, jitter=0.5, seconds=40)
    long = closed_loop(trace, T0 + 5, T0 + 35, users=10)  # ~200/s: 6000 answers
    assert long.p99_ci is not None and long.p99_ci[0] <= long.p99_ms <= long.p99_ci[1]
    short = closed_loop(trace, T0 + 5, T0 + 6, users=10)  # ~200 answers: 2 batches at most
    assert short.p99_ci is None

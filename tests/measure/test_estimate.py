"""Window estimators on synthetic closed-loop traces and open-loop slices whose true values
are known."""

from __future__ import annotations

import functools
import random
from collections.abc import Callable
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


# --- Closed loops built by hand, where every batch's true numbers are known ----------------


def loops(cycles: list[float], seconds: float,
          latency_ms: Callable[[int, int], float] = lambda i, n: 100.0, *, lockstep: bool = False,
          failing: Callable[[int, int], bool] = lambda i, n: False) -> list[Sample]:  # fmt: skip
    """User i completes its answer n at T0 + i/64 + n * cycles[i] (all at T0 + n * cycle if
    ``lockstep``), from n = -2 so that every user has whole cycles before T0; the answer took
    ``latency_ms(i, n)`` and failed if ``failing(i, n)``. Times and cycle lengths are binary
    fractions, so every number below is exact."""
    out = []
    for i, cycle in enumerate(cycles):
        for n in range(-2, int(seconds / cycle) + 2):
            end = T0 + (0.0 if lockstep else i / 64) + n * cycle
            ms = latency_ms(i, n)
            out.append(Sample(f"u{i}", end - ms / 1000, end, ms,
                              "HTTPError: 503" if failing(i, n) else ""))  # fmt: skip
    return sorted(out, key=lambda s: s.end)


def test_users_of_different_speeds_read_their_exact_rate_in_every_batch():
    """8 users cycling every 0.5 s and 24 every second: 8 / 0.5 + 24 = 40/s, in the window and
    in each of its 10 one-second batches, so the interval is the point itself. A completion on
    a batch's (or the window's) end belongs to the next one: counted twice it would skew both."""
    stats = closed_loop(loops([0.5] * 8 + [1.0] * 24, 12), T0, T0 + 10, users=32)
    assert stats.rps == 40.0
    assert stats.batches == 10 and stats.rps_ci == (40.0, 40.0)


def test_bursts_of_users_in_lockstep_halve_the_batches_until_none_is_empty():
    """20 users in lockstep, answering every second in 100 ms: 10 batches of 0.5 s would
    leave every other one empty, so the 5 s window is cut into 5 batches of one second."""
    stats = closed_loop(loops([1.0] * 20, 8, lockstep=True), T0, T0 + 5, users=20)
    assert stats.batches == 5
    assert stats.rps_ci == (20.0, 20.0) and stats.mean_ci == (100.0, 100.0)


def test_a_window_where_every_request_failed_has_no_latency_and_no_throughput():
    """Every answer an error: failure ratio 1, no successful rate, and no latency figure, no
    interval and no Little's-law error (None, never a number made up from nothing)."""
    trace = loops([1.0] * 10, 12, failing=lambda i, n: True)
    stats = closed_loop(trace, T0 + 1, T0 + 9, users=10)
    assert (stats.requests, stats.failures, stats.failure_ratio) == (80, 80, 1.0)
    assert stats.rps == 0.0 and stats.rps_ci is None and stats.batches == 0
    assert stats.mean_ms is None and stats.p50_ms is None and stats.max_ms is None
    assert stats.little_error_pct is None


def test_a_window_where_nothing_completed_reports_zero_requests():
    """A window after the last answer: no requests, a failure ratio of 0, no rate, no interval."""
    stats = closed_loop(loops([1.0] * 10, 5), T0 + 20, T0 + 30, users=10)
    assert (stats.requests, stats.failures, stats.failure_ratio) == (0, 0, 0.0)
    assert (stats.rps, stats.mean_ms, stats.rps_ci, stats.batches) == (0.0, None, None, 0)
    assert stats.little_error_pct is None


def test_a_window_shorter_than_three_mean_latencies_has_no_interval():
    """Answers taking 4 s on average in a 10 s window: not 3 batches of a full turn of the
    queue fit, so there is no interval (batches 0), however many requests completed."""
    trace = simulate(100, 1000, 4.0, jitter=0.5, seconds=40)
    stats = closed_loop(trace, T0 + 10, T0 + 20, users=100)
    assert stats.requests > 200
    assert (stats.rps_ci, stats.mean_ci, stats.batches) == (None, None, 0)


def test_three_batches_are_enough_for_an_interval():
    """The same 4 s answers in a 13 s window: exactly 3 batches fit, and give intervals."""
    trace = simulate(100, 1000, 4.0, jitter=0.5, seconds=60)
    stats = closed_loop(trace, T0 + 10, T0 + 23, users=100)
    assert stats.batches == 3
    assert stats.rps_ci is not None and stats.mean_ci is not None


def drifting(*latencies: float) -> list[Sample]:
    """32 users answering once a second, every answer of second n taking latencies[n]."""
    last = len(latencies) - 1
    return loops([1.0] * 32, 8, lambda i, n: latencies[min(max(n, 0), last)])


@pytest.mark.parametrize(
    ("latencies", "batches"),
    [
        # A ramp that levels off: lag-1 0.61 over 6 batches, so they are merged into 3.
        ((900, 900, 910, 920, 930, 930), 3),
        # A step half-way: lag-1 exactly 0.5, which does not exceed the limit: 6 stay.
        ((900, 900, 900, 950, 950, 950), 6),
    ],
)
def test_correlated_batches_are_merged_in_pairs_only_above_a_lag1_of_one_half(latencies, batches):
    """Six one-second batches (answers of about 0.9 s in 6 s) are halved while their means'
    lag-1 autocorrelation exceeds 0.5, and the merged batches still give intervals."""
    stats = closed_loop(drifting(*latencies), T0, T0 + 6, users=32)
    assert stats.batches == batches
    assert stats.mean_ci is not None and stats.rps_ci == (32.0, 32.0)


def test_a_batch_where_half_the_requests_failed_reads_half_the_successful_rate():
    """32 users once a second, half of them failing in the second second: the batches read
    32, 16 and 32 successful requests a second, and the interval is theirs."""
    trace = loops([1.0] * 32, 5, lambda i, n: 900.0, failing=lambda i, n: n == 1 and i % 2 == 0)
    stats = closed_loop(trace, T0, T0 + 3, users=32)
    assert stats.rps == pytest.approx(32 * 80 / 96, abs=1e-3)
    assert stats.batches == 3
    assert stats.rps_ci == confidence_interval(32 * 80 / 96, [32.0, 16.0, 32.0])


@pytest.mark.parametrize(("users", "has_p95_ci"), [(20, True), (19, False)])
def test_a_p95_interval_needs_twenty_answers_in_every_batch(users, has_p95_ci):
    """Batches of one second of users answering once a second: 20 answers each are enough for
    a p95 interval, 19 are not (the p95 would be one of the largest values); the mean's stays."""
    trace = loops([1.0] * users, 12, lambda i, n: 100.0 + i)
    stats = closed_loop(trace, T0, T0 + 10, users=users)
    assert stats.batches == 10 and stats.mean_ci is not None
    assert (stats.p95_ci is not None) is has_p95_ci


def test_a_closed_loop_p99_interval_from_batches_of_exactly_a_hundred_answers():
    """50 users once a second over 6 s: 300 answers, 3 batches of exactly 100, the minimum."""
    stats = closed_loop(loops([1.0] * 50, 8, lambda i, n: 100.0 + i), T0, T0 + 6, users=50)
    assert stats.p99_ci is not None and stats.p99_ci[0] <= stats.p99_ms <= stats.p99_ci[1]


def test_a_batch_p99_is_not_its_slowest_answer():
    """3 batches of 2 s, each holding the same 128 latencies (100-227 ms), except that in one
    the slowest answer took 5 s: every batch's p99 is still 225.73 ms, so they agree and the
    p99 interval is the window's p99 itself."""

    def latency(i: int, n: int) -> float:
        return 5000.0 if (i, n) == (63, 3) else 100.0 + i + 64 * (n % 2)

    stats = closed_loop(loops([1.0] * 64, 8, latency), T0, T0 + 6, users=64)
    assert stats.max_ms == 5000.0 and stats.p99_ms == 226.0
    assert stats.p99_ci == (226.0, 226.0)


def test_batch_count_boundaries():
    """Batches at least one mean latency long: 12 s of 4 s answers hold exactly 3, 11.99 s
    none; half-second answers in 2 s allow 4; with no latency measured, the most (10)."""
    assert batch_count(12, 4000) == 3
    assert batch_count(11.99, 4000) == 0
    assert batch_count(2, 500) == 4
    assert batch_count(30, None) == 10


def test_three_batch_values_give_an_interval_and_two_none():
    """The interval needs MIN_BATCHES (3) batch values; with 2 it is None, not a guess."""
    assert confidence_interval(10.0, [9.0, 10.0, 11.0]) is not None
    assert confidence_interval(10.0, [9.0, 11.0]) is None


def test_t_quantile_below_one():
    """The upper quartile of t with 10 degrees of freedom is 0.700 (tables): below 1 too."""
    assert t_quantile(0.75, 10) == pytest.approx(0.700, abs=1e-3)


def test_throughput_is_users_times_cycles_over_their_time():
    """Four 0.1 s cycles of one user make 10/s (a total under a second is still a rate);
    the same cycles with U = 4 given make 40/s; cycles of no time at all make no rate."""
    one = [Sample("a", 0.0, 0.1 * i, 1.0, "") for i in range(1, 6)]
    assert throughput(one) == pytest.approx(10.0)
    assert throughput(one, users=4) == pytest.approx(40.0)
    same_instant = [Sample("a", 0.5, 1.0, 500.0, ""), Sample("a", 0.5, 1.0, 500.0, "")]
    assert throughput(same_instant) == 0.0


# --- Open-loop slices built by hand ---------------------------------------------------------


def slices_of(answered: list[int], latency_ms: Callable[[int], float] = lambda j: 50.0, *,
              width: float = 1.0, sent: list[int] | None = None,
              incomplete: int = 0) -> list[Slice]:  # fmt: skip
    """One worker's slices of ``width`` seconds from T0: slice j got ``answered[j]`` answers,
    each ``latency_ms(j)`` after its intended (and actual) send; ``sent[j]`` sends (default:
    as many as answered) and ``incomplete`` unanswered ones per slice."""
    slices = []
    for j, count in enumerate(answered):
        found = Slice(start=T0 + j * width)
        found.counts.update(ok=count, sent=sent[j] if sent else count, incomplete=incomplete)
        latency, lag = _encoded(count, latency_ms(j)), _encoded(count, 0.1)
        found.encoded.update(corrected=[latency], uncorrected=[latency], lag=[lag])
        slices.append(found)
    return slices


@functools.cache
def _encoded(count: int, ms: float) -> str:
    """A histogram of ``count`` latencies of ``ms``, encoded as a worker ships it."""
    hist = histograms.make()
    for _ in range(count):
        histograms.record(hist, ms / 1000)
    return histograms.encode(hist)


def test_an_open_window_without_a_whole_slice_reports_nothing_measured():
    """No slice in the window: zero requests and rates, no edges, no interval (batches 0)."""
    stats = open_loop([], 1.0, 100.0, {})
    assert (stats.requests, stats.failures, stats.failure_ratio) == (0, 0, 0.0)
    assert (stats.rps, stats.sent_rate, stats.offered_rate) == (0.0, 0.0, 100.0)
    assert (stats.window_start, stats.window_end, stats.duration) == (None, None, 0.0)
    assert stats.batches == 0
    assert (stats.rps_ci, stats.mean_ci, stats.p50_ci, stats.p95_ci, stats.p99_ci) == (None,) * 5


def test_open_loop_rates_are_per_second_whatever_the_slice_width():
    """Five half-second slices answering 45, 55, 45, 55, 45 (90 and 110/s) and sending 251 in
    all: 98 answers a second over 2.5 s, 100.4 sent a second, an interval over 90/s and 110/s
    batches, and the requests left unanswered counted."""
    slices = slices_of([45, 55, 45, 55, 45], width=0.5, sent=[50, 50, 50, 50, 51], incomplete=2)
    stats = open_loop(slices, 0.5, 100.0, {})
    assert (stats.rps, stats.sent_rate, stats.duration) == (98.0, 100.4, 2.5)
    assert (stats.window_start, stats.window_end) == (T0, T0 + 2.5)
    assert stats.batches == 5
    assert stats.rps_ci == confidence_interval(98.0, [90.0, 110.0, 90.0, 110.0, 90.0])
    assert stats.incomplete == 10


def test_an_open_loop_ramp_is_merged_into_two_second_batches():
    """Answers rising 100, 110 ... 190 a second over 10 slices are correlated (lag-1 0.7):
    the batches are merged in pairs once, and the interval is over the 2 s batches' rates."""
    stats = open_loop(slices_of(list(range(100, 200, 10))), 1.0, 150.0, {})
    assert stats.batches == 5
    assert stats.rps_ci == confidence_interval(145.0, [105.0, 125.0, 145.0, 165.0, 185.0])


@pytest.mark.parametrize(
    ("answered", "batches"),
    [
        # A ramp that levels off over 6 slices: lag-1 0.61, merged into 3.
        ([100, 100, 110, 120, 130, 130], 3),
        # A straight ramp over 6 slices: lag-1 exactly 0.5, not above it: 6 stay.
        ([100, 110, 120, 130, 140, 150], 6),
        # Three slices are three batches.
        ([100, 100, 100], 3),
        # A second with no answer (a stall): no batch may be empty, so 5 of 2 slices.
        ([100, 100, 100, 100, 0, 100, 100, 100, 100, 100], 5),
    ],
)
def test_open_loop_batches_are_merged_while_correlated_or_empty(answered, batches):
    """Batches of consecutive slices are halved while one holds no answer or their lag-1
    autocorrelation exceeds 0.5 (from 6 batches on), and then give intervals."""
    stats = open_loop(slices_of(answered), 1.0, 100.0, {})
    assert stats.batches == batches
    assert stats.rps_ci is not None and stats.mean_ci is not None


def test_the_open_loop_median_and_p99_have_intervals():
    """With a hundred answers a slice, the p50 and p99 (what SLOs on them are decided by)
    get intervals around the window's own figures."""
    stats = open_loop(open_slices(), 1.0, 110.0, {"HTTPError: 503": 20})
    assert stats.p50_ci is not None and stats.p50_ci[0] <= stats.p50_ms <= stats.p50_ci[1]
    assert stats.p99_ci is not None and stats.p99_ci[0] <= stats.p99_ms <= stats.p99_ci[1]


def test_an_open_loop_p99_interval_from_three_batches_of_a_hundred():
    """350 answers over 10 slices: three batches of 3 slices (105 answers) give the p99's
    interval, though the mean's has 10 batches."""
    stats = open_loop(slices_of([35] * 10, lambda j: 50.0 + 10 * (j % 2)), 1.0, 35.0, {})
    assert stats.batches == 10
    assert stats.p99_ci is not None


def test_open_loop_p99_batches_are_disjoint_runs_of_slices():
    """5 slices at 50 ms then 5 at 100 ms: merged into 5 batches of 2 slices, whose p99s are
    fast, fast, slow (the step), slow, slow; the p99 interval is over exactly those."""
    slices = slices_of([100] * 10, lambda j: 50.0 if j < 5 else 100.0)
    stats = open_loop(slices, 1.0, 100.0, {})
    fast = open_loop(slices[:5], 1.0, 100.0, {}).p99_ms
    slow = open_loop(slices[5:], 1.0, 100.0, {}).p99_ms
    assert stats.batches == 5
    assert stats.p99_ci == confidence_interval(slow, [fast, fast, slow, slow, slow])


@pytest.mark.parametrize(("answered", "has_ci"), [(20, True), (19, False)])
def test_open_loop_p50_and_p95_intervals_need_twenty_answers_a_batch(answered, has_ci):
    """Batches of one slice with 20 answers give p50 and p95 intervals, with 19 neither does;
    the mean's interval is there either way."""
    stats = open_loop(slices_of([answered] * 10, lambda j: 50.0 + 10 * (j % 2)), 1.0, 20.0, {})
    assert stats.batches == 10 and stats.mean_ci is not None
    assert (stats.p50_ci is not None, stats.p95_ci is not None) == (has_ci, has_ci)

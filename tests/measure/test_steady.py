"""Steady-state detection on synthetic series with a known transient."""

from __future__ import annotations

import random

from loadlab.measure.samples import Sample
from loadlab.measure.steady import Cut, Truncation, mser, shifted, truncate, truncate_series

from .closed_loop import simulate

T0 = 1000.0


def test_mser_cuts_a_known_transient():
    """A series at 10 for 100 observations, then noise around 50, is cut near observation 100."""
    rng = random.Random(3)
    series = [10 + rng.gauss(0, 1) for _ in range(100)] + [50 + rng.gauss(0, 1) for _ in range(400)]
    cut = mser(series)
    assert 95 <= cut.dropped <= 110 and not cut.drifting


def test_mser_keeps_a_stationary_series_whole():
    """Pure noise with no transient is cut at most a few batches in."""
    rng = random.Random(4)
    cut = mser([rng.gauss(0, 1) for _ in range(500)])
    assert cut.dropped <= 50 and not cut.drifting


def test_mser_of_a_series_that_never_settles_cuts_late():
    """A steady climb has no steady part: the optimum sits on the half-way boundary."""
    assert mser([float(i) for i in range(500)]).drifting


def test_queue_building_up_is_cut_after_the_first_cycle():
    """120 users meeting 6 threads at once: latencies climb for ~4 s; the cut waits for it."""
    trace = simulate(120, 6, 0.2, jitter=0.1, seconds=40)
    cut = truncate(trace, T0, T0 + 40)
    assert cut.turnover is not None and cut.settled_after >= 3.5
    assert cut.settled_after < 15


def test_a_slow_ramp_is_detected_in_the_throughput():
    """Users arriving over 10 s make the throughput ramp; the cut lands near the ramp's end."""
    trace = simulate(50, 1000, 0.2, seconds=40, ramp=10)
    assert 8 <= truncate(trace, T0, T0 + 40).settled_after <= 14


def test_stationary_closed_loops_are_rarely_called_drifting():
    """Over 40 jittery but stationary closed loops, at most one is judged not settled."""
    settled = [truncate(simulate(10, 1000, 0.2, jitter=0.05, seconds=9, seed=seed), T0, T0 + 9)
               for seed in range(40)]  # fmt: skip
    assert sum(cut.settled_after is None for cut in settled) <= 1
    assert sorted(cut.settled_after or 99 for cut in settled)[20] < 1.5


def test_a_user_that_never_completes_in_the_step_leaves_no_turnover():
    """A user whose only request was sent before the step began has not turned over."""
    step = [Sample("a", T0 - 1, T0 + 0.5, 1500, ""), Sample("b", T0 + 0.1, T0 + 0.3, 200, "")]
    assert truncate(step, T0, T0 + 1).turnover is None


def test_a_long_queue_gets_a_budget_of_its_own_cycles():
    """Settling may take WARMUP or two measured cycles, whichever is longer; steps stretch to
    leave six cycles of window after it, capped at four times the plan."""
    from loadlab.shared.offered import Step, settle_budget, step_length

    assert settle_budget(4, 0.2) == 4 and settle_budget(4, 4.0) == 8
    assert step_length(Step(120, 13), 4, 4.0) == 32 and step_length(Step(10, 13), 4, 0.2) == 13
    assert step_length(Step(120, 13), 4, 30.0) == 52


def test_a_saturated_pool_in_phase_is_not_called_drifting():
    """40 threads finishing their sleeps together make the completions per half second ripple
    (80, 120, 80...) until jitter spreads them; the rate never moves, so the step settles."""
    for users in (60, 80):
        cuts = [truncate(simulate(users, 40, 0.2, jitter=0.02, seconds=12, seed=seed), T0, T0 + 12)
                for seed in range(30)]  # fmt: skip
        assert not any(cut.drifting for cut in cuts), users
        assert all(cut.settled_after is not None and cut.settled_after <= 6 for cut in cuts)


def test_a_recorded_fading_ripple_is_not_drift_but_a_climb_still_is():
    """Completions per half second of uvicorn /io/sync cpus=0.5 at 80 users (40 threads), as
    recorded: MSER's optimum sits on its boundary, but the level never moved (~98 vs ~97)."""
    recorded = [40, 160, 80, 80, 80, 120, 84, 112, 70, 125, 76, 121,
                82, 102, 97, 103, 95, 85, 108, 92, 115, 85, 91, 107]  # fmt: skip
    assert not mser(recorded, batch=1).drifting
    climbing = [80 + 2 * i + (10 if i % 2 else -10) for i in range(24)]
    assert mser(climbing, batch=1).drifting


def test_the_series_that_drifted_is_named():
    """A trace whose latencies climb to the end names latency as the series that drifted."""
    slower = [0.01 * (1 + i / 50) for i in range(400)]
    trace = [Sample(f"u{i % 4}", T0 + i * 0.05, T0 + i * 0.05 + s, s * 1000, "")
             for i, s in enumerate(slower)]  # fmt: skip
    cut = truncate(trace, T0, T0 + 20)
    assert cut.drifting and "latency" in cut.drifting_in and cut.settled_after is None


def test_a_short_stationary_series_is_not_cut_late_by_luck():
    """16 or 24 observations of noise around a level: plain MSER cuts a quarter or more away
    in 6-12 % of them (a tail quieter by chance wins); kept stretches at the same level are
    taken back, so at most 2 % are cut that late or called drifting."""
    rng = random.Random(7)
    for m in (16, 24):
        for sigma in (0.5, 20.0):
            cuts = [mser([200 + rng.gauss(0, sigma) for _ in range(m)], batch=1)
                    for _ in range(500)]  # fmt: skip
            assert sum(c.dropped >= m // 4 or c.drifting for c in cuts) <= 10, (m, sigma)


def test_ten_observations_are_enough_to_cut_a_transient():
    """Ten observations (two times MIN_BATCHES_LEFT) are searched: a transient of four is cut
    where it ends, whatever the series' units (counts, or latencies in seconds)."""
    for level in (100.0, 0.5):
        assert mser([0.0] * 4 + [level] * 6, batch=1) == Cut(4, drifting=False)


def test_fewer_than_ten_observations_are_never_cut():
    """Nine observations are too few to tell: nothing is cut and nothing is called drifting,
    however clear the transient (the turnover rule still applies)."""
    assert mser([0.0] * 3 + [100.0] * 6, batch=1) == Cut(0, drifting=False)
    assert mser([float(i) for i in range(49)]) == Cut(0, drifting=False)  # 9 batches of 5


def test_a_transient_longer_than_half_the_series_is_never_cut_past_mid_step():
    """The cut is sought in the first half only: six low observations of ten are not all
    dropped, and the series is called drifting."""
    cut = mser([0.0] * 6 + [100.0] * 4, batch=1)
    assert cut.dropped <= 5 and cut.drifting


def test_a_level_shift_must_exceed_two_percent_and_three_standard_errors():
    """2 % exactly is within the noise however certain, and so is a gap of exactly three
    standard errors however large; a hair beyond both is a shift."""
    assert not shifted([102.0, 102.0], [100.0, 100.0])  # 2 %, no noise at all
    assert shifted([102.5, 102.5], [100.0, 100.0])
    assert not shifted([108.0, 116.0], [100.0, 100.0])  # 12 off, standard error 4
    assert shifted([108.5, 116.5], [100.0, 100.0])


def test_a_shift_needs_two_values_on_each_side():
    """One value cannot show a level, so it shows no shift; two on each side can."""
    assert not shifted([150.0], [100.0, 101.0, 99.0])
    assert not shifted([100.0, 101.0, 99.0], [150.0])
    assert shifted([150.0, 151.0], [100.0, 101.0, 99.0])
    assert shifted([100.0, 101.0, 99.0], [150.0, 151.0])


def crafted(counts: list[int], latency_ms: float = 10.0) -> list[Sample]:
    """A closed-loop step from T0 whose completions per half second are ``counts``, each
    request taking ``latency_ms``, one user per request (each turns over at once)."""
    found = []
    for i, count in enumerate(counts):
        for j in range(count):
            end = T0 + 0.5 * i + 0.5 * (j + 0.5) / count
            found.append(Sample(f"u{i}-{j}", end - latency_ms / 1000, end, latency_ms, ""))
    return sorted(found, key=lambda s: s.end)


def test_a_five_second_ramp_in_throughput_is_cut_by_its_own_rule():
    """Completions per half second climbing 2, 6, 10, 14 and then holding 20, latency flat:
    the throughput's own cut, from its ten counts, is where the climb ended."""
    cut = truncate(crafted([2, 6, 10, 14, 20, 20, 20, 20, 20, 20]), T0, T0 + 5)
    assert (cut.latency, cut.throughput, cut.drifting) == (0.0, 2.0, False)


def test_a_throughput_still_climbing_at_mid_step_is_named():
    """Completions per half second climbing through the whole step: the throughput drifted,
    and is named as the series that did."""
    cut = truncate(crafted([10 + 4 * i for i in range(20)]), T0, T0 + 10)
    assert cut.drifting and cut.drifting_in == ("throughput",)


def test_the_open_loops_cuts_are_in_seconds_of_its_slices():
    """Slices of 2 s whose throughput and latency both settle after four: both cuts are 8 s;
    a latency still climbing at mid-step is named with the throughput."""
    settles = [0.0] * 4 + [100.0] * 6
    cut = truncate_series(settles, settles, 2.0)
    assert (cut.latency, cut.throughput, cut.drifting, cut.settled_after) == (8.0, 8.0, False, 8.0)
    climbing = [float(10 + i) for i in range(20)]
    both = truncate_series(climbing, climbing, 1.0)
    assert both.drifting and both.drifting_in == ("latency", "throughput")


def test_an_early_runs_truncation_reads_back_with_its_defaults():
    """run.json of an early format-2 run has only some keys: the others take the defaults
    (no cut, no drift), so such a step settled at its turnover."""
    found = Truncation.from_json({"turnover": 1.5})
    assert found == Truncation(0.0, 0.0, 1.5, False, ())
    assert found.settled_after == 1.5
    assert Truncation.from_json(found.to_json()) == found


def test_a_plateau_cut_one_short_of_mid_step_is_no_drift():
    """Fourteen observations 10 % high for six, then level: MSER cuts the six, leaving one
    before mid-step, so the second quarter is compared with the rest; with only three of its
    four observations on the plateau it sits no more than three standard errors off: settled."""
    assert mser([110.0] * 6 + [100.0] * 8, batch=1) == Cut(6, drifting=False)

"""The view across CPU limits: saturation per limit and the sentence that says what changed."""

from __future__ import annotations

import pytest

from loadlab.judge.across import AtLimit, across_limits, what_changed
from loadlab.measure.stats import WindowStats
from loadlab.plan.matrix import Point
from loadlab.results import Run

SERIES = ("uvicorn-workers", "cpu/sync")


def at(cpus: float, rps: float, throttled: float = 0.0, ci: float | None = 1.0) -> AtLimit:
    interval = None if ci is None else (rps - ci, rps + ci)
    return AtLimit(cpus, rps, interval, 100.0, cpus * 0.98, throttled)


@pytest.mark.parametrize("ci", [1.0, None])
def test_throughput_that_follows_the_limit_is_called_cpu_bound(ci):
    """Twice the CPU, twice the throughput, with or without intervals: CPU-bound, the series
    named and the throttling quoted."""
    text = what_changed(SERIES, [at(0.5, 52, throttled=38, ci=ci), at(1.0, 105, ci=ci)])
    assert text == (
        "uvicorn-workers cpu/sync: CPU-bound, throughput followed the limit (52 to 105 rps from "
        "0.5 to 1 CPU, 2.0x for 2.0x CPU); throttled in up to 38 % of CFS periods."
    )


def test_four_fifths_of_the_cpu_gain_is_still_cpu_bound():
    """1.6x the throughput for 2x the CPU is the boundary of following the limit."""
    assert "CPU-bound" in what_changed(SERIES, [at(0.5, 100), at(1.0, 160)])
    assert "CPU-bound" not in what_changed(SERIES, [at(0.5, 100), at(1.0, 159)])


def test_the_sentence_spans_the_lowest_to_the_highest_limit():
    """Three limits: the gain is read from the first to the last, not the second."""
    text = what_changed(SERIES, [at(0.5, 50), at(1.0, 100), at(2.0, 200)])
    assert "(50 to 200 rps from 0.5 to 2 CPU, 4.0x for 4.0x CPU)" in text


def test_a_sleeping_endpoint_is_unchanged_by_the_limit():
    """The same throughput within its intervals at 0.5 and 1 CPU: the limit changed nothing,
    and no throttling is claimed when there was none."""
    text = what_changed(("uvicorn", "io/sync"), [at(0.5, 200), at(1.0, 201)])
    assert text == (
        "uvicorn io/sync: the CPU limit changed nothing (200 to 201 rps from 0.5 to 1 CPU): "
        "it waits, not computes."
    )


@pytest.mark.parametrize(
    "low, high",
    [
        (at(0.5, 200), at(1.0, 202)),  # touching: 199-201 and 201-203
        (at(0.5, 202), at(1.0, 200)),  # touching, the higher limit lower
        (at(0.5, 201), at(1.0, 200)),  # overlapping, the higher limit lower
        (at(0.5, 200), at(1.0, 204, ci=None)),  # one limit without an interval
        (at(0.5, 200, ci=None), at(1.0, 204)),
    ],
)
def test_within_five_percent_and_not_told_apart_the_limit_changed_nothing(low, high):
    """Intervals that touch or overlap, or a limit without one, cannot tell the two apart."""
    assert "changed nothing" in what_changed(SERIES, [low, high])


def test_within_five_percent_but_told_apart_the_limit_changed_something():
    """2 % more with separate intervals (199-201, 203-205) is a real, if small, gain."""
    text = what_changed(SERIES, [at(0.5, 200), at(1.0, 204)])
    assert "changed nothing" not in text and "less than in proportion" in text


def test_a_gain_the_intervals_cannot_separate_is_still_a_gain():
    """1.3x with wide intervals is judged by its size, not by the intervals."""
    text = what_changed(SERIES, [at(0.5, 100, ci=40), at(1.0, 130, ci=40)])
    assert "less than in proportion" in text


@pytest.mark.parametrize("throttled, named", [(1.0, True), (0.9, False)])
def test_throttling_is_quoted_from_one_percent_of_periods(throttled, named):
    """The most throttled limit is quoted from 1 % of CFS periods up."""
    text = what_changed(SERIES, [at(0.5, 200, throttled=throttled), at(1.0, 201)])
    assert ("; throttled in up to 1 % of CFS periods." in text) is named


def test_nothing_done_at_the_lowest_limit_is_an_unbounded_gain():
    """0 rps at 0.5 CPU and 100 at 1 CPU: no division by zero, throughput followed the CPU."""
    text = what_changed(SERIES, [at(0.5, 0.0, ci=None), at(1.0, 100.0)])
    assert "CPU-bound" in text and "(0 to 100 rps from 0.5 to 1 CPU" in text


def test_less_than_proportional_gain_points_at_another_cap():
    """1.3x for 2x CPU: something else caps it."""
    assert "less than in proportion" in what_changed(SERIES, [at(0.5, 100), at(1.0, 130)])


def test_across_limits_takes_each_limits_best_ok_point(tmp_path):
    """Per limit the saturation point is the highest ok throughput; one-limit series are dropped."""
    matrix = [Point("uvicorn-workers", "cpu/sync", c, u, 1) for c in (0.5, 1.0) for u in (1, 8)]
    matrix.append(Point("uvicorn", "io/sync", 1.0, 10, 1))
    run = Run.create(tmp_path / "r", {}, matrix)
    for result in run.points.values():
        p = result.point
        result.status = "ok"
        rps = p.cpus * 100 * (1 if p.users == 8 else 0.5)
        result.stats = WindowStats(requests=1000, failures=0, rps=rps, p99_ms=50.0)
    (found,) = across_limits(run)
    assert found.series == SERIES and [a.rps for a in found.limits] == [50.0, 100.0]


def test_across_limits_keeps_each_limits_figures_and_skips_untrusted_points(tmp_path):
    """Per limit: the best ok point's throughput, its interval, p99, CPU used and throttling;
    a failing point's higher throughput and an ok point that completed nothing do not count."""
    matrix = [Point("uvicorn-workers", "cpu/sync", c, u, 1) for c in (0.5, 1.0) for u in (8, 1)]
    matrix += [
        Point("uvicorn-workers", "cpu/sync", 1.0, 16, 1),
        Point("uvicorn-workers", "cpu/sync", 2.0, 8, 1),
    ]
    run = Run.create(tmp_path / "r", {}, matrix)
    for result in run.points.values():
        p = result.point
        result.status = "failing" if p.users == 16 else "ok"
        rps = {8: 100.0, 1: 50.0, 16: 300.0}[p.users] * p.cpus * (0 if p.cpus == 2.0 else 1)
        result.stats = WindowStats(requests=1000, failures=0, rps=rps, p99_ms=40.0 / p.cpus,
                                   rps_ci=(rps - 2, rps + 2))  # fmt: skip
        result.telemetry = {"target": {"cpu_cores": p.cpus * 0.97, "throttled_pct": 30 * p.cpus}}
    (found,) = across_limits(run)
    assert found.limits == [
        AtLimit(0.5, 50.0, (48.0, 52.0), 80.0, 0.485, 15.0),
        AtLimit(1.0, 100.0, (98.0, 102.0), 40.0, 0.97, 30.0),
    ]

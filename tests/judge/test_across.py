"""The view across CPU limits: saturation per limit and the sentence that says what changed."""

from __future__ import annotations

from loadlab.judge.across import AtLimit, across_limits, what_changed
from loadlab.measure.stats import WindowStats
from loadlab.plan.matrix import Point
from loadlab.results import Run

SERIES = ("uvicorn-workers", "cpu/sync")


def at(cpus: float, rps: float, throttled: float = 0.0, ci: float = 1.0) -> AtLimit:
    return AtLimit(cpus, rps, (rps - ci, rps + ci), 100.0, cpus * 0.98, throttled)


def test_throughput_that_follows_the_limit_is_called_cpu_bound():
    """Twice the CPU, twice the throughput: CPU-bound, with the throttling named."""
    text = what_changed(SERIES, [at(0.5, 52, throttled=38), at(1.0, 105)])
    assert "CPU-bound" in text and "2.0x for 2.0x CPU" in text and "38 %" in text


def test_a_sleeping_endpoint_is_unchanged_by_the_limit():
    """The same throughput within its intervals at 0.5 and 1 CPU: the limit changed nothing."""
    text = what_changed(("uvicorn", "io/sync"), [at(0.5, 200), at(1.0, 201)])
    assert "changed nothing" in text


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

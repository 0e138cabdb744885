"""A step measured end to end on synthetic data: the same numbers, statuses and run.json
entries as the lab wrote before results were typed (fixtures/points-v2.json)."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import ClassVar

import pytest

from loadlab.measure import record, window
from loadlab.measure.stats import WindowStats
from loadlab.model import predictions
from loadlab.model.calibration import CpuCost
from loadlab.plan.matrix import Point
from loadlab.results import PointResult
from loadlab.shared.offered import StepTimes
from loadlab.stack.cgroups import Reading

from . import open_loop
from .closed_loop import simulate

FIXTURE = Path(__file__).parent / "fixtures" / "points-v2.json"
RUNTIME = {"workers": 1, "thread_limiter_tokens": 40, "work_seconds": 0.2,
           "limit_concurrency": None}  # fmt: skip
COST = CpuCost(0.0012, (0.0011, 0.0012, 0.0013))


class Sampler:
    """Readings every half second: the target busy 0.6 cores, two workers 0.3 and 0.25."""

    SHARES: ClassVar[dict[str, float]] = {"target": 0.6, "locust-1": 0.3, "locust-2": 0.25}

    def names(self) -> list[str]:
        return list(self.SHARES)

    def series(self, name: str) -> list[Reading]:
        share = self.SHARES[name]
        return [Reading(999.0 + i * 0.5, cpu_usage_s=share * i * 0.5, nr_periods=5 * i,
                        nr_throttled=i, throttled_s=0.01 * i, memory_bytes=50_000_000 + i,
                        pids=3) for i in range(85)]  # fmt: skip

    def limit(self, name: str) -> float | None:
        return 1.0 if name == "target" else None


def plan() -> SimpleNamespace:
    """The settings the window reads: WARMUP 2 s, MAX_FAILURE_RATIO 0.1 %, uniform arrivals."""
    return SimpleNamespace(warmup=2.0, max_failure_ratio=0.001, arrivals="uniform",
                           in_flight_per_worker=1000, locust_workers=1)  # fmt: skip


def as_stored(found: PointResult) -> dict:
    """The point as run.json holds it (JSON has lists where the types have tuples)."""
    return json.loads(json.dumps(found.to_json()))


def result(point: Point, measured: window.Measured, cost: CpuCost | None) -> PointResult:
    """The point's result as the sweep records it."""
    found = PointResult(point, runtime=RUNTIME, stats=measured.stats,
                        telemetry=measured.telemetry, status=measured.status,
                        flags=measured.flags)  # fmt: skip
    found.prediction = predictions.prediction(point, RUNTIME, found.stats, plan(), cost)
    return found


def closed_points() -> list[PointResult]:
    """Two steps of one closed-loop run: 10 users, then 80 users on 40 threads."""
    found = sorted(simulate(10, 40, 0.2, jitter=0.02, seconds=20)
                   + simulate(80, 40, 0.2, jitter=0.02, seconds=20, t0=1020.0, seed=2),
                   key=lambda s: s.end)  # fmt: skip
    steps = [StepTimes(0, 10, 1000.0, 1020.0), StepTimes(1, 80, 1020.0, 1040.0)]
    tel = window.Telemetry(Sampler(), 2)
    out = []
    for users, step in zip((10, 80), steps, strict=True):
        point = Point("uvicorn", "io/sync", 1.0, users, 1)
        measured = window.closed_step(point, RUNTIME, found, step, plan(), tel)
        out.append(result(point, measured, COST))
    return out


def open_points(directory: Path) -> list[PointResult]:
    """150/s with one request in 97 failing, and 250/s to an unbounded pool, with telemetry."""
    open_loop.write(directory / "a", rate=150, service=0.2, seconds=20, fail_every=97)
    point = Point("uvicorn", "io/sync", 1.0, None, 1, rate=150.0)
    measured = window.open_step(point, RUNTIME, record.load(directory / "a", 2),
                                StepTimes(0, 150.0, 1000.0, 1020.0), plan())  # fmt: skip
    out = [result(point, measured, None)]
    open_loop.write(directory / "b", rate=250, service=0.2, seconds=12)
    point = Point("uvicorn", "io/async", 0.5, None, 1, rate=250.0)
    measured = window.open_step(point, RUNTIME, record.load(directory / "b", 2),
                                StepTimes(0, 250.0, 1000.0, 1012.0), plan(),
                                window.Telemetry(Sampler(), 2))  # fmt: skip
    return [*out, result(point, measured, None)]


@pytest.fixture(scope="module")
def expected() -> dict:
    return json.loads(FIXTURE.read_text())


def test_closed_loop_steps_give_the_recorded_points(expected: dict) -> None:
    """Each closed-loop step's stats, telemetry, status and prediction are as recorded."""
    for found in closed_points():
        assert isinstance(found.stats, WindowStats) and found.stats.loop == "closed"
        stored = as_stored(found)
        # Newer than the fixture: p99's interval (for a p99 SLO), around its value.
        ci = stored["stats"].pop("p99_ci", None)
        assert ci is None or ci[0] <= stored["stats"]["p99_ms"] <= ci[1]
        assert stored == expected[found.point.id]


def test_open_loop_steps_give_the_recorded_points(expected: dict, tmp_path: Path) -> None:
    """Each open-loop step's stats, telemetry, status and prediction are as recorded, the
    failing one with its reason."""
    found = open_points(tmp_path)
    for point in found:
        assert point.stats.loop == "open"
        stored = as_stored(point)
        # Newer than the fixture: the median's and p99's intervals, each around its value.
        for key in ("p50", "p99"):
            ci = stored["stats"].pop(f"{key}_ci", None)
            assert ci is None or ci[0] <= stored["stats"][f"{key}_ms"] <= ci[1]
        assert stored == expected[point.point.id]
    assert found[0].status == "failing" and "failure ratio" in found[0].flags[0]


def test_window_statistics_are_written_with_each_loops_keys(expected: dict) -> None:
    """A closed-loop window writes no open-loop key, an open-loop one no closed-loop key."""
    closed = expected["uvicorn__io-sync__cpus1__u10__r1"]["stats"]
    opened = expected["uvicorn__io-sync__cpus1__rate150__r1"]["stats"]
    assert "users_seen" in closed and "sent_rate" not in closed
    assert "sent_rate" in opened and "users_seen" not in opened


@pytest.mark.parametrize("point_id", ["uvicorn__io-sync__cpus1__u80__r1",
                                      "uvicorn__io-async__cpus0.5__rate250__r1"])  # fmt: skip
def test_a_recorded_point_reads_back_and_writes_the_same_bytes(expected: dict,
                                                               point_id: str) -> None:  # fmt: skip
    """A point of run.json read into the typed result and written again is byte-identical."""
    document = expected[point_id]
    again = PointResult.from_json(document).to_json()
    assert json.dumps(again, indent=1) == json.dumps(document, indent=1)


def pool_step(directory: Path, rate: float, seconds: float, **pool) -> window.Measured:
    """One open-loop step of ``seconds`` at ``rate`` on uvicorn-limiter's io/sync, its answers
    from a pool (``open_loop.write_pool``)."""
    open_loop.write_pool(directory, rate=rate, seconds=seconds, **pool)
    point = Point("uvicorn-limiter", "io/sync", 1.0, None, 1, rate=rate)
    step = StepTimes(0, rate, 1000.0, 1000.0 + seconds)
    return window.open_step(point, RUNTIME, record.load(directory, 2), step, plan())


def test_an_open_step_above_capacity_is_overloaded_at_the_capacity_it_reached(tmp_path):
    """250/s offered to 40 threads of 0.215 s (186/s): the in-flight requests grow until the
    cap (1000) drops sends; the step is overloaded, its throughput the 186/s it reached with
    its interval, its backlog growing about 64/s, and run.json keeps both."""
    found = pool_step(tmp_path, 250.0, 24, threads=40, service=0.215)
    stats = found.stats
    assert found.status == "overloaded" and "the backlog grew" in found.flags[0]
    assert stats.rps == pytest.approx(40 / 0.215, rel=0.01)
    assert stats.rps_ci[0] <= stats.rps <= stats.rps_ci[1]
    assert stats.sent_rate > stats.rps and stats.dropped > 0  # in flight grew, then the cap
    assert stats.backlog_rps == pytest.approx(250 - 40 / 0.215, rel=0.05)
    assert stats.backlog_ci[0] <= stats.backlog_rps <= stats.backlog_ci[1]
    stored = as_stored(PointResult(Point("u", "io/sync", 1.0, None, 1, 250.0), stats=stats))
    assert stored["stats"]["backlog_rps"] == stats.backlog_rps
    assert stored["stats"]["backlog_ci"] == list(stats.backlog_ci)
    assert WindowStats.from_json(stored["stats"]) == stats


def test_an_open_step_below_capacity_with_steady_latency_is_ok(tmp_path):
    """150/s on a pool of 200/s keeps up and settles: ok, no flags, and no backlog written."""
    found = pool_step(tmp_path, 150.0, 20, threads=40, service=0.2)
    assert (found.status, found.flags) == ("ok", [])
    assert found.stats.rps == pytest.approx(150, rel=0.01)
    assert "backlog_rps" not in found.stats.to_json()


def test_an_open_step_below_capacity_whose_latency_drifts_is_unsteady(tmp_path):
    """100/s on a pool whose requests slow by 1.5 % a second (capacity 200/s falling to
    154/s) keeps up, but its latency drifts: unsteady, since the lab cannot name why."""
    found = pool_step(tmp_path, 100.0, 20, threads=40, service=0.2, slowing=0.015)
    assert found.status == "unsteady"
    assert found.flags == ["did not settle: its latency still moved after mid-step (measured "
                           "from 2.0 s into the step)"]  # fmt: skip
    assert found.stats.backlog_rps is None


def test_a_closed_loop_step_is_never_overloaded():
    """80 users on 40 threads queue at the pool, but each waits for its answer: the step is
    ok (as recorded), with no backlog."""
    saturated = closed_points()[1]
    assert (saturated.point.users, saturated.status) == (80, "ok")
    assert saturated.stats.backlog_rps is None

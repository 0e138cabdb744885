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
    return SimpleNamespace(warmup=2.0, max_failure_ratio=0.001, arrivals="uniform")


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
        assert as_stored(found) == expected[found.point.id]


def test_open_loop_steps_give_the_recorded_points(expected: dict, tmp_path: Path) -> None:
    """Each open-loop step's stats, telemetry, status and prediction are as recorded, the
    failing one with its reason."""
    found = open_points(tmp_path)
    for point in found:
        assert point.stats.loop == "open"
        assert as_stored(point) == expected[point.point.id]
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

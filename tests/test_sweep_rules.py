"""The sweep's own rules: limits checked before measuring, windows cut from the data."""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace
from typing import ClassVar

import pytest

from loadlab import cli, workflow
from loadlab.errors import PointError
from loadlab.measure.stats import WindowStats
from loadlab.measure.window import pool_ceiling
from loadlab.plan.config import SweepConfig, resolve
from loadlab.plan.matrix import Point
from loadlab.plan.placement import place
from loadlab.results import Run
from loadlab.stack import images
from loadlab.stack.compose import Stack
from loadlab.stack.readiness import check_limits


def test_pool_ceiling_is_p_over_s_for_bounded_io_pools_only():
    """40 limiter tokens at 0.2 s cap io/sync at 200 rps; io/async and cpu have no ceiling."""
    runtime = {"thread_limiter_tokens": 40, "work_seconds": 0.2, "workers": 1}
    assert pool_ceiling("io/sync", runtime) == 200
    assert pool_ceiling("io/async", runtime) is None
    assert pool_ceiling("cpu/sync", runtime) is None


def test_limits_in_effect_pass():
    """A container whose /runtime shows the asked quota and cpuset is measured."""
    check_limits({"cpu_quota": 0.5, "affinity": 1}, place(0.5, cores=[0, 1]))


@pytest.mark.parametrize(
    ("runtime", "message"),
    [({"cpu_quota": None, "affinity": 1}, "CPU limit not in effect"),
     ({"cpu_quota": 1.0, "affinity": 1}, "CPU limit not in effect"),
     ({"cpu_quota": 0.5, "affinity": 2}, "cpuset not in effect")],
)  # fmt: skip
def test_limits_not_in_effect_fail_the_point(runtime, message):
    """A missing or wrong quota, or a wider cpuset, fails the point instead of measuring it."""
    with pytest.raises(PointError, match=message):
        check_limits(runtime, place(0.5, cores=[0, 1]))


@pytest.mark.parametrize(("endpoint", "runtime", "streams"), [
    ("cpu/sync", {"workers": 2, "affinity": 1, "cpu_quota": 1.0}, 2),
    ("cpu/sync", {"workers": 2, "affinity": 2, "cpu_quota": 2.0}, 3),
    ("cpu/sync", {"workers": 1, "affinity": 2, "cpu_quota": 2.0}, 2),
    ("cpu/process", {"workers": 1, "process_workers": 2, "affinity": 2, "cpu_quota": 0.25}, 2),
    ("cpu/process", {"workers": 1, "process_workers": 2, "affinity": 2, "cpu_quota": 2.0}, 3),
    ("cpu/sync", {}, 2),
])  # fmt: skip
def test_an_open_loop_calibrates_one_request_more_than_can_run(endpoint, runtime, streams):
    """Without users, the CPU cost is calibrated with one stream more than can run at once."""
    from loadlab.model.calibration import streams_for
    from loadlab.plan.matrix import Point

    assert streams_for(Point("uvicorn", endpoint, 1.0, None, 1, 100.0), runtime) == streams


@pytest.mark.parametrize("users", [1, 4, 80, 120])
def test_a_closed_loop_calibrates_at_its_steps_own_concurrency(users):
    """A closed-loop step is calibrated on as many streams as it has users, whatever the pool."""
    from loadlab.model.calibration import streams_for
    from loadlab.plan.matrix import Point

    runtime = {"workers": 2, "affinity": 1, "cpu_quota": 1.0}
    assert streams_for(Point("uvicorn-workers", "cpu/sync", 1.0, users, 1), runtime) == users


@pytest.mark.parametrize(("streams", "warm", "per_batch"), [(1, 12, 24), (4, 3, 6), (10, 2, 3),
                                                            (120, 1, 2)])  # fmt: skip
def test_calibration_batches_shrink_per_stream_as_streams_grow(streams, warm, per_batch):
    """Each batch holds about 24 requests in all, and at least 2 a stream (not mostly drain)."""
    from loadlab.model.calibration import sizes

    assert sizes(streams) == (warm, per_batch)


def test_a_steps_cost_is_measured_once_per_container_and_concurrency(monkeypatch):
    """Repeats on one container reuse its calibration; another concurrency is measured anew,
    an I/O endpoint never, and the time spent is counted."""
    from loadlab.model import calibration
    from loadlab.plan.matrix import Point

    calls = []

    def fake(url, endpoint, container, streams, client):
        calls.append(streams)
        return calibration.CpuCost(0.01, (0.01,) * 5, streams)

    monkeypatch.setattr(calibration, "cpu_cost_of", fake)
    found = calibration.Calibrations()
    for repeat in (1, 2):
        for users in (4, 16):
            point = Point("uvicorn-workers", "cpu/sync", 1.0, users, repeat)
            assert found.cost("u", "c1", point, {}, {0}).streams == users
    io = Point("uvicorn", "io/sync", 1.0, 4, 1)
    assert found.cost("u", "c1", io, {}, {0}) is None
    assert calls == [4, 16] and found.seconds >= 0


# The sweep's exit status, from execute() to the command line, with the measuring stubbed.


class _Sweep:
    """Stands in for ``sweep.Sweep``: every point gets the status (and the throughput) that
    ``measured`` gives its level, as if it had been measured."""

    measured: ClassVar[Callable[[Point], tuple[str, float]]]

    def __init__(self, plan, run, stack, progress, prepared=None, verified=None) -> None:
        self.run, self.progress, self.measured_s = run, progress, 10.0
        self.calibrations = SimpleNamespace(seconds=0.0)

    def execute(self) -> None:
        for result in self.run.points.values():
            result.status, rps = self.measured(result.point)
            result.stats = WindowStats(requests=int(rps * 10), failures=0, rps=rps, duration=10.0)


def swept(tmp_path, monkeypatch, capsys, settings: dict[str, str],
          measured: Callable[[Point], tuple[str, float]]) -> tuple[int, str, str, Run]:  # fmt: skip
    """``loadlab sweep`` with these settings (exit status, stdout, stderr, the run on disk)."""
    config = SweepConfig.from_strings({"out": str(tmp_path), "run_id": "run", **settings})
    plan = resolve(config, [0, 1])
    monkeypatch.setattr(
        workflow, "Sweep", type("Sweep", (_Sweep,), {"measured": staticmethod(measured)})
    )
    monkeypatch.setattr(workflow.metadata, "collect", dict)
    outcome = workflow.execute(plan, Stack(), images.Prepared(None, {}))
    monkeypatch.setattr(cli, "_measure", lambda _args: outcome)
    code = cli._cmd_sweep(SimpleNamespace())
    out, err = capsys.readouterr()
    return code, out, err, Run.load(outcome.run.directory)


OPEN = {"profile": "open", "variants": "uvicorn-limiter", "endpoints": "io/sync",
        "rates": "100,150,250"}  # fmt: skip


def test_an_overloaded_step_is_a_result_the_sweep_exits_0_with(tmp_path, monkeypatch, capsys):
    """100/s and 150/s ok and 250/s overloaded (on a pool of 200/s): exit 0, no error line."""

    def measured(point: Point) -> tuple[str, float]:
        return ("overloaded", 186.0) if point.rate > 200 else ("ok", point.rate)

    code, _, err, run = swept(tmp_path, monkeypatch, capsys, OPEN, measured)
    assert code == 0 and "error:" not in err
    assert sorted(r.status for r in run.points.values()) == ["ok", "ok", "overloaded"]


@pytest.mark.parametrize("status", ["unsteady", "harness-bound", "failing", "failed"])
def test_any_other_status_still_exits_1(tmp_path, monkeypatch, capsys, status):
    """An open-loop step unsteady below capacity (or harness-bound, failing, failed) is not a
    result: exit 1, with the error line counting it; an overloaded one beside it is not
    counted."""

    def measured(point: Point) -> tuple[str, float]:
        return {100.0: ("ok", 100.0), 150.0: (status, 150.0)}.get(point.rate, ("overloaded", 186))

    code, _, err, _ = swept(tmp_path, monkeypatch, capsys, OPEN, measured)
    assert code == 1
    assert f"error: points not ok (1 {status}); see " in err


def test_a_benchs_harness_bound_points_exit_0_and_report_the_ceiling(tmp_path, monkeypatch,
                                                                     capsys):  # fmt: skip
    """A bench, whose every point may be harness-bound by design, exits 0 and reports its
    ceiling per series, printed at the end and in run.json's metadata, beside the highest."""

    def measured(point: Point) -> tuple[str, float]:
        rps = point.users * (30.0 if point.variant == "uvicorn" else 50.0)
        return ("ok" if point.users == 1 else "harness-bound", rps)

    code, out, err, run = swept(tmp_path, monkeypatch, capsys, {"profile": "bench"}, measured)
    assert code == 0 and "error:" not in err
    assert run.metadata["harness_ceiling_by_series"] == {
        "uvicorn health": 3000.0,
        "uvicorn-workers health": 5000.0,
    }
    assert run.metadata["harness_ceiling_rps"] == 5000.0
    assert ("harness ceiling (requests/s Locust drove, per series): uvicorn health 3000, "
            "uvicorn-workers health 5000") in out  # fmt: skip


@pytest.mark.parametrize("profile", ["default", "smoke"])
def test_harness_bound_still_fails_any_other_profile(tmp_path, monkeypatch, capsys, profile):
    """Outside a bench a harness-bound point is an error (exit 1), and no ceiling is printed."""
    code, out, err, _ = swept(tmp_path, monkeypatch, capsys, {"profile": profile},
                              lambda point: ("harness-bound", 100.0))  # fmt: skip
    assert code == 1 and "harness-bound); see " in err
    assert "harness ceiling" not in out


def test_a_bench_that_failed_a_point_still_exits_1(tmp_path, monkeypatch, capsys):
    """A bench's expected status is harness-bound, not failed or unsteady: those exit 1."""

    def measured(point: Point) -> tuple[str, float]:
        return ("unsteady", 10.0) if point.users == 1 else ("harness-bound", 900.0)

    code, _, err, _ = swept(tmp_path, monkeypatch, capsys, {"profile": "bench"}, measured)
    assert code == 1 and "error: points not ok (2 unsteady)" in err

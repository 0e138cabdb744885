"""The sweep's own rules: limits checked before measuring, windows cut from the data."""

from __future__ import annotations

import pytest

from loadlab.errors import PointError
from loadlab.measure.window import pool_ceiling
from loadlab.plan.placement import place
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

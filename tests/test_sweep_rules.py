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
def test_calibration_keeps_one_request_more_than_can_run(endpoint, runtime, streams):
    """The CPU cost is calibrated with one stream more than requests that can run at once."""
    from loadlab.sweep import _calibration_streams

    assert _calibration_streams(endpoint, runtime) == streams

"""The sweep's own rules: warmup long enough for the queue, limits checked before measuring."""

from __future__ import annotations

import pytest

from loadlab.cpus import place
from loadlab.errors import PointError
from loadlab.sweep import check_limits, effective_warmup


def test_warmup_covers_one_and_a_half_queue_cycles():
    """A 4 s predicted queue wait stretches a 2 s warmup to 6 s; short queues keep the 2 s."""
    assert effective_warmup(2, {"mean_ms": 4000.0}) == 6.0
    assert effective_warmup(2, {"mean_ms": 200.0}) == 2
    assert effective_warmup(2, {"mean_ms": None}) == 2


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

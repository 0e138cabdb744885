"""Telemetry read from a real container's cgroup while the kernel enforces its CPU quota."""

from __future__ import annotations

import os
import time

import pytest

from loadlab.stack.telemetry import Sampler, summarise
from tests.containers import spinner

pytestmark = pytest.mark.docker


@pytest.fixture
def burner():
    """A container spinning two Python processes under --cpus 0.5; removed even if a test fails.

    Two spinners want a core each and a large CPU weight wins the container its share on a busy
    host (Docker gives every container the same weight, however many processes it runs), so
    the quota, not a neighbour, is what holds it to half a core.
    """
    yield from spinner(f"loadlab-telemetry-test-{os.getpid()}")


def test_a_container_under_half_a_cpu_uses_half_a_core_and_is_throttled(burner):
    """A CPU-bound container at --cpus 0.5 reads as 0.5 +- 0.05 cores, throttled, quota 0.5."""
    with Sampler({"burner": burner}) as sampler:
        start = time.time() + 1.0  # past the interpreter's start-up
        time.sleep(5.2)
    out = summarise(sampler.series("burner"), start, start + 4.0, quota=sampler.limit("burner"))
    assert sampler.limit("burner") == 0.5
    busy = f"host load {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs: {out}"
    assert out["cpu_cores"] == pytest.approx(0.5, abs=0.05), busy
    assert out["throttled_periods"] > 0 and out["throttled_pct"] > 50, out
    assert out["quota_used"] == pytest.approx(1.0, abs=0.1)
    assert out["pids_max"] >= 1 and out["memory_max_mb"] > 1

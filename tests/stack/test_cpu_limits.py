"""What a CPU limit does, measured: cpu/sync on two worker processes at CPUS 0.5 and 1."""

from __future__ import annotations

import json

import pytest

from .test_sweep import finish, loadlab

pytestmark = pytest.mark.docker


@pytest.fixture(scope="module")
def cpu_run(tmp_path_factory, stack):
    """uvicorn-workers (2 processes) under cpu/sync with 4 users, at 0.5 and 1 CPU."""
    out = tmp_path_factory.mktemp("cpu")
    args = ["--profile", "smoke", "--variants", "uvicorn-workers", "--endpoints", "cpu/sync",
            "--users", "4", "--cpus", "0.5,1", "--warmup", "4", "--duration", "8",
            "--out", str(out), "--run-id", "cpu"]  # fmt: skip
    code, _, err = finish(loadlab("sweep", *args))
    assert code == 0, err
    points = json.loads((out / "cpu" / "run.json").read_text())["points"]
    return {p["cpus"]: p for p in points}


def test_half_a_cpu_is_used_and_throttled(cpu_run):
    """At CPUS=0.5 the target uses 0.5 +- 0.05 cores and the kernel throttles it."""
    target = cpu_run[0.5]["telemetry"]["target"]
    assert target["cpu_cores"] == pytest.approx(0.5, abs=0.05)
    assert target["throttled_periods"] > 0


def test_twice_the_cpu_gives_about_twice_the_throughput(cpu_run):
    """Two processes burning CPU: 1 CPU does about twice what 0.5 does (1.7x to 2.3x)."""
    ratio = cpu_run[1.0]["stats"]["rps"] / cpu_run[0.5]["stats"]["rps"]
    assert 1.7 <= ratio <= 2.3


def test_the_cpu_model_holds_within_ten_percent(cpu_run):
    """min(quota, cores, processes, users) / measured CPU cost is within 10 % at both limits."""
    for point in cpu_run.values():
        predicted = point["prediction"]["rps"]
        assert predicted and point["prediction"]["cpu_cost_ms"] > 0
        assert point["stats"]["rps"] == pytest.approx(predicted, rel=0.10), point["id"]

"""What a CPU limit does, measured: cpu/sync on two worker processes at CPUS 0.5 and 1."""

from __future__ import annotations

import json

import pytest

from tests.end_to_end.test_sweep import finish, loadlab

pytestmark = pytest.mark.docker


@pytest.fixture(scope="module")
def cpu_run(tmp_path_factory, stack):
    """uvicorn-workers (2 processes) under cpu/sync with 4 users, at 0.5 and 1 CPU."""
    out = tmp_path_factory.mktemp("cpu")
    args = ["--profile", "smoke", "--variants", "uvicorn-workers", "--endpoints", "cpu/sync",
            "--users", "4", "--cpus", "0.5,1", "--warmup", "8", "--duration", "8",
            "--out", str(out), "--run-id", "cpu"]  # fmt: skip
    code, _, err = finish(loadlab("sweep", *args))
    points = json.loads((out / "cpu" / "run.json").read_text())["points"]
    # A throttled step may settle late (then it is marked unsteady, exit 1): its numbers stand.
    assert code in (0, 1) and all(p["status"] in ("ok", "unsteady") for p in points), err
    return {p["cpus"]: p for p in points}


def test_half_a_cpu_is_used_and_throttled(cpu_run):
    """At CPUS=0.5 the target uses 0.5 +- 0.05 cores and the kernel throttles it."""
    target = cpu_run[0.5]["telemetry"]["target"]
    assert target["cpu_cores"] == pytest.approx(0.5, abs=0.05)
    assert target["throttled_periods"] > 0


def test_more_cpu_helps_and_a_throttled_request_is_never_cheaper(cpu_run):
    """1 CPU does at least 1.7x what 0.5 does, and the CPU one request costs the container
    (cgroup CPU over completions) is no lower at 0.5, where CFS stops it every period."""
    half, whole = cpu_run[0.5], cpu_run[1.0]
    assert whole["stats"]["rps"] >= 1.7 * half["stats"]["rps"]

    def cost(point: dict) -> float:
        return point["telemetry"]["target"]["cpu_cores"] / point["stats"]["rps"]

    assert cost(half) >= 0.95 * cost(whole)


# The 10 %. The cost is calibrated on keep-alive streams that keep the CPU busy, sent
# from Locust's cores, as the load is, and is the median of five batches (PROFILE=cpu: 34 of
# 36 points within 10 %). A dozen sequential requests had read an idle CPU and missed by up to
# +10.9 % here; one unpinned count with a burst in it read +18.6 % at CPUS=0.5 in CI.
MODEL_TOLERANCE = 0.10


def test_the_cpu_model_holds_at_a_whole_core_and_bounds_a_half(cpu_run):
    """min(quota, cores, processes, users) / measured CPU cost: within 10 % at CPUS=1, and an
    upper bound at 0.5 (throttling adds cost the model does not know: GIL waits, cold caches)."""
    whole, half = cpu_run[1.0], cpu_run[0.5]
    assert whole["prediction"]["cpu_cost_ms"] > 0
    assert len(whole["prediction"]["cpu_cost_batches_ms"]) == 5
    assert whole["stats"]["rps"] == pytest.approx(whole["prediction"]["rps"], rel=MODEL_TOLERANCE)
    assert half["stats"]["rps"] <= (1 + MODEL_TOLERANCE) * half["prediction"]["rps"]

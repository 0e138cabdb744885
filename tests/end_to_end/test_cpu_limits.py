"""What a CPU limit does, measured: cpu/sync on two worker processes at CPUS 0.5 and 1."""

from __future__ import annotations

import json
from statistics import median

import pytest

from tests.end_to_end.test_sweep import finish, loadlab

pytestmark = pytest.mark.docker

REPEATS = 3  # the machine's own spread is measured, not assumed


@pytest.fixture(scope="module")
def cpu_run(tmp_path_factory, stack):
    """uvicorn-workers (2 processes) under cpu/sync with 4 users, at 0.5 and 1 CPU, 3 repeats."""
    out = tmp_path_factory.mktemp("cpu")
    args = ["--profile", "smoke", "--variants", "uvicorn-workers", "--endpoints", "cpu/sync",
            "--users", "4", "--cpus", "0.5,1", "--warmup", "8", "--duration", "8",
            "--repeats", str(REPEATS), "--out", str(out), "--run-id", "cpu"]  # fmt: skip
    code, _, err = finish(loadlab("sweep", *args))
    points = json.loads((out / "cpu" / "run.json").read_text())["points"]
    # A throttled step may settle late (then it is marked unsteady, exit 1): its numbers stand.
    assert code in (0, 1) and all(p["status"] in ("ok", "unsteady") for p in points), err
    found: dict[float, list[dict]] = {}
    for point in points:
        found.setdefault(point["cpus"], []).append(point)
    return found


def rps(points: list[dict]) -> float:
    return median(p["stats"]["rps"] for p in points)


def cost(point: dict) -> float:
    """What a request cost the container under load: its cgroup CPU over its completions."""
    return point["telemetry"]["target"]["cpu_cores"] / point["stats"]["rps"]


def spread(points: list[dict]) -> float:
    """How much the CPU time of one request moved within the run, as a share: across the
    repeats' windows and the calibration's batches. A virtual CPU's speed drifts with its
    host's load (here one request cost 11-22 ms of CPU within two minutes), and the model's
    precision can be no better than that."""
    seen = [cost(p) for p in points]
    seen += [ms / 1000 for p in points for ms in p["prediction"]["cpu_cost_batches_ms"]]
    return max(seen) / min(seen) - 1


def test_half_a_cpu_is_used_and_throttled(cpu_run):
    """At CPUS=0.5 the target uses 0.5 +- 0.05 cores and the kernel throttles it, every repeat."""
    for point in cpu_run[0.5]:
        target = point["telemetry"]["target"]
        assert target["cpu_cores"] == pytest.approx(0.5, abs=0.05)
        assert target["throttled_periods"] > 0


def cores(points: list[dict]) -> float:
    return median(p["telemetry"]["target"]["cpu_cores"] for p in points)


def test_more_cpu_helps_and_a_throttled_request_is_never_cheaper(cpu_run):
    """Twice the quota is used (at least 1.8x the cores: a clock-free count), and serves at
    least 1.7x the requests, less the CPU's own drift between the two groups (measured:
    ``spread`` within each). The 0.5 group runs minutes before the 1 CPU one, and on this VM a
    request's CPU moved from 18.7 to 20.9 ms between them in one run; CI read 1.68x once
    (42.6 against 25.3/s) against a flat 1.7x. The CPU one request costs the container
    (cgroup CPU over completions) is no lower at 0.5, where CFS stops it every period, beyond
    that same drift."""
    half, whole = cpu_run[0.5], cpu_run[1.0]
    drift = max(spread(half), spread(whole))
    assert cores(whole) >= 1.8 * cores(half)
    assert rps(whole) >= 1.7 / (1 + drift) * rps(half), f"drift {drift:.0%}"
    assert median(map(cost, half)) >= (0.95 - drift) * median(map(cost, whole)), f"{drift:.0%}"


def test_the_model_runs_as_many_requests_at_once_as_the_quota_allows(cpu_run):
    """The CPU model's parallelism is the quota: 0.5 and 1 request at once (a model that
    ignored the quota would predict twice the throughput at 0.5)."""
    assert {p["prediction"]["pool"] for p in cpu_run[0.5]} == {0.5}
    assert {p["prediction"]["pool"] for p in cpu_run[1.0]} == {1.0}
    for point in (*cpu_run[0.5], *cpu_run[1.0]):
        assert point["prediction"]["cpu_cost_streams"] == 4
        assert len(point["prediction"]["cpu_cost_batches_ms"]) == 5


# The 10 %, widened by the CPU's own drift measured in the same run (``spread``): on a
# quiet machine a few per cent, on a loaded host tens of per cent (this VM, 2026-12-01: the
# model missed by +27 % and -13 % in runs whose request cost moved by 50 % or more).
MODEL_TOLERANCE = 0.10


def test_the_cpu_model_holds_within_the_machines_own_spread(cpu_run):
    """min(quota, cores, processes, users) / measured CPU cost: within 10 % plus the measured
    spread at CPUS=1, and an upper bound at 0.5 (throttling adds cost: GIL waits, cold caches)."""
    whole, half = cpu_run[1.0], cpu_run[0.5]
    model = median(p["prediction"]["rps"] for p in whole)
    tolerance = MODEL_TOLERANCE + spread(whole)
    assert rps(whole) == pytest.approx(model, rel=tolerance), f"spread {spread(whole):.0%}"
    half_model = median(p["prediction"]["rps"] for p in half)
    assert rps(half) <= (1 + MODEL_TOLERANCE + spread(half)) * half_model

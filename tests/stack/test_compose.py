"""Real containers: each variant under its CPU limit, distributed Locust, and clean teardown."""

from __future__ import annotations

import csv

import pytest

from loadlab.plan.placement import host_cpus, parse_cpuset, place
from loadlab.plan.variants import VARIANTS
from loadlab.shared.traffic import Request
from loadlab.stack.compose import LocustRun, session
from tests.containers import leftovers

pytestmark = pytest.mark.docker

EXPECTED = {
    "uvicorn": {"server": "uvicorn", "workers": 1, "thread_limiter_tokens": 40},
    "uvicorn-limiter": {"server": "uvicorn", "workers": 1, "thread_limiter_tokens": 100},
    "uvicorn-workers": {"server": "uvicorn", "workers": 2, "thread_limiter_tokens": 40},
    "gunicorn": {"server": "gunicorn", "workers": 2, "thread_limiter_tokens": 40},
    "uvicorn-limit-concurrency": {"server": "uvicorn", "limit_concurrency": 20},
}


@pytest.mark.parametrize("cpus", [1.0, 0.5])
@pytest.mark.parametrize("variant", VARIANTS)
def test_variant_is_healthy_under_its_cpu_limit(stack, variant, cpus):
    """Each variant comes up healthy and /runtime inside reports the CPU quota and cpuset given."""
    placement = place(cpus)
    stack.up(variant, {"CPUS": str(cpus), "CPUSET": placement.target_cpuset})
    try:
        info = stack.runtime(variant)
        assert info["cpu_quota"] == cpus
        assert info["affinity"] == len(parse_cpuset(placement.target_cpuset))
        assert {k: info[k] for k in EXPECTED[variant]} == EXPECTED[variant]
    finally:
        stack.stop(variant)


@pytest.mark.skipif(len(host_cpus()) < 2, reason="needs two cores to widen the cpuset")
def test_cpuset_sets_the_affinity_seen_inside(stack):
    """CPUSET=0,1 with CPUS=1 gives the container two cores of affinity but one CPU of quota."""
    stack.up("uvicorn", {"CPUS": "1", "CPUSET": "0,1"})
    try:
        info = stack.runtime("uvicorn")
        assert (info["affinity"], info["cpu_quota"]) == (2, 1.0)
    finally:
        stack.stop("uvicorn")


def _aggregated(out) -> dict:
    with (out / "locust_stats.csv").open(newline="") as f:
        return next(row for row in csv.DictReader(f) if row["Name"] == "Aggregated")


IO_ASYNC = (Request("io/async", "/io/async"),)  # what each user sends


def _locust(out, target, users, locust_class="Target") -> LocustRun:
    return LocustRun(
        target=target,
        locust_class=locust_class,
        requests=IO_ASYNC,
        users=users,
        run_time=4,
        out=out,
        workers=2,
        cpuset=place(1).locust_cpuset,
    )


def test_distributed_locust_measures_a_variant(stack, tmp_path):
    """Locust master + 2 workers, headless, leave CSVs, a report and samples with no failure."""
    stack.up("uvicorn", {"CPUS": "1", "CPUSET": place(1).target_cpuset, "WORK_SECONDS": "0.05"})
    try:
        status = stack.run_locust(_locust(tmp_path, "uvicorn", 10), timeout=120)
    finally:
        stack.stop("uvicorn")
    assert status == 0
    row = _aggregated(tmp_path)
    assert int(row["Request Count"]) > 0 and int(row["Failure Count"]) == 0
    assert (tmp_path / "report.html").stat().st_size > 0
    assert len(list(tmp_path.glob("samples-*.csv"))) == 2  # one per worker


def test_limit_concurrency_turns_excess_into_503_failures(stack, tmp_path):
    """30 users against --limit-concurrency 5 make Locust record 503s as failures."""
    stack.up(
        "uvicorn-limit-concurrency",
        {
            "CPUS": "1",
            "CPUSET": place(1).target_cpuset,
            "WORK_SECONDS": "0.2",
            "LIMIT_CONCURRENCY": "5",
        },
    )
    try:
        status = stack.run_locust(_locust(tmp_path, "uvicorn-limit-concurrency", 30), timeout=120)
    finally:
        stack.stop("uvicorn-limit-concurrency")
    assert status == 1  # Locust's exit status when any request failed
    assert int(_aggregated(tmp_path)["Failure Count"]) > 0
    assert "503" in (tmp_path / "locust_failures.csv").read_text()


def test_session_tears_everything_down_when_the_body_fails(stack):
    """An exception inside a session still removes every container and network of the lab."""
    with pytest.raises(RuntimeError, match="boom"), session(stack):
        stack.up("uvicorn", {"CPUS": "0.5", "CPUSET": place(0.5).target_cpuset})
        assert leftovers() != []
        raise RuntimeError("boom")
    assert leftovers() == []


def test_a_kept_session_leaves_its_target_up_only_when_it_succeeds(stack):
    """session(keep=True), as verify uses it: on success the container stays up for the
    sweep (the outer session takes it down); on failure it is torn down at once."""
    env = {"CPUS": "0.5", "CPUSET": place(0.5).target_cpuset}
    with session(stack):
        with session(stack, keep=True):
            stack.up("uvicorn", env)
        assert stack.exited("uvicorn") is None  # still running after the kept block
    assert leftovers() == []
    with pytest.raises(RuntimeError, match="boom"), session(stack, keep=True):
        stack.up("uvicorn", env)
        raise RuntimeError("boom")
    assert leftovers() == []

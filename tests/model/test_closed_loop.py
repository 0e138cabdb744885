"""The closed-loop models: I/O throughput = min(U, P) / S, CPU throughput = parallel / cost."""

from __future__ import annotations

import math

import pytest

from loadlab.model.closed_loop import NOT_APPLICABLE, cpu_parallelism, pool_size, predict

RUNTIME = {
    "thread_limiter_tokens": 40,
    "default_executor_workers": 6,
    "custom_executor_workers": 100,
    "workers": 1,
    "work_seconds": 0.2,
}


@pytest.mark.parametrize(
    ("endpoint", "users", "rps", "mean_ms"),
    [
        ("io/sync", 10, 50, 200),
        ("io/sync", 80, 200, 400),
        ("io/threadpool", 120, 200, 600),
        ("io/executor-default", 120, 30, 4000),
        ("io/executor-custom", 120, 500, 240),
        ("io/async", 120, 600, 200),
        ("io/blocking-in-async", 10, 5, 2000),
    ],
)
def test_prediction_follows_the_pool_behind_each_endpoint(endpoint, users, rps, mean_ms):
    """Each I/O endpoint is predicted from its own pool as read from /runtime."""
    p = predict(endpoint, users, RUNTIME)
    assert (p.rps, p.mean_ms) == (rps, mean_ms)


def test_async_pool_is_unbounded():
    """The event loop sleeps any number of requests at once."""
    assert pool_size("io/async", RUNTIME) == math.inf


def test_worker_processes_multiply_the_pool():
    """Two worker processes have two limiters: 80 tokens in all."""
    assert pool_size("io/sync", {**RUNTIME, "workers": 2}) == 80


def test_limit_concurrency_caps_the_pool_and_drops_latency():
    """Load shedding caps concurrency at the limit; Little's law no longer gives the latency."""
    p = predict("io/async", 100, {**RUNTIME, "limit_concurrency": 20})
    assert (p.pool, p.rps, p.mean_ms) == (20, 100, None)


@pytest.mark.parametrize("endpoint", ["cpu/sync", "cpu/process", "background/sync", "health"])
def test_model_does_not_apply_beyond_io(endpoint):
    """CPU endpoints without a measured cost, background and meta endpoints get no prediction."""
    assert predict(endpoint, 10, RUNTIME).rps is None


# One core of a 2-core host, no quota, 2 server workers of 2 pool processes each.
CPU_RUNTIME = {**RUNTIME, "workers": 2, "process_workers": 2, "affinity": 1, "cpu_quota": None}
COST = 0.012  # seconds of CPU per request


@pytest.mark.parametrize(
    ("endpoint", "overrides", "users", "parallel"),
    [
        ("cpu/sync", {}, 10, 1),  # one core in the cpuset
        ("cpu/sync", {"affinity": 2}, 10, 2),  # two cores, two GILs
        ("cpu/sync", {"affinity": 2, "workers": 1}, 10, 1),  # one GIL, whatever the threads
        ("cpu/async", {"affinity": 2, "workers": 1}, 10, 1),  # the loop itself
        ("cpu/sync", {"affinity": 2, "cpu_quota": 0.5}, 10, 0.5),  # the quota below the cores
        ("cpu/sync", {"affinity": 2, "cpu_quota": 1.5}, 10, 1.5),
        ("cpu/sync", {"affinity": 1, "cpu_quota": 2.0}, 10, 1),  # the cpuset below the quota
        ("cpu/sync", {"affinity": 2}, 1, 1),  # one user keeps one core busy at most
        ("cpu/process", {"affinity": 2, "workers": 1}, 10, 2),  # the pool escapes the GIL
        ("cpu/process", {"affinity": 8, "workers": 2}, 10, 4),  # workers x process workers
        ("cpu/process", {"affinity": 8, "workers": 1, "process_workers": 1}, 10, 1),
    ],
)
def test_cpu_parallelism_is_the_tightest_limit(endpoint, overrides, users, parallel):
    """Parallel CPU is min(quota, cores, processes that can run Python, users)."""
    assert cpu_parallelism(endpoint, users, {**CPU_RUNTIME, **overrides}) == parallel


@pytest.mark.parametrize(
    ("endpoint", "overrides", "users", "rps", "mean_ms"),
    [
        ("cpu/sync", {}, 10, 83.333, 120),  # 1 core / 12 ms; 10 users queue 10 deep
        ("cpu/sync", {"cpu_quota": 0.5}, 10, 41.667, 240),
        ("cpu/sync", {"affinity": 2}, 1, 83.333, 12),  # below the knee latency is the cost
        ("cpu/sync", {"affinity": 2}, 40, 166.667, 240),
        ("cpu/async", {"affinity": 2, "workers": 1}, 20, 83.333, 240),
        ("cpu/process", {"affinity": 2, "workers": 1, "cpu_quota": 1.0}, 20, 83.333, 240),
    ],
)
def test_cpu_prediction_is_parallel_over_cost(endpoint, overrides, users, rps, mean_ms):
    """Throughput is parallel / cost and mean latency users / throughput (Little's law)."""
    p = predict(endpoint, users, {**CPU_RUNTIME, **overrides}, cpu_cost=COST)
    assert (p.rps, p.mean_ms) == (rps, mean_ms)


def test_cpu_prediction_reports_parallelism_as_its_pool():
    """A CPU prediction's pool is the parallelism it divided by the cost."""
    p = predict("cpu/sync", 10, {**CPU_RUNTIME, "affinity": 2, "cpu_quota": 1.5}, cpu_cost=COST)
    assert p.pool == 1.5 and p.rps == 125


@pytest.mark.parametrize(
    ("runtime", "cost"),
    [
        (CPU_RUNTIME, None),  # nothing measured
        (CPU_RUNTIME, 0.0),  # a cost of zero is a failed measurement, not infinite speed
        ({**CPU_RUNTIME, "affinity": None}, COST),  # cores unknown
        ({**CPU_RUNTIME, "limit_concurrency": 5}, COST),  # shed 503s cost CPU too
    ],
)
def test_cpu_prediction_needs_a_cost_and_the_cores(runtime, cost):
    """Without a measured cost, the cpuset or with load shedding there is no CPU prediction."""
    assert predict("cpu/sync", 10, runtime, cpu_cost=cost) == NOT_APPLICABLE


def test_process_endpoint_needs_the_pool_size():
    """cpu/process without a known PROCESS_WORKERS has no prediction."""
    runtime = {k: v for k, v in CPU_RUNTIME.items() if k != "process_workers"}
    assert predict("cpu/process", 10, runtime, cpu_cost=COST) == NOT_APPLICABLE


def test_cost_does_not_change_io_predictions():
    """An I/O prediction ignores a CPU cost passed by mistake."""
    assert predict("io/sync", 80, RUNTIME, cpu_cost=COST) == predict("io/sync", 80, RUNTIME)

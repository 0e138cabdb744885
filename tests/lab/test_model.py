"""The closed-loop queueing model: throughput = min(U, P) / S, mean latency = U / throughput."""

from __future__ import annotations

import math

import pytest

from loadlab.model import pool_size, predict

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
    """CPU, background and meta endpoints get no prediction rather than a wrong one."""
    assert predict(endpoint, 10, RUNTIME).rps is None

"""The queueing model every I/O measurement is checked against.

A closed loop of U users with no think time, served by a pool of P threads (or P processes
each blocking its event loop) whose work takes S seconds, completes min(U, P) / S requests a
second, and by Little's law each request spends U / throughput seconds in the system. The
pool behind each endpoint is read from /runtime inside the container, never assumed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .endpoints import ENDPOINTS


@dataclass(frozen=True)
class Prediction:
    pool: float | None  # threads that can sleep at once, all processes together; inf = unbounded
    rps: float | None
    mean_ms: float | None


NOT_APPLICABLE = Prediction(None, None, None)


def pool_size(endpoint: str, runtime: dict) -> float | None:
    """How many requests of ``endpoint`` can be in their blocking call at once."""
    per_process = {
        "io/async": math.inf,
        "io/sync": runtime.get("thread_limiter_tokens"),
        "io/threadpool": runtime.get("thread_limiter_tokens"),
        "io/executor-default": runtime.get("default_executor_workers"),
        "io/executor-custom": runtime.get("custom_executor_workers"),
        "io/blocking-in-async": 1,  # the event loop itself is the only "thread"
    }.get(endpoint)
    if per_process is None:
        return None
    pool = per_process * int(runtime.get("workers") or 1)
    if runtime.get("limit_concurrency"):
        # uvicorn sheds load past this many in-flight requests (per process).
        pool = min(pool, runtime["limit_concurrency"] * int(runtime.get("workers") or 1))
    return pool


def predict(endpoint: str, users: int, runtime: dict) -> Prediction:
    """Throughput and mean latency the model expects; NOT_APPLICABLE for non-I/O endpoints."""
    if ENDPOINTS[endpoint].kind != "io":
        return NOT_APPLICABLE
    pool = pool_size(endpoint, runtime)
    service = runtime.get("work_seconds")
    if pool is None or not service:
        return NOT_APPLICABLE
    rps = min(users, pool) / service
    # With load shedding the rejected users come back at once; Little's law no longer holds.
    mean_ms = None if runtime.get("limit_concurrency") else users / rps * 1000
    return Prediction(pool, round(rps, 3), None if mean_ms is None else round(mean_ms, 3))

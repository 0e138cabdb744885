"""The queueing models every measurement is checked against: I/O pools and CPU.

I/O. A closed loop of U users with no think time, served by a pool of P threads (or P
processes each blocking its event loop) whose work takes S seconds, completes min(U, P) / S
requests a second, and by Little's law each request spends U / throughput seconds in the
system. The pool behind each endpoint is read from /runtime inside the container, never assumed.

CPU. A request that costs C CPU-seconds is served by as many requests at once as can run
Python in parallel: parallel = min(quota, cores in the cpuset, Python processes, U), where the
processes are the server's workers for cpu/sync and cpu/async (one GIL each: the anyio threads
of cpu/sync take turns, cpu/async blocks its loop) and workers x PROCESS_WORKERS for
cpu/process. Throughput is parallel / C and mean latency U / throughput. C is measured (the
/cpu endpoints report the CPU time of their loop), never assumed.

Where the CPU model stops holding:
- C must be the whole cost of a request. The loop's own CPU time leaves out HTTP parsing,
  routing and JSON (a fraction of a millisecond per request under uvicorn), so with a cheap
  loop the model over-predicts; a process's CPU seconds over a window divided by the requests
  it served include everything. cpu/process also spends parent-side CPU on pickling and
  pipes, which competes with the pool for the same quota.
- The GIL: parallel threads in one process count as one. A free-threaded build (3.13t)
  would break this rule, and C extensions that release the GIL are not what /cpu runs.
- The process pool: cpu/process cannot run more at once than PROCESS_WORKERS per server
  worker, whatever the cores; more pool processes than cores only share them.
- CFS granularity: a quota is enforced per 100 ms period. Below one core the container runs
  for quota x 100 ms, then is throttled for the rest of the period: throughput averages out
  over many periods, but latency follows a sawtooth (a request caught by the throttle waits
  up to (1 - quota) x 100 ms), so percentiles, unlike the mean, are not the model's.
- Cores are logical CPUs: two SMT siblings in the cpuset are counted as two cores, but
  give less than twice one core's throughput.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from loadlab.shared.endpoints import ENDPOINTS


@dataclass(frozen=True)
class Prediction:
    # Requests that progress at once, all processes together: threads that can sleep (I/O),
    # CPUs that can run Python (CPU); inf = unbounded.
    pool: float | None
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


def cpu_parallelism(endpoint: str, users: int, runtime: dict) -> float | None:
    """How many requests of a /cpu ``endpoint`` can run Python at once; None if unknown."""
    workers = int(runtime.get("workers") or 1)
    if endpoint == "cpu/process":
        if not runtime.get("process_workers"):
            return None
        interpreters = workers * int(runtime["process_workers"])
    else:
        interpreters = workers  # one GIL per server process
    cores = runtime.get("affinity")
    if not cores:
        return None
    # No quota (None) means the cpuset alone limits.
    limits = [cores, interpreters, users, runtime.get("cpu_quota") or math.inf]
    return min(limits)


def predict(endpoint: str, users: int, runtime: dict, cpu_cost: float | None = None) -> Prediction:
    """Throughput and mean latency the model expects, or NOT_APPLICABLE.

    ``cpu_cost`` is the measured CPU seconds of one request of a /cpu endpoint; without it
    (or for background and meta endpoints) there is no prediction rather than a wrong one.
    """
    kind = ENDPOINTS[endpoint].kind
    if kind == "cpu":
        return _predict_cpu(endpoint, users, runtime, cpu_cost)
    if kind != "io":
        return NOT_APPLICABLE
    pool = pool_size(endpoint, runtime)
    service = runtime.get("work_seconds")
    if pool is None or not service:
        return NOT_APPLICABLE
    rps = min(users, pool) / service
    # With load shedding the rejected users come back at once; Little's law no longer holds.
    mean_ms = None if runtime.get("limit_concurrency") else users / rps * 1000
    return Prediction(pool, round(rps, 3), None if mean_ms is None else round(mean_ms, 3))


def _predict_cpu(endpoint: str, users: int, runtime: dict, cpu_cost: float | None) -> Prediction:
    parallel = cpu_parallelism(endpoint, users, runtime)
    # Under load shedding the 503s spend CPU too, and the model has no term for them.
    if parallel is None or not cpu_cost or cpu_cost <= 0 or runtime.get("limit_concurrency"):
        return NOT_APPLICABLE
    rps = parallel / cpu_cost
    return Prediction(parallel, round(rps, 3), round(users / rps * 1000, 3))

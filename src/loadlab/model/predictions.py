"""The yardstick of a measured point: what the model expects of it, computed afterwards.

Never an input: nothing here shapes a window, a warmup or an estimate. The closed loop's I/O
and CPU models read the pools and the measured CPU cost; the open loop's model is evaluated
over the point's own measured window (the backlog of an overload grows through it).
"""

from __future__ import annotations

import math
from dataclasses import asdict

from loadlab.model import closed_loop, open_loop
from loadlab.plan.config import Plan
from loadlab.results import PointResult
from loadlab.stack.readiness import CpuCost


def prediction(result: PointResult, plan: Plan, cpu_cost: CpuCost | None) -> dict:
    """What the model expects of a measured point: closed-loop queueing (I/O), the CPU model
    (cpu, from the measured cost), or the open-loop model over the point's own window."""
    point, runtime, stats = result.point, result.runtime or {}, result.stats or {}
    if point.rate is None:
        seconds = cpu_cost.seconds if cpu_cost else None
        p = closed_loop.predict(point.endpoint, point.users, runtime, cpu_cost=seconds)
        found = {"pool": p.pool, "rps": p.rps, "mean_ms": p.mean_ms}
    else:
        pool = closed_loop.pool_size(point.endpoint, runtime)
        begun = stats.get("step_start") or 0.0
        window = (stats["window_start"] - begun, stats["window_end"] - begun)
        found = asdict(open_loop.predict_open(pool, runtime.get("work_seconds"), point.rate,
                                             plan.config.arrivals, window=window))  # fmt: skip
    if cpu_cost is not None:
        found["cpu_cost_ms"] = round(cpu_cost.seconds * 1000, 4)
        found["cpu_cost_batches_ms"] = [round(c * 1000, 4) for c in cpu_cost.batches]
    if found.get("pool") == math.inf:
        found["pool"] = "unbounded"
    return found

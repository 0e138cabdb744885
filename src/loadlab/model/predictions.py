"""The yardstick of a measured point: what the model expects of it, computed afterwards.

Never an input: nothing here shapes a window, a warmup or an estimate. The closed loop's I/O
and CPU models read the pools and the measured CPU cost; the open loop's model is evaluated
over the point's own measured window (the backlog of an overload grows through it).

run.json keeps its format: a closed-loop prediction holds pool, rps and mean_ms, an open-loop
one the open-loop model's keys, and either the measured CPU cost or the measured service
time when there was one; an unbounded pool is written "unbounded". The I/O models take the
measured service time where there is one (runs before it was take the nominal WORK_SECONDS).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from loadlab.measure.stats import WindowStats
from loadlab.model import closed_loop, open_loop
from loadlab.plan.matrix import Point

if TYPE_CHECKING:  # only the sweep computes predictions; results.py reads them
    from loadlab.model.calibration import CpuCost, ServiceTime
    from loadlab.plan.config import Plan

UNBOUNDED = "unbounded"  # an infinite pool, as run.json and summary.csv write it
CLOSED_KEYS = ("pool", "rps", "mean_ms")
OPEN_KEYS = ("pool", "capacity", "rps", "mean_ms", "p50_ms", "p90_ms", "p95_ms", "p99_ms",
             "p999_ms", "method")  # fmt: skip
# Written only when the cost was measured (streams: the concurrency it was measured at).
CPU_KEYS = ("cpu_cost_ms", "cpu_cost_batches_ms", "cpu_cost_streams")
# Written only when the service time was measured: the median, the samples and the nominal S.
SERVICE_KEYS = ("service_ms", "service_samples_ms", "nominal_service_ms")
CALIBRATION_KEYS = (*CPU_KEYS, *SERVICE_KEYS)


@dataclass(frozen=True)
class Prediction:
    """What the model expects of one point; None where it has no answer."""

    pool: float | None  # requests that progress at once (math.inf: unbounded)
    rps: float | None
    mean_ms: float | None
    load: str = "closed"  # which loop's model: it decides the keys run.json holds
    # The open loop's model only.
    capacity: float | None = None  # c / S, requests a second
    p50_ms: float | None = None
    p90_ms: float | None = None
    p95_ms: float | None = None
    p99_ms: float | None = None
    p999_ms: float | None = None
    method: str | None = None  # which model gave the latencies
    # The measured CPU cost of one request, when it was calibrated.
    cpu_cost_ms: float | None = None
    cpu_cost_batches_ms: tuple[float, ...] | None = None
    cpu_cost_streams: int | None = None
    # The measured service time of an I/O endpoint, when it was calibrated.
    service_ms: float | None = None
    service_samples_ms: tuple[float, ...] | None = None
    nominal_service_ms: float | None = None  # WORK_SECONDS, which the model no longer takes

    @property
    def stored_pool(self) -> float | str | None:
        """The pool as run.json and summary.csv hold it: a number, or "unbounded"."""
        return UNBOUNDED if self.pool == math.inf else self.pool

    def to_json(self) -> dict:
        keys = CLOSED_KEYS if self.load == "closed" else OPEN_KEYS
        found = {key: getattr(self, key) for key in keys} | {"pool": self.stored_pool}
        for key in CALIBRATION_KEYS:
            if getattr(self, key) is not None:
                found[key] = _stored(getattr(self, key))
        return found

    @classmethod
    def from_json(cls, data: dict) -> Prediction:
        load = "open" if "capacity" in data else "closed"
        values = {key: data.get(key) for key in (*OPEN_KEYS, *CALIBRATION_KEYS) if key in data}
        if values.get("pool") == UNBOUNDED:
            values["pool"] = math.inf
        for key in ("cpu_cost_batches_ms", "service_samples_ms"):
            if values.get(key) is not None:
                values[key] = tuple(values[key])
        return cls(**{**dict.fromkeys(CLOSED_KEYS), **values}, load=load)


def _stored(value: object) -> object:
    return list(value) if isinstance(value, tuple) else value


def prediction(point: Point, runtime: dict | None, stats: WindowStats | None, plan: Plan,
               cpu_cost: CpuCost | None,
               service: ServiceTime | None = None) -> Prediction:  # fmt: skip
    """What the model expects of a measured point: closed-loop queueing (I/O), the CPU model
    (cpu, from the measured cost), or the open-loop model over the point's own window; the
    I/O ones with the measured service time when there is one."""
    runtime = runtime or {}
    nominal = runtime.get("work_seconds")
    if service is not None:
        runtime = {**runtime, "work_seconds": service.seconds}
    if point.rate is None:
        seconds = cpu_cost.seconds if cpu_cost else None
        p = closed_loop.predict(point.endpoint, point.users, runtime, cpu_cost=seconds)
        found = Prediction(p.pool, p.rps, p.mean_ms)
    else:
        found = _open(point, runtime, stats, plan)
    if service is not None:
        found = _with_service(found, service, nominal)
    if cpu_cost is None:
        return found
    return _with_cost(found, cpu_cost)


def _open(point: Point, runtime: dict, stats: WindowStats, plan: Plan) -> Prediction:
    pool = closed_loop.pool_size(point.endpoint, runtime)
    begun = stats.step_start or 0.0
    window = (stats.window_start - begun, stats.window_end - begun)
    p = open_loop.predict_open(pool, runtime.get("work_seconds"), point.rate,
                               plan.arrivals, window=window)  # fmt: skip
    return Prediction(p.pool, p.rps, p.mean_ms, "open", p.capacity, p.p50_ms, p.p90_ms,
                      p.p95_ms, p.p99_ms, p.p999_ms, p.method)  # fmt: skip


def _with_service(found: Prediction, service: ServiceTime, nominal: float | None) -> Prediction:
    return replace(
        found,
        service_ms=round(service.seconds * 1000, 4),
        service_samples_ms=tuple(round(s * 1000, 4) for s in service.samples),
        nominal_service_ms=None if nominal is None else round(nominal * 1000, 4),
    )


def _with_cost(found: Prediction, cpu_cost: CpuCost) -> Prediction:
    return replace(
        found,
        cpu_cost_ms=round(cpu_cost.seconds * 1000, 4),
        cpu_cost_batches_ms=tuple(round(c * 1000, 4) for c in cpu_cost.batches),
        cpu_cost_streams=cpu_cost.streams,
    )

"""One step of a Locust run turned into a point: its window cut where the data say it settled,
its numbers estimated with intervals, and its status judged, for either kind of loop.

The closed loop reads the raw samples (each user's own cycles give its throughput); the open
loop reads the workers' per-slice histograms. Either way the window starts where the measured
series settled (``steady``), never where the model says, and telemetry is summarised over
the very same window. What a step gives is a ``Measured``, which the sweep records as the
point's result: nothing here knows how results are stored.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path

from loadlab.errors import PointError
from loadlab.measure import estimate, record, samples, status, steady
from loadlab.measure.stats import Usage, WindowStats
from loadlab.model import closed_loop
from loadlab.plan.config import Plan
from loadlab.plan.matrix import Point
from loadlab.shared import histograms, offered
from loadlab.shared.endpoints import ENDPOINTS
from loadlab.stack import telemetry


@dataclass(frozen=True)
class Telemetry:
    """What the containers did during a Locust run, summarised over any window of it."""

    sampler: telemetry.Sampler
    locust_cores: int  # cores in the Locust containers' cpuset

    def over(self, start: float, end: float) -> dict:
        found: dict = {"locust": {}}
        for name in self.sampler.names():
            summary = telemetry.summarise(self.sampler.series(name), start, end,
                                          quota=self.sampler.limit(name))  # fmt: skip
            if name == "target":
                found["target"] = summary
            else:
                found["locust"][name] = summary
        return found

    def locust_share(self, summary: dict) -> float | None:
        """The busiest share of CPU the load generator had: one worker against the one core a
        Python process can use, or all workers against the cores of their cpuset."""
        cores = Usage.of(summary).workers_cpu
        if not cores:
            return None
        return max(max(cores), sum(cores) / self.locust_cores)


@dataclass(frozen=True)
class Measured:
    """One step measured: its window's statistics, the containers' telemetry over that same
    window, and the point's status with every reason for it (its flags)."""

    stats: WindowStats
    telemetry: dict | None
    status: str
    flags: list[str]


def closed_step(point: Point, runtime: dict, found: list[samples.Sample],
                step: offered.StepTimes, plan: Plan,
                tel: Telemetry | None = None) -> Measured:  # fmt: skip
    """The closed loop's step: from where latency, throughput and the users' turnover settled."""
    in_step = samples.completed_between(found, step.start, step.end)
    cut = steady.truncate(in_step, step.start, step.end)
    start = _window_start(cut, step, plan)
    stats = estimate.closed_loop(found, start, step.end, point.users)
    return _judge(point, runtime, stats, cut, step, plan, tel, start)


def pool_ceiling(endpoint: str, runtime: dict) -> float | None:
    """P / S: the most requests a second a pool of P threads sleeping S seconds can complete."""
    pool, service = pool_of(endpoint, runtime), runtime.get("work_seconds")
    if pool is None or not service or math.isinf(pool):
        return None
    return pool / service


def pool_of(endpoint: str, runtime: dict) -> float | None:
    """P: the requests the demo's I/O endpoint works on at once (None: a user's, or not
    known); an unbounded pool is math.inf."""
    if endpoint not in ENDPOINTS or ENDPOINTS[endpoint].kind != "io":
        return None
    return closed_loop.pool_size(endpoint, runtime)


def in_flight_cap(point: Point, plan: Plan) -> int | None:
    """The open loop's cap on requests in flight over every worker, None in a closed loop."""
    return None if point.users is not None else plan.in_flight_per_worker * plan.locust_workers


def open_step(point: Point, runtime: dict, found: record.Record, step: offered.StepTimes,
              plan: Plan, tel: Telemetry | None = None) -> Measured:  # fmt: skip
    """The open loop's step: whole slices from where throughput and latency settled. A step
    whose arrivals outran its completions is overloaded (``status``), settled or not: its
    window gives the capacity it reached and how fast its backlog grew."""
    in_step = found.between(step.start, step.end)
    throughput = [s.counts["ok"] / found.width for s in in_step]
    latency = [
        histograms.percentiles(record.merged([s], "corrected"))["mean_ms"] or 0.0 for s in in_step
    ]
    cut = steady.truncate_series(throughput, latency, found.width)
    start = _window_start(cut, step, plan)
    stats = estimate.open_loop(found.between(start, step.end), found.width,
                               point.level, found.errors)  # fmt: skip
    return _judge(point, runtime, stats, cut, step, plan, tel, start)


def _window_start(cut: steady.Truncation, step: offered.StepTimes, plan: Plan) -> float:
    # A step that never settled is still measured, from the budget on, and marked unsteady.
    settled_after, length = cut.settled_after, step.end - step.start
    usable = settled_after is not None and settled_after < length - 1
    return step.start + (settled_after if usable else min(plan.warmup, length / 2))


def _judge(point: Point, runtime: dict, stats: WindowStats, cut: steady.Truncation,
           step: offered.StepTimes, plan: Plan, tel: Telemetry | None,
           start: float) -> Measured:  # fmt: skip
    """The window placed in its step (warmup, truncation, settle budget), the telemetry over
    the same window, and the point's status from what was measured."""
    settled_after = cut.settled_after
    budget = offered.settle_budget(plan.warmup, (stats.mean_ms or 0) / 1000)
    stats = replace(
        stats,
        warmup=None if settled_after is None else round(settled_after, 3),
        truncation=cut,
        step_start=step.start,
        step_end=step.end,
        settle_budget=round(budget, 3),
    )
    telemetry = tel.over(start, step.end) if tel is not None else None
    found = status.assess(
        stats,
        users=point.users,
        settled=settled_after is not None and settled_after <= budget,
        max_failure_ratio=plan.max_failure_ratio,
        shedding=bool(runtime.get("limit_concurrency")),
        ceiling_rps=pool_ceiling(point.endpoint, runtime),
        locust_cpu_share=tel.locust_share(telemetry) if tel is not None else None,
        in_flight_cap=in_flight_cap(point, plan),
        pool=pool_of(point.endpoint, runtime),
    )
    if found.backlog is not None:  # overloaded: how fast its queue grew is part of the result
        stats = replace(stats, backlog_rps=found.backlog.growth,
                        backlog_ci=found.backlog.growth_ci)  # fmt: skip
    return Measured(stats, telemetry, found.status, found.flags)


def load_closed(out: Path, workers: int) -> list[samples.Sample]:
    """Every worker's samples; a worker that wrote none (killed, crashed) fails the points."""
    files = len(list(out.glob("samples-*.csv")))
    if files != workers:
        raise PointError(f"samples incomplete: {files} of {workers} Locust workers wrote them")
    return samples.load(out)


def step_times(out: Path, steps: int) -> list[offered.StepTimes]:
    """When each step of the run was really in force, as the Locust master recorded it."""
    try:
        times = offered.load_step_times(str(out / offered.STEPS_FILE))
    except (OSError, ValueError) as exc:
        raise PointError(f"Locust recorded no step times: {exc}") from None
    if len(times) != steps:
        raise PointError(f"Locust ran {len(times)} of {steps} steps; see {out / 'locust.log'}")
    return times

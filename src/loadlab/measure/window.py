"""One step of a Locust run turned into a point: its window cut where the data say it settled,
its numbers estimated with intervals, and its status judged, for either kind of loop.

The closed loop reads the raw samples (each user's own cycles give its throughput); the open
loop reads the workers' interval histograms. Either way the window starts where the measured
series settled (``steady``), never where the model says, and telemetry is summarised over
the very same window.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path

from loadlab.errors import PointError
from loadlab.measure import estimate, record, samples, status, steady
from loadlab.model import closed_loop
from loadlab.plan.config import Plan
from loadlab.results import PointResult
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
        cores = [w["cpu_cores"] for w in summary["locust"].values() if "cpu_cores" in w]
        if not cores:
            return None
        return max(max(cores), sum(cores) / self.locust_cores)


def closed_step(result: PointResult, found: list[samples.Sample], step: offered.StepTimes,
                plan: Plan, tel: Telemetry | None = None) -> None:  # fmt: skip
    """The closed loop's step: from where latency, throughput and the users' turnover settled."""
    in_step = samples.completed_between(found, step.start, step.end)
    cut = steady.truncate(in_step, step.start, step.end)
    start = _window_start(cut, step, plan)
    stats = asdict(estimate.closed_loop(found, start, step.end, result.point.users))
    _judge(result, stats, cut, step, plan, tel, start)


def pool_ceiling(endpoint: str, runtime: dict) -> float | None:
    """P / S: the most requests a second a pool of P threads sleeping S seconds can complete."""
    if ENDPOINTS[endpoint].kind != "io":
        return None
    pool, service = closed_loop.pool_size(endpoint, runtime), runtime.get("work_seconds")
    if pool is None or not service or math.isinf(pool):
        return None
    return pool / service


def open_step(result: PointResult, found: record.Record, step: offered.StepTimes,
              plan: Plan, tel: Telemetry | None = None) -> None:  # fmt: skip
    """The open loop's step: whole intervals from where throughput and latency settled."""
    in_step = found.between(step.start, step.end)
    throughput = [i.counts["ok"] / found.width for i in in_step]
    latency = [
        histograms.percentiles(record.merged([i], "corrected"))["mean_ms"] or 0.0 for i in in_step
    ]
    cut = steady.truncate_series(throughput, latency, found.width)
    start = _window_start(cut, step, plan)
    stats = estimate.open_loop(found.between(start, step.end), found.width,
                               result.point.level, found.errors)  # fmt: skip
    _judge(result, stats, cut, step, plan, tel, start)


def _window_start(cut: steady.Truncation, step: offered.StepTimes, plan: Plan) -> float:
    # A step that never settled is still measured, from the budget on, and marked unsteady.
    settled_after, length = cut.settled_after, step.end - step.start
    usable = settled_after is not None and settled_after < length - 1
    return step.start + (settled_after if usable else min(plan.warmup, length / 2))


def _judge(result: PointResult, stats: dict, cut: steady.Truncation, step: offered.StepTimes,
           plan: Plan, tel: Telemetry | None, start: float) -> None:  # fmt: skip
    settled_after = cut.settled_after
    stats.update(
        warmup=None if settled_after is None else round(settled_after, 3),
        truncation=asdict(cut),
        step_start=step.start,
        step_end=step.end,
    )
    result.stats = stats
    result.telemetry = tel.over(start, step.end) if tel is not None else None
    runtime = result.runtime or {}
    budget = offered.settle_budget(plan.warmup, (stats.get("mean_ms") or 0) / 1000)
    stats["settle_budget"] = round(budget, 3)
    verdict = status.assess(
        stats,
        users=result.point.users,
        settled=settled_after is not None and settled_after <= budget,
        max_failure_ratio=plan.config.max_failure_ratio,
        shedding=bool(runtime.get("limit_concurrency")),
        ceiling_rps=pool_ceiling(result.point.endpoint, runtime),
        locust_cpu_share=tel.locust_share(result.telemetry) if tel is not None else None,
    )
    result.status, result.flags = verdict.status, verdict.flags


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

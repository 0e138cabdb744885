"""How load is offered: the steps of one Locust run, read by the driver and the locustfile alike.

A sweep keeps one Locust run going per (series, CPU limit, repeat) and steps the offered load
inside it, so start-up is paid once per run rather than once per point:

- closed loop (LOAD=closed): a step is a number of users, each sending its next request as
  soon as its answer arrives, so a slow server slows its own load;
- open loop (LOAD=open): a step is a total request rate, sent at intended times whatever the
  answers do (see arrivals), with a cap on requests in flight; latency is measured from the
  intended send time, so a slow server cannot hide its queue (no coordinated omission).

The driver plans the steps, hands them to Locust as environment variables, and cuts each
step's window from what the workers recorded afterwards; the locustfile reads the same
variables. This module is copied into the Locust image, so it imports nothing but the stdlib.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

LOADS = ("closed", "open")
STEPS_VARIABLE = "LAB_STEPS"
SETTLE_VARIABLE = "LAB_SETTLE"  # the settling budget (WARMUP), seconds
LOAD_VARIABLE = "LAB_LOAD"  # closed or open
ARRIVALS_VARIABLE = "LAB_ARRIVALS"  # uniform or poisson
IN_FLIGHT_VARIABLE = "LAB_MAX_IN_FLIGHT"  # per worker
SAMPLES_VARIABLE = "LAB_SAMPLES"  # 1: open-loop workers keep raw samples too
HISTOGRAMS_PREFIX = "hist-"  # open-loop workers' interval histograms, one JSON file each
INTERVAL = 1.0  # seconds per recorded open-loop interval: each ends with three histograms
# encoded (a few ms with the event loop held), so fewer intervals keep the sends on time
OPEN_START_DELAY = 2.0  # the master announces a start time this far ahead, so every worker
# is ready and their schedules share one origin
OPEN_TAIL = 5.0  # seconds after the last step for answers still in flight
STEPS_FILE = "steps.json"  # where the master records when each step really began
# A closed loop's queue turns over once per cycle (one mean latency), so settling takes at
# least that long: the budget is WARMUP or SETTLE_LATENCIES measured mean latencies, whichever
# is longer. A step lasts at least its planned seconds and at least that budget plus
# WINDOW_LATENCIES measured mean latencies, so a slow queue still yields enough batches for an
# interval; the stretch is capped so a step that never settles cannot run away.
SETTLE_LATENCIES = 2
WINDOW_LATENCIES = 6
MAX_STRETCH = 4.0


@dataclass(frozen=True)
class Step:
    """One level of offered load held for ``seconds``: users (closed loop) or requests a
    second across all workers (open loop)."""

    level: float
    seconds: float


def encode(steps: list[Step]) -> str:
    """'10x14,40x14': compact enough for an environment variable, readable in a log."""
    return ",".join(f"{s.level:g}x{s.seconds:g}" for s in steps)


def decode(text: str) -> list[Step]:
    steps = []
    for part in text.split(","):
        level, _, seconds = part.strip().partition("x")
        steps.append(Step(float(level), float(seconds)))
    if not steps or any(s.level < 1 or s.seconds <= 0 for s in steps):
        raise ValueError(f"{STEPS_VARIABLE} must look like '10x14,40x14', got {text!r}")
    return steps


def settle_budget(settle: float, mean_latency: float | None) -> float:
    """The most a step may take to settle: WARMUP, or two of its own measured cycles."""
    return max(settle, SETTLE_LATENCIES * (mean_latency or 0.0))


def step_length(step: Step, settle: float, mean_latency: float | None) -> float:
    """How long ``step`` runs, given the mean latency measured in it so far (seconds)."""
    budget = settle_budget(settle, mean_latency)
    wanted = max(step.seconds, budget + WINDOW_LATENCIES * (mean_latency or 0.0))
    return min(wanted, MAX_STRETCH * step.seconds)


def longest(steps: list[Step]) -> float:
    """The most a run of ``steps`` can last (every step stretched to its cap)."""
    return sum(MAX_STRETCH * s.seconds for s in steps)


@dataclass(frozen=True)
class StepTimes:
    """When one step was really in force, in wall-clock seconds (the shape ticks once a second,
    so the planned boundaries move by up to a second; the windows follow what happened)."""

    index: int
    level: float
    start: float
    end: float

    def to_json(self) -> dict:
        return asdict(self)


class Stepper:
    """The load shape's state: which step is in force, and when each began and ended."""

    def __init__(self, steps: list[Step], settle: float) -> None:
        self.steps = steps
        self.settle = settle
        self.times: list[StepTimes] = []

    def tick(self, now: float, mean_latency: float | None) -> float | None:
        """The level to hold at ``now``; None once the last step is over."""
        if not self.times:
            self.times.append(StepTimes(0, self.steps[0].level, now, 0.0))
        current = self.times[-1]
        if current.end:
            return None
        limit = step_length(self.steps[current.index], self.settle, mean_latency)
        if now - current.start < limit:
            return current.level
        self.close(now)
        if current.index + 1 == len(self.steps):
            return None
        following = self.steps[current.index + 1]
        self.times.append(StepTimes(current.index + 1, following.level, now, 0.0))
        return following.level

    def close(self, now: float) -> None:
        last = self.times[-1] if self.times else None
        if last is not None and not last.end:
            self.times[-1] = StepTimes(last.index, last.level, last.start, now)


def planned_times(steps: list[Step], t0: float) -> list[StepTimes]:
    """An open loop's steps as scheduled from ``t0`` (its sends follow the plan exactly)."""
    times, start = [], t0
    for i, step in enumerate(steps):
        times.append(StepTimes(i, step.level, start, start + step.seconds))
        start += step.seconds
    return times


def save_step_times(path: str, times: list[StepTimes]) -> None:
    with open(path, "w") as f:
        json.dump([t.to_json() for t in times], f)


def load_step_times(path: str) -> list[StepTimes]:
    with open(path) as f:
        return [StepTimes(**t) for t in json.load(f)]

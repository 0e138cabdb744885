"""A sweep from start to report: validate, check the engine, measure, always render.

Order matters: the configuration is validated and the engine checked before a run
directory exists or a container starts; after that, whatever happens (a failed point, an
exception, Ctrl-C) the run is saved, the report rendered for what finished, and
reports/latest pointed at it.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from loadlab.errors import ConfigError, EngineError, LabError
from loadlab.plan.config import (
    Plan,
    SweepConfig,
    check_new_run,
    estimated_minutes,
    resolve,
    with_resume_defaults,
)
from loadlab.plan.matrix import points
from loadlab.plan.variants import image_of
from loadlab.progress import Progress
from loadlab.report import index
from loadlab.results import PointResult, Run, link_latest
from loadlab.shared.endpoints import ENDPOINTS
from loadlab.stack import lock, metadata
from loadlab.stack.compose import ROOT, Stack
from loadlab.sweep import Sweep, seconds_per_point


@dataclass(frozen=True)
class Outcome:
    run: Run
    interrupted: bool
    sweep: Sweep | None = None

    def remeasure(self, point_ids: list[str]) -> dict[str, PointResult]:
        """The nightly gate's confirmation: these points measured again, in the lab's lock."""
        if self.sweep is None:
            return {}
        with lock.hold(ROOT, f"nightly re-measure {self.run.directory}"):
            return self.sweep.remeasure(point_ids)

    @property
    def failed(self) -> int:
        return sum(r.status == "failed" for r in self.run.points.values())

    @property
    def not_ok(self) -> dict[str, int]:
        """Points whose numbers cannot be trusted, by status (pending ones aside)."""
        found: dict[str, int] = {}
        for r in self.run.points.values():
            if r.status not in ("ok", "pending"):
                found[r.status] = found.get(r.status, 0) + 1
        return found


def plan_for(config: SweepConfig) -> Plan:
    """The validated plan; for RESUME, the plan the run was started with."""
    if config.resume is None:
        plan = resolve(config)
        check_new_run(plan)
        return plan
    if not (config.resume / "run.json").is_file():
        raise ConfigError(f"RESUME: {config.resume} is not a run directory (no run.json)")
    stored = Run.load(config.resume)
    return resolve(with_resume_defaults(stored.config, config, config.resume))


def describe(plan: Plan) -> str:
    """One line: what the plan measures and roughly how long it takes."""
    n = len(points(plan))
    what = "resuming " + str(plan.config.resume) if plan.config.resume else plan.config.profile
    levels = "user counts" if plan.load == "closed" else "rates"
    return (
        f"plan ({what}, {plan.load} loop): {n} points = {len(plan.series)} series x "
        f"{len(plan.cpus)} CPU limits x {len(plan.levels)} {levels} x {plan.repeats} repeats, "
        f"about {estimated_minutes(plan):.0f} min"
    )


def preflight(stack: Stack, plan: Plan) -> None:
    """Fail before anything starts when the engine or the images are missing."""
    try:
        subprocess.run(["docker", "info"], capture_output=True, check=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        raise EngineError("no Docker engine reachable: run `make engine`") from None
    wanted = {*metadata.IMAGES.values(), *(image_of(v) for v, _ in plan.series)}
    for image in sorted(wanted):
        found = subprocess.run(["docker", "image", "inspect", image], capture_output=True)
        if found.returncode != 0:
            make = "make images-py313" if image.endswith("py3.13") else "make images"
            raise EngineError(f"image {image} is missing: run `{make}`")


def open_run(plan: Plan) -> Run:
    config = plan.config
    if config.resume is not None:
        return Run.load(config.resume)
    return Run.create(check_new_run(plan), plan.to_json(), points(plan))


def execute(plan: Plan, stack: Stack) -> Outcome:
    """Measure what is left of the run; the caller has already run preflight()."""
    run = open_run(plan)
    run.metadata.update(metadata.collect())
    run.metadata.setdefault("started_at", metadata.now())
    run.metadata.pop("finished_at", None)
    todo = sum(r.status != "ok" for r in run.points.values())
    sweep = Sweep(plan, run, stack, Progress(todo, seconds_per_point(plan)))
    interrupted = False
    try:
        sweep.execute()
    except KeyboardInterrupt:
        interrupted = True
    finally:
        sweep.progress.close()
        run.metadata["finished_at"] = metadata.now()
        run.metadata["interrupted"] = interrupted
        run.metadata["efficiency"] = efficiency(
            sweep.measured_s, sweep.progress.elapsed(), sweep.calibrations.seconds
        )
        if plan.config.profile == "bench":
            run.metadata["harness_ceiling_rps"] = harness_ceiling(run)
        run.save()
        index.render(run)
        link_latest(run)
    return Outcome(run, interrupted, sweep)


def harness_ceiling(run: Run) -> float | None:
    """The most requests a second the lab drove through Locust in a bench run: its ok and
    harness-bound points (finding where the harness runs out is what a bench is for)."""
    rates = [r.stats.rps for r in run.points.values()
             if r.status in ("ok", "harness-bound") and r.stats and r.stats.rps]  # fmt: skip
    return max(rates) if rates else None


def latest_ceiling(out: Path) -> tuple[float, str] | None:
    """The ceiling the newest `make bench` in ``out`` measured, and that run's name."""
    for path in sorted(out.glob("bench-*/run.json"), reverse=True):
        try:
            ceiling = Run.load(path.parent).metadata.get("harness_ceiling_rps")
        except LabError:
            continue
        if ceiling:
            return ceiling, path.parent.name
    return None


def ceiling_warnings(plan: Plan) -> list[str]:
    """Points that could ask for more than the lab has been measured to drive."""
    found = latest_ceiling(plan.config.out)
    if found is None:
        return []
    ceiling, bench = found
    over = []
    for variant, endpoint in plan.series:
        for level in plan.levels:
            # The most a point can ask for: its rate, or every user cycling in one service time.
            asks = level if plan.load == "open" else level / plan.work_seconds
            if ENDPOINTS[endpoint].kind == "io" and asks > ceiling:
                over.append(f"{variant} {endpoint} at {level:g}")
    if not over:
        return []
    return [f"warning: {len(over)} point(s) may ask for more than the {ceiling:.0f} requests/s "
            f"the lab drove in {bench} (e.g. {over[0]}); they would measure Locust, and are "
            "marked harness-bound if they do"]  # fmt: skip


def efficiency(measured_s: float, wall_s: float, calibration_s: float = 0.0) -> dict:
    """How much of the sweep's wall time was measured window (pyperf prints the same), and how
    much went to calibrating the CPU model."""
    overhead = (wall_s - measured_s) / measured_s if measured_s else None
    return {"measured_s": round(measured_s, 1), "wall_s": round(wall_s, 1),
            "overhead": None if overhead is None else round(overhead, 3),
            "calibration_s": round(calibration_s, 1)}  # fmt: skip

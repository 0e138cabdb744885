"""A sweep from start to report: validate, check the engine, measure, always render.

Order matters: the configuration is validated and the engine checked before a run
directory exists or a container starts; after that, whatever happens (a failed point, an
exception, Ctrl-C) the run is saved, the report rendered for what finished, and
reports/latest pointed at it. Which finished points are results the sweep may exit 0 with
is decided here (``expected``); the command line turns that into its exit status.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass, replace
from pathlib import Path

from loadlab.engines import clocks, contexts
from loadlab.engines import images as engine_images
from loadlab.engines.contexts import label
from loadlab.errors import ConfigError, EngineError, LabError
from loadlab.judge import binds, model_error
from loadlab.measure.status import RESULTS
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
from loadlab.stack import images, lock, metadata, verify
from loadlab.stack.compose import ROOT, Stack
from loadlab.sweep import Sweep, seconds_per_point

BENCH = "bench"  # the profile that measures the lab's own ceiling: harness-bound by design


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
    def unexpected(self) -> dict[str, int]:
        """Points whose status makes the sweep exit 1 (``expected``), counted by status."""
        found: dict[str, int] = {}
        profile = self.run.config.get("profile")
        for r in self.run.points.values():
            if not expected(r.status, profile):
                found[r.status] = found.get(r.status, 0) + 1
        return found


def expected(status: str, profile: str | None) -> bool:
    """Whether a point's status is a result the sweep may exit 0 with: ok; overloaded (an open
    loop above its capacity, whose result is the capacity it reached and its backlog); and in
    a bench, whose purpose is to find where Locust runs out, harness-bound. Every other
    profile's harness-bound point is still an error. Pending points are not judged here."""
    if status in (*RESULTS, "pending"):
        return True
    return status == "harness-bound" and profile == BENCH


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


def stack_for(plan: Plan) -> Stack:
    """The lab's Compose project, with the target's own Compose file (its database) added,
    on the engines the plan names."""
    return Stack(extra_files=(plan.target.compose,) if plan.target.compose else (),
                 engines=plan.engines)  # fmt: skip


def preflight(stack: Stack, plan: Plan, keep: bool = False) -> tuple[Stack, images.Prepared]:
    """Fail before anything starts when an engine or an image is missing or unfit, or the
    target answers other than its file says (verify); the stack (with every engine's clock
    offset) and what Compose will run otherwise. With ``keep`` the verified container stays
    up for execute(warm=True) to measure on; the caller's session takes it down."""
    facts = {} if plan.engines.default else contexts.check(plan.engines)
    try:
        subprocess.run(["docker", "info"], capture_output=True, check=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        raise EngineError("no Docker engine reachable: run `make engine`") from None
    wanted = {*metadata.IMAGES.values()}
    if plan.target.demo:
        wanted |= {image_of(v) for v, _ in plan.series}
    for image in sorted(wanted):
        found = subprocess.run(["docker", "image", "inspect", image], capture_output=True)
        if found.returncode != 0:
            make = "make images-py313" if image.endswith("py3.13") else "make images"
            raise EngineError(f"image {image} is missing: run `{make}`")
    prepared = images.prepare(plan.target, (v for v, _ in plan.series))
    if plan.target.services:  # a target's own services (its database) built from its file
        stack.compose("build", "--quiet", *plan.target.services, timeout=1800)
    if facts:
        stack = arranged(stack, plan, prepared, facts)
    verify.verify(stack, plan, prepared, keep=keep)
    return stack, prepared


def arranged(stack: Stack, plan: Plan, prepared: images.Prepared, facts: dict) -> Stack:
    """A run over several engines made ready: the driver's images on each engine that runs
    them, the same ids; each engine's clock measured and within the bound; what each engine
    is (for the fingerprint)."""
    e = plan.engines
    on_target = {prepared.image} if prepared.image else {image_of(v) for v, _ in plan.series}
    placed = engine_images.place(on_target, [e.target], log=_say)
    placed.update(engine_images.place([metadata.IMAGES["locust"]], e.load, log=_say))
    offsets = [clocks.of_engine(c) for c in e.named() if c is not None]
    clocks.check(offsets, plan.duration)
    for context in e.named():
        facts[label(context)]["cpu_model"] = contexts.cpu_model(context, metadata.IMAGES["locust"])
    record = {"arrangement": e.to_json(), "engines": facts, "images": placed,
              "clocks": [o.to_json() for o in offsets]}  # fmt: skip
    return replace(stack, clock_offsets={o.engine: o.offset_s for o in offsets}, facts=record)


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def open_run(plan: Plan) -> Run:
    config = plan.config
    if config.resume is not None:
        return Run.load(config.resume)
    return Run.create(check_new_run(plan), plan.to_json(), points(plan))


def execute(plan: Plan, stack: Stack, prepared: images.Prepared, warm: bool = False) -> Outcome:
    """Measure what is left of the run; ``prepared`` is what preflight() found, ``warm`` that
    it left the verified container up (preflight(keep=True))."""
    run = open_run(plan)
    run.metadata.update(metadata.collect())
    run.metadata["target"] = {"name": plan.target.name, "file": str(plan.target.file),
                              "app": plan.target.app, "images": prepared.ids}  # fmt: skip
    if stack.facts:  # a run over several engines: which, their images, their clocks
        run.metadata["engines"] = stack.facts
    run.metadata.setdefault("started_at", metadata.now())
    run.metadata.pop("finished_at", None)
    todo = sum(r.status != "ok" for r in run.points.values())
    sweep = Sweep(plan, run, stack, Progress(todo, seconds_per_point(plan)), prepared=prepared,
                  verified=verify.first(plan) if warm else None)  # fmt: skip
    interrupted = False
    try:
        sweep.execute()
    except KeyboardInterrupt:
        interrupted = True
    finally:
        sweep.progress.close()
        run.metadata["finished_at"] = metadata.now()
        run.metadata["interrupted"] = interrupted
        # What binds each series, with its evidence (judge.binds), kept in run.json.
        run.metadata["binds"] = [b.to_json() for b in binds.bindings(run)]
        # The model's error per series kind and per series (judge.model_error).
        run.metadata["model_error"] = model_error.summary(run)
        run.metadata["efficiency"] = efficiency(
            sweep.measured_s, sweep.progress.elapsed(), sweep.calibrations.seconds
        )
        if plan.config.profile == BENCH:
            run.metadata["harness_ceiling_rps"] = harness_ceiling(run)
            run.metadata["harness_ceiling_by_series"] = harness_ceilings(run)
        run.save()
        index.render(run)
        link_latest(run)
    return Outcome(run, interrupted, sweep)


def harness_ceiling(run: Run) -> float | None:
    """The most requests a second the lab drove through Locust in a bench run, any series."""
    return max(harness_ceilings(run).values(), default=None)


def harness_ceilings(run: Run) -> dict[str, float]:
    """Per series ("variant endpoint"), the most requests a second the lab drove through
    Locust in a bench run: its ok and harness-bound points (finding where the harness runs
    out is what a bench is for)."""
    found: dict[str, float] = {}
    for r in run.points.values():
        if r.status in ("ok", "harness-bound") and r.stats and r.stats.rps:
            series = f"{r.point.variant} {r.point.endpoint}"
            found[series] = max(found.get(series, 0.0), r.stats.rps)
    return found


def ceiling_lines(run: Run) -> list[str]:
    """What a bench measured, for the end of its output: the ceiling per series."""
    found = run.metadata.get("harness_ceiling_by_series") or {}
    if run.config.get("profile") != BENCH or not found:
        return []
    each = ", ".join(f"{series} {rps:.0f}" for series, rps in found.items())
    return [f"harness ceiling (requests/s Locust drove, per series): {each}; its harness-bound "
            "points are this bench's result"]  # fmt: skip


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
            known = plan.target.demo and endpoint in ENDPOINTS  # a user's S is not known here
            if known and ENDPOINTS[endpoint].kind == "io" and asks > ceiling:
                over.append(f"{variant} {endpoint} at {level:g}")
    if not over:
        return []
    return [f"warning: {len(over)} point(s) may ask for more than the {ceiling:.0f} requests/s "
            f"the lab drove in {bench} (e.g. {over[0]}); they would measure Locust, and are "
            "marked harness-bound if they do"]  # fmt: skip


def efficiency(measured_s: float, wall_s: float, calibration_s: float = 0.0) -> dict:
    """How much of the sweep's wall time was measured window (pyperf prints the same), and how
    much went to calibrating the models (CPU costs, service times)."""
    overhead = (wall_s - measured_s) / measured_s if measured_s else None
    return {"measured_s": round(measured_s, 1), "wall_s": round(wall_s, 1),
            "overhead": None if overhead is None else round(overhead, 3),
            "calibration_s": round(calibration_s, 1)}  # fmt: skip

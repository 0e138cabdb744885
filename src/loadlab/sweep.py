"""Running a sweep: each (variant, CPU limit) container once, one stepped Locust run per series.

For each Locust run: /runtime must prove the CPU limit is in effect (else its points fail and
the wrong thing is never measured), the target must be idle, the endpoint must answer
correctly once; then Locust steps through the series' user counts in one run (offered.Stepper)
and each step's window is cut from the workers' raw samples where the data say it settled
(steady), its numbers estimated with intervals (estimate) and given a status (status): the
``measure.window.Measured`` of each step becomes the point's PointResult here. run.json is
saved after every Locust run, so nothing measured is lost.
"""

from __future__ import annotations

import shutil
from dataclasses import asdict, dataclass, field
from itertools import groupby
from pathlib import Path

from loadlab.errors import EngineError, PointError
from loadlab.measure import record, window
from loadlab.model import predictions
from loadlab.model.calibration import Calibrations
from loadlab.plan.config import Plan
from loadlab.plan.matrix import Point, groups
from loadlab.plan.placement import Placement, parse_cpuset, place
from loadlab.plan.target import MIX
from loadlab.progress import Progress
from loadlab.results import PointResult, Run
from loadlab.shared import offered, traffic
from loadlab.stack import images, readiness, telemetry, verify
from loadlab.stack.compose import LocustRun, Stack, session
from loadlab.stack.metadata import now

LOCUST_FILES = {
    "locust_stats.csv": "stats.csv",
    "locust_stats_history.csv": "stats_history.csv",
    "locust_failures.csv": "failures.csv",
    "locust_exceptions.csv": "exceptions.csv",
}
LOCUST_START_SECONDS = 6.0  # containers up, workers connected, then stopped (measured)
REDO = ("pending", "failed")  # what RESUME measures again; the other statuses are results


@dataclass
class Sweep:
    plan: Plan
    run: Run
    stack: Stack
    progress: Progress
    measured_s: float = field(default=0.0)  # window seconds measured by this invocation
    calibrations: Calibrations = field(default_factory=Calibrations)
    prepared: images.Prepared = field(default_factory=lambda: images.Prepared(None, {}))
    # (variant, cpus) of the container preflight verified and left up: the first group of
    # that variant and limit measures on it rather than starting another (once).
    verified: tuple[str, float] | None = None

    def pending(self) -> list[Point]:
        return [r.point for r in self.run.points.values() if r.status in REDO]

    def execute(self) -> None:
        """Measure every point not yet measured; always tear the stack down."""
        with session(self.stack):
            self._services()
            for (variant, cpus), members in groups(self.pending()):
                self._group(variant, cpus, members)

    def _services(self) -> None:
        verify.start_services(self.stack, self.plan)

    def target_env(self, variant: str, placement: Placement) -> dict[str, str]:
        return verify.container_env(self.plan, self.prepared, variant, placement)

    def remeasure(self, point_ids: list[str]) -> dict[str, PointResult]:
        """Measure these points again (same image and settings, a fresh container and window)
        and return each fresh result (status, flags and stats) by point id, leaving the run's
        own measurements as they are: the nightly gate confirms a regression this way before
        it fails the job. A point that gave no statistics is absent."""
        found: dict[str, PointResult] = {}
        wanted = [self.run.points[i].point for i in point_ids if i in self.run.points]
        with session(self.stack):
            self._services()
            for (variant, cpus), members in groups(wanted):
                placement = place(cpus)
                self.stack.up(variant, self.target_env(variant, placement))
                for point in members:
                    result = PointResult(point, placement=asdict(placement))
                    out = self.run.directory / "remeasured" / point.id
                    self._measure([result], placement, out)
                    if result.stats is not None:
                        found[point.id] = result
                self.stack.stop(variant)
        return found

    def _group(self, variant: str, cpus: float, members: list[Point]) -> None:
        placement = place(cpus)
        self.run.metadata.setdefault("placements", {})[f"{cpus:g}"] = placement.note()
        env = self.target_env(variant, placement)
        try:
            self._start(variant, cpus, env)
        except EngineError as exc:
            self._finish([PointResult(p) for p in members], str(exc))
            return
        try:
            for _, points in groupby(members, key=lambda p: p.run_key):
                if self.stack.exited(variant) is not None and not self._revive(variant, env):
                    self._finish([PointResult(p) for p in points], f"{variant} died and did "
                                 "not come back up")  # fmt: skip
                    continue
                self._locust_run(list(points), placement)
        finally:
            self.stack.stop(variant)

    def _start(self, variant: str, cpus: float, env: dict[str, str]) -> None:
        """The group's target up: the container verify left running if it is this variant at
        this limit and still alive, else a fresh one (and never two targets at once)."""
        verified, self.verified = self.verified, None
        if verified == (variant, cpus) and self.stack.exited(variant) is None:
            return
        if verified is not None:
            self.stack.stop(verified[0])
        verify.up(self.stack, variant, env)

    def _revive(self, variant: str, env: dict[str, str]) -> bool:
        """Bring a target that died back up for the group's next runs."""
        try:
            verify.up(self.stack, variant, env)
        except EngineError:
            return False
        return True

    def _locust_run(self, points: list[Point], placement: Placement) -> None:
        results = [PointResult(p, started_at=now(), placement=asdict(placement)) for p in points]
        for result in results:
            self.run.points[result.point.id] = result
        error = None
        try:
            self._measure(results, placement)
        except (PointError, EngineError) as exc:
            error = str(exc)
        except BaseException:
            for result in results:  # interrupted: still to do
                self.run.points[result.point.id] = PointResult(result.point)
            raise
        self._finish(results, error)

    def _finish(self, results: list[PointResult], error: str | None) -> None:
        for result in results:
            if error is not None:
                result.status, result.error = "failed", error
            elif result.status == "pending":  # never measured, with no error given
                result.status, result.error = "failed", "not measured"
            result.finished_at = now()
            self.run.points[result.point.id] = result
        self.run.save()
        for result in results:
            self.progress.advance(_outcome(result))

    def _measure(self, results: list[PointResult], placement: Placement,
                 out: Path | None = None) -> None:  # fmt: skip
        first, plan = results[0].point, self.plan
        url = self.stack.url(first.variant)
        idle = readiness.wait_idle(url)
        readiness.check_limits(idle, placement)
        target = list(self.stack.container_ids(first.variant).values())[:1]
        for request in self.requests(first.endpoint):
            readiness.check_answer(url, plan.target, request.name,
                                   timeout=plan.target.answer_seconds)  # fmt: skip
        client = set(parse_cpuset(placement.locust_cpuset))  # the client where Locust runs
        # Before the run, each step's CPU cost at its own concurrency, or the endpoint's service
        # time at low load: the yardstick's inputs, measured on this container and never from
        # the window they are compared with.
        container = target[0] if target else None
        costs = {
            r.point.id: self.calibrations.cost(url, container, r.point, idle, client)
            for r in results
            if plan.target.demo
        }
        service = None
        if plan.target.demo:
            service = self.calibrations.service(url, container, first, client)
        runtime = readiness.wait_idle(url)
        out = out or self.run.locust_dir(first)
        shutil.rmtree(out, ignore_errors=True)  # a resumed run starts clean
        steps = tuple(offered.Step(r.point.level, plan.step_seconds) for r in results)
        with telemetry.Sampler(dict(zip(["target"], target, strict=False)),
                               context=self.stack.context) as tel:  # fmt: skip
            status = self.stack.run_locust(
                self._run_spec(first, out, steps),
                timeout=_limit(steps),
                on_start=lambda ids, context: [
                    tel.watch(name, id_, context=context) for name, id_ in ids.items()
                ],
            )
        if status not in (0, 1):  # 1 only means some requests failed: that is a result
            raise PointError(f"Locust exited with status {status}; see {out / 'locust.log'}")
        _rename_locust_files(out)
        times = window.step_times(out, len(steps))
        workers = plan.locust_workers
        step_of = window.closed_step if plan.load == "closed" else window.open_step
        found = (
            window.load_closed(out, workers) if plan.load == "closed" else record.load(out, workers)
        )
        watched = window.Telemetry(tel, len(parse_cpuset(placement.locust_cpuset)))
        died = self.stack.exited(first.variant)
        for result, step in zip(results, times, strict=True):
            result.runtime, result.locust_dir = runtime, str(out.relative_to(self.run.directory))
            if died is not None and died[1] < step.end:
                # Measured before the target died: kept. From then on: failed, with the cause.
                result.status = "failed"
                result.error = f"target container exited (code {died[0]}) during this step"
                continue
            _record(result, step_of(result.point, runtime, found, step, plan, watched))
            s = result.stats
            result.event_loop = readiness.event_loop_lag(
                url, s.window_start or step.start, s.window_end or step.end, runtime
            )
            # The yardstick, computed after the measurement and never fed back into it; the
            # models know the demo's endpoints only.
            if plan.target.demo:
                cost = costs[result.point.id]
                result.prediction = predictions.prediction(result.point, runtime, result.stats,
                                                           plan, cost, service)  # fmt: skip
            self.measured_s += result.stats.duration

    def _run_spec(self, point: Point, out: Path, steps: tuple[offered.Step, ...]) -> LocustRun:
        workers = self.plan.locust_workers
        common = {"target": point.variant, "out": out, "workers": workers, "steps": steps,
                  "cpuset": place(point.cpus).locust_cpuset, "settle": self.plan.warmup,
                  "run_time": offered.longest(list(steps)) + 30}  # a safety net  # fmt: skip
        common["requests"] = self.requests(point.endpoint)
        if self.plan.load == "closed":
            return LocustRun(locust_class="Target", users=int(steps[0].level), **common)
        return LocustRun(
            locust_class="OpenLoop",  # one per worker, each sending its share of the rate
            users=workers,
            load="open",
            arrivals=self.plan.arrivals,
            max_in_flight=self.plan.in_flight_per_worker,
            keep_samples=self.plan.keep_samples,
            **common,
        )

    def requests(self, endpoint: str) -> tuple[traffic.Request, ...]:
        """What a series of ``endpoint`` sends: its one request, or for the mix every endpoint
        of the target's file by its weight."""
        target = self.plan.target
        chosen = target.endpoints if endpoint == MIX else (target.endpoint(endpoint),)
        return tuple(request_of(e) for e in chosen)


def request_of(e) -> traffic.Request:
    return traffic.Request(e.name, e.path, e.method, e.body, e.headers, e.expect_status, e.weight)


def seconds_per_point(plan: Plan) -> float:
    """A first ETA guess, replaced by measured time once a point is done."""
    return plan.step_seconds + LOCUST_START_SECONDS / len(plan.users)


def _limit(steps: tuple[offered.Step, ...]) -> float:
    return offered.longest(list(steps)) + offered.OPEN_START_DELAY + offered.OPEN_TAIL + 120


def _rename_locust_files(out: Path) -> None:
    for old, new in LOCUST_FILES.items():
        if (out / old).exists():
            (out / old).replace(out / new)


def _label(point: Point) -> str:
    load = f"users={point.users}" if point.rate is None else f"rate={point.rate:g}/s"
    return f"{point.variant} /{point.endpoint} cpus={point.cpus:g} {load}"


def _record(result: PointResult, measured: window.Measured) -> None:
    result.stats, result.telemetry = measured.stats, measured.telemetry
    result.status, result.flags = measured.status, measured.flags


def _outcome(result: PointResult) -> str:
    if result.status == "failed":
        return f"{_label(result.point)}: FAILED: {result.error}"
    s, p = result.stats, result.prediction
    ci = s.rps_ci if s else None
    precision = f" +-{(ci[1] - ci[0]) / 2:.1f}" if ci else " (no CI)"
    model_text = f" (model {p.rps:.1f})" if p and p.rps else ""
    status = f" [{result.status.upper()}: {'; '.join(result.flags)}]" if result.flags else ""
    return (
        f"{_label(result.point)}: {s.rps if s else 0:.1f}{precision} rps{model_text}, "
        f"p95 {s.p95_ms if s else None} ms{status}"
    )

"""Running a sweep: each (variant, CPU limit) container once, every point measured in it.

For each point: /runtime must prove the CPU limit is in effect (else the point fails and
the wrong thing is never measured), the target must be idle, the endpoint must answer
correctly once, then Locust runs warmup + window + tail and the window is cut from the
workers' raw samples. run.json is saved after every point, so nothing measured is lost.
"""

from __future__ import annotations

import math
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from target.work import expected_burn

from . import model, samples
from .config import Plan
from .cpus import Placement, parse_cpuset, place
from .endpoints import ENDPOINTS
from .errors import EngineError, PointError
from .matrix import Point, groups
from .metadata import now
from .progress import Progress
from .results import PointResult, Run
from .stack import LocustRun, Stack, get_json, session

LOCUST_FILES = {
    "locust_stats.csv": "stats.csv",
    "locust_stats_history.csv": "stats_history.csv",
    "locust_failures.csv": "failures.csv",
    "locust_exceptions.csv": "exceptions.csv",
}
LOCUST_START_SECONDS = 4.0  # containers up, workers connected, users spawned (measured)
IDLE_TIMEOUT = 120.0


@dataclass
class Sweep:
    plan: Plan
    run: Run
    stack: Stack
    progress: Progress

    def pending(self) -> list[Point]:
        return [r.point for r in self.run.points.values() if r.status != "ok"]

    def execute(self) -> None:
        """Measure every point not yet measured; always tear the stack down."""
        with session(self.stack):
            for (variant, cpus), members in groups(self.pending()):
                self._group(variant, cpus, members)

    def _group(self, variant: str, cpus: float, members: list[Point]) -> None:
        placement = place(cpus)
        self.run.metadata.setdefault("placements", {})[f"{cpus:g}"] = placement.note()
        env = {**self.plan.target_env(), "CPUS": f"{cpus:g}", "CPUSET": placement.target_cpuset}
        try:
            self.stack.up(variant, env)
        except EngineError as exc:
            for point in members:
                self._fail(point, f"{variant} did not come up healthy: {exc}")
            return
        try:
            for point in members:
                self._measure(point, placement)
        finally:
            self.stack.stop(variant)

    def _fail(self, point: Point, error: str) -> None:
        result = self.run.points[point.id]
        result.status, result.error, result.finished_at = "failed", error, now()
        self.run.save()
        self.progress.advance(f"{_label(point)}: FAILED")

    def _measure(self, point: Point, placement: Placement) -> None:
        result = PointResult(point, started_at=now(), placement=asdict(placement))
        self.run.points[point.id] = result
        try:
            self._measure_into(result, placement)
            result.status = "ok"
        except (PointError, EngineError) as exc:
            result.status, result.error = "failed", str(exc)
        except BaseException:
            self.run.points[point.id] = PointResult(point)  # interrupted: still to do
            raise
        result.finished_at = now()
        self.run.save()
        self.progress.advance(_outcome(result))

    def _measure_into(self, result: PointResult, placement: Placement) -> None:
        point, plan = result.point, self.plan
        url = self.stack.url(point.variant)
        result.runtime = wait_idle(url)
        check_limits(result.runtime, placement)
        check_answer(url, point.endpoint, result.runtime)
        wait_idle(url)
        result.prediction = _prediction(point, result.runtime)
        warmup = effective_warmup(plan.warmup, result.prediction)
        out = self.run.point_dir(point)
        shutil.rmtree(out, ignore_errors=True)  # a resumed point starts clean
        run = self._locust_run(point, out, warmup)
        status = self.stack.run_locust(run, timeout=run.run_time + 120)
        if status not in (0, 1):  # 1 only means some requests failed: that is a result
            raise PointError(f"Locust exited with status {status}; see {out / 'locust.log'}")
        _rename_locust_files(out)
        stats = samples.window(samples.load(out), warmup, plan.duration)
        result.stats = {**asdict(stats), "warmup": warmup, "duration": plan.duration}

    def _locust_run(self, point: Point, out: Path, warmup: float) -> LocustRun:
        plan = self.plan
        return LocustRun(
            target=point.variant,
            locust_class=ENDPOINTS[point.endpoint].locust_class,
            users=point.users,
            run_time=warmup + plan.duration + plan.tail,
            warmup=warmup,
            out=out,
            workers=plan.config.locust_workers,
            cpuset=place(point.cpus).locust_cpuset,
        )


def seconds_per_point(plan: Plan) -> float:
    """A first ETA guess, replaced by measured time once a point is done."""
    return LOCUST_START_SECONDS + plan.warmup + plan.duration + plan.tail + 2 * plan.work_seconds


def effective_warmup(warmup: float, prediction: dict) -> float:
    """At least 1.5 predicted queue cycles: until every user has waited through a full queue
    once, latencies are still those of a shorter queue (the first requests found it empty)."""
    cycle_ms = prediction.get("mean_ms")
    return warmup if cycle_ms is None else max(warmup, round(1.5 * cycle_ms / 1000, 1))


def check_limits(runtime: dict, placement: Placement) -> None:
    """Fail the point unless the container really has the CPU quota and cpuset asked for."""
    quota, affinity = runtime.get("cpu_quota"), runtime.get("affinity")
    if quota is None or not math.isclose(quota, placement.cpus, rel_tol=1e-6):
        raise PointError(
            f"CPU limit not in effect: asked cpus={placement.cpus:g}, "
            f"/runtime reports cpu_quota={quota}"
        )
    wanted = len(parse_cpuset(placement.target_cpuset))
    if affinity != wanted:
        raise PointError(
            f"cpuset not in effect: asked {placement.target_cpuset!r} "
            f"({wanted} cores), /runtime reports affinity {affinity}"
        )


def check_answer(url: str, endpoint: str, runtime: dict) -> None:
    """One request, checked for a correct answer, before the endpoint is put under load."""
    answer = get_json(f"{url}/{endpoint}", timeout=60 + 2 * float(runtime["work_seconds"]))
    if ENDPOINTS[endpoint].kind == "cpu":
        want = expected_burn(int(answer.get("iterations", 0)))
        if answer.get("result") != want:
            raise PointError(f"/{endpoint} answered result={answer.get('result')}, want {want}")
    elif ENDPOINTS[endpoint].kind != "meta" and answer.get("endpoint") != endpoint:
        raise PointError(f"/{endpoint} answered for {answer.get('endpoint')!r}")


def wait_idle(url: str, timeout: float = IDLE_TIMEOUT) -> dict:
    """Wait until no request is in flight and return the last (idle) /runtime document.

    Two idle reads in a row per worker process, since each read reaches one of them."""
    deadline, idle_reads, runtime = time.monotonic() + timeout, 0, {}
    while idle_reads < 2 * int(runtime.get("workers") or 1):
        if time.monotonic() > deadline:
            raise PointError(f"target still busy after {timeout:g} s (abandoned requests?)")
        try:
            runtime = get_json(url + "/runtime", timeout=timeout)
            busy = runtime.get("requests_in_flight", 0)
        except EngineError:
            busy = 1
        idle_reads = idle_reads + 1 if busy == 0 else 0
        if busy:
            time.sleep(0.2)
    return runtime


def _prediction(point: Point, runtime: dict) -> dict:
    p = model.predict(point.endpoint, point.users, runtime)
    pool = "unbounded" if p.pool == math.inf else p.pool
    return {"pool": pool, "rps": p.rps, "mean_ms": p.mean_ms}


def _rename_locust_files(out: Path) -> None:
    for old, new in LOCUST_FILES.items():
        if (out / old).exists():
            (out / old).replace(out / new)


def _label(point: Point) -> str:
    return f"{point.variant} /{point.endpoint} cpus={point.cpus:g} users={point.users}"


def _outcome(result: PointResult) -> str:
    if result.status != "ok":
        return f"{_label(result.point)}: FAILED: {result.error}"
    s, p = result.stats or {}, result.prediction or {}
    model_text = f" (model {p['rps']:.1f})" if p.get("rps") else ""
    return (
        f"{_label(result.point)}: {s.get('rps', 0):.1f} rps{model_text}, p95 {s.get('p95_ms')} ms"
    )

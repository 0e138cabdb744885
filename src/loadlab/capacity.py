"""`make capacity`: the cheapest configuration that serves RATE at an SLO, measured.

The search (``search.bisection``) asks for trials; each is an open-loop step at the rate on a
container of the combination, its CPU limit set with `docker update --cpus` on the running
container and read back inside (the probe's cpu_quota, as before every run), measured like
any sweep step (``Sweep._measure``) and judged against the SLO by its interval
(``search.slo``). Every trial is a point of the capacity run's run.json, saved as it lands:
Ctrl-C keeps them, and RESUME= answers the trials already measured from run.json instead of
measuring them again. The card (``search.card``) is written to capacity.json and drawn in
index.html.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from loadlab import workflow
from loadlab.errors import ConfigError, EngineError, PointError
from loadlab.judge import binds
from loadlab.plan.config import Plan, SweepConfig
from loadlab.plan.matrix import Point
from loadlab.plan.placement import Placement, place
from loadlab.plan.variants import with_knobs
from loadlab.progress import Progress
from loadlab.results import PointResult, Run
from loadlab.search import bisection, card, slo
from loadlab.search.space import Combo, combos, cpu_grid, parse_range
from loadlab.stack import images, verify
from loadlab.stack.compose import Stack, session
from loadlab.sweep import Sweep

HEADROOM_STEPS = (1.5, 2.0)  # the rates tried above RATE on the answer, as multiples


@dataclass(frozen=True)
class Ask:
    """What the search is asked: the rate (or, with load "closed", the users), the objective,
    the CPU range and the axes."""

    rate: float  # requests a second; in the closed loop, the users
    objective: slo.SLO
    cpu_range: tuple[float, float]
    cpu_step: float = 0.05
    thread_limits: tuple[int, ...] | None = None
    attempts: int = bisection.ATTEMPTS  # a trial and its re-measurements, each window 2x
    headroom: bool = True
    load: str = "open"  # "closed": USERS instead of RATE


@dataclass
class Searcher:
    plan: Plan
    ask: Ask
    run: Run
    stack: Stack
    prepared: images.Prepared
    on_trial: Callable[[bisection.Trial], None] = lambda trial: None
    _up: Combo | None = None
    _container: str | None = None
    _seen: dict = field(default_factory=dict)  # measurements so far per (combo, cpus, rate)

    @property
    def endpoint(self) -> str:
        return self.plan.series[0][1]

    def combos(self) -> list[Combo]:
        variants = tuple(dict.fromkeys(v for v, _ in self.plan.series))
        return combos(variants, self.ask.thread_limits)

    def search(self) -> card.Card:
        began = time.monotonic()
        grid = cpu_grid(*self.ask.cpu_range, self.ask.cpu_step)
        with session(self.stack):
            verify.start_services(self.stack, self.plan)
            outcomes = bisection.search(self.combos(), grid, self.ask.rate, self.measure,
                                        attempts=self.ask.attempts,
                                        model=self._model())  # fmt: skip
            best = bisection.cheapest(outcomes)
            headroom = self._headroom(best) if best and self.ask.headroom else None
        return card.card_of(outcomes, slo=self.ask.objective, rate=self.ask.rate,
                            endpoint=self.endpoint, cpu_range=self.ask.cpu_range,
                            cpu_step=self.ask.cpu_step, wall_s=time.monotonic() - began,
                            recheck=self._recheck(best), headroom=headroom,
                            load=self.ask.load)  # fmt: skip

    def _model(self) -> bisection.Model | None:
        """The CPU model's floor needs a rate: the open loop's. A closed loop's users are no
        rate (its throughput is what the quota allows), so it is bisected unguided."""
        return bisection.cpu_floor if self.ask.load == "open" else None

    def measure(self, combo: Combo, cpus: float, rate: float, attempt: int) -> bisection.Trial:
        """One trial (or, on RESUME, the one run.json already holds). Its repeat counts the
        measurements of this combination, limit and rate, so a re-measurement or a replicate
        is a point of its own; the search is deterministic, so a resumed one asks again in
        the same order and finds each in run.json."""
        key = (combo, cpus, rate)
        self._seen[key] = self._seen.get(key, 0) + 1
        closed = self.ask.load == "closed"
        point = Point(_label(combo), self.endpoint, cpus, int(rate) if closed else None,
                      self._seen[key], None if closed else rate)  # fmt: skip
        done = self.run.points.get(point.id)
        if done is None or done.status == "pending":
            done = self._measured(combo, point, attempt)
        trial = _trial(combo, point, attempt, done, self.ask.objective)
        self.on_trial(trial)
        return trial

    def _measured(self, combo: Combo, point: Point, attempt: int) -> PointResult:
        placement = self._limit(combo, point.cpus)
        result = PointResult(point, placement=asdict(placement))
        # Each re-measurement doubles the window: an interval narrows as its square root.
        plan = replace(self.plan, duration=self.plan.duration * 2**attempt)
        sweep = Sweep(plan, self.run, self.stack, Progress(1, 0), prepared=self.prepared)
        try:
            sweep._measure([result], placement, self.run.directory / "trials" / point.id)
        except (PointError, EngineError) as exc:
            result.status, result.error = "failed", str(exc)
        self.run.points[point.id] = result
        self.run.save()
        return result

    def _limit(self, combo: Combo, cpus: float) -> Placement:
        """The combination's container, up, with its quota set to ``cpus`` in place."""
        base = place(self.ask.cpu_range[1])  # one cpuset for the whole range
        if self._up != combo:
            if self._up is not None:
                self.stack.stop(self._up.variant)
            env = verify.container_env(self.plan, self.prepared, _label(combo), base)
            if combo.thread_limit:
                env["THREAD_LIMIT"] = str(combo.thread_limit)
            verify.up(self.stack, _label(combo), env)
            self._up, self._container = combo, next(iter(self.stack.container_ids(
                combo.variant).values()))  # fmt: skip
        done = self.stack.docker("update", "--cpus", f"{cpus:g}", self._container)
        if done.returncode != 0:
            raise EngineError(f"docker update --cpus {cpus:g} failed: {done.stderr.strip()}")
        return Placement(cpus, base.target_cpuset, base.locust_cpuset, base.shared)

    def _headroom(self, best: bisection.ComboOutcome) -> dict:
        """The highest rate the answer sustains under the SLO, of a few tried above RATE."""
        held, tried = self.ask.rate, []
        for factor in HEADROOM_STEPS:
            rate = self.ask.rate * factor
            if self.ask.load == "closed":
                rate = float(math.ceil(rate))
            trial = bisection.decide(best.combo, best.answer.cpus, rate, self.measure,
                                     self.ask.attempts, tried)  # fmt: skip
            if trial.verdict != slo.PASS:
                break
            held = rate
        return {"sustains_rps": held, "tried": [card.trial_json(t) for t in tried]}

    def _recheck(self, best: bisection.ComboOutcome | None) -> str | None:
        if best is None:
            return None
        settings = {**self.plan.target_env(), **({"THREAD_LIMIT": str(best.combo.thread_limit)}
                                                 if best.combo.thread_limit else {})}  # fmt: skip
        target = "" if self.plan.target.demo else f"TARGET={self.plan.target.file.parent} "
        given = " ".join(f"{k}={v}" for k, v in sorted(settings.items()))
        load = (f"LOAD=open RATES={self.ask.rate:g}" if self.ask.load == "open"
                else f"USERS={self.ask.rate:g}")  # fmt: skip
        return (f"make sweep {target}{load} VARIANTS={best.combo.variant.split('+')[0]} "
                f"ENDPOINTS={self.endpoint} CPUS={best.answer.cpus:g} {given}")  # fmt: skip


def _label(combo: Combo) -> str:
    """The combination as a variant: its thread limit carried like a knob."""
    limit = (("THREAD_LIMIT", str(combo.thread_limit)),) if combo.thread_limit else ()
    return with_knobs(combo.variant, limit)


def _trial(combo: Combo, point: Point, attempt: int, result: PointResult,
           objective: slo.SLO) -> bisection.Trial:  # fmt: skip
    decision = slo.decide(objective, result.status, result.stats, result.flags or
                          [result.error or ""])  # fmt: skip
    bound = binds.what_bound(result) if decision.verdict == slo.FAIL else None
    return bisection.Trial(combo, point.cpus, point.level, attempt, decision.verdict,
                           decision.value_ms, decision.interval, decision.reason, point.id,
                           result.stats.rps if result.stats else None, bound,
                           _cpu_ms(result))  # fmt: skip


def _cpu_ms(result: PointResult) -> float | None:
    """What a request cost the container in its window: its cgroup CPU over completions."""
    cores = ((result.telemetry or {}).get("target") or {}).get("cpu_cores")
    rps = result.stats.rps if result.stats else None
    return 1000 * cores / rps if cores and rps else None


def open_run(plan: Plan) -> Run:
    """The capacity run: its points are its trials, saved as each is measured. The plan's own
    points (a sweep's grid, all pending) are not trials and never measured: left out."""
    run = workflow.open_run(plan)
    run.points = {k: r for k, r in run.points.items() if r.status != "pending"}
    run.save()
    return run


def trials_bound(ask: Ask) -> int:
    """The most trials a combination takes before re-measurements: ceil(log2 n) + 1."""
    n = len(cpu_grid(*ask.cpu_range, ask.cpu_step))
    return math.ceil(math.log2(n)) + 1 if n > 1 else 1


def ask_json(ask: Ask) -> dict:
    return {**asdict(ask), "objective": str(ask.objective)}


def write(run: Run, found: card.Card) -> None:
    """capacity.json beside run.json, and the report with the card drawn."""
    from loadlab.durable import write_atomic
    from loadlab.report import index

    write_atomic(run.directory / card.FILE, json.dumps(found.to_json(), indent=1) + "\n")
    index.render(run)


def summary(found: card.Card) -> str:
    """The card in a few lines, for the terminal."""
    at = f"{found.rate:g}/s" if found.load == "open" else f"{found.rate:g} users"
    lines = [f"capacity: {found.endpoint} at {at}, {found.slo}: "
             f"{len(found.trials)} trials in {found.wall_s:.0f} s"]  # fmt: skip
    if found.answer:
        a = found.answer
        limit = f" THREAD_LIMIT={a['thread_limit']}" if a["thread_limit"] else ""
        floor = f"; the CPU model's floor {a['guess_cpus']:.2f}" if a.get("guess_cpus") else ""
        lines.append(f"answer: {a['variant']}{limit} at {a['cpus']:g} CPU "
                     f"({a['value_ms']:.0f} ms, interval {_ci(a['interval'])}{floor})")  # fmt: skip
        if found.neighbour:
            n = found.neighbour
            said = {"fail": "fails", "pass": "passes"}.get(n["verdict"], "is undecided")
            lines.append(f"neighbour: {n['cpus']:g} CPU {said}: {n['reason']}"
                         + (f"; bound by {n['bound']}" if n["bound"] else ""))  # fmt: skip
        if found.headroom:
            lines.append(f"headroom: sustains {found.headroom['sustains_rps']:g}/s")
        lines.append(f"re-check: {found.recheck}")
    else:
        lines.append("no answer: nothing in the space meets the SLO")
    lines += [
        f"other: {o['variant']} {o.get('thread_limit') or ''}: "
        f"{o.get('why_not') or str(o['best_cpus']) + ' CPU'}"
        for o in found.others
    ]
    lines += [f"not monotone: {c}" for c in found.contradictions]
    return "\n".join(lines)


def _resumed(directory: Path, asked: dict) -> dict:
    """The question an interrupted search asked, as strings; anything given must agree."""
    try:
        stored = json.loads((directory / "run.json").read_text())["config"]["capacity"]
    except (OSError, ValueError, KeyError, TypeError):
        raise ConfigError(f"RESUME: {directory} holds no capacity search (run.json)") from None
    closed, level = stored["load"] == "closed", f"{stored['rate']:g}"
    limits = stored.get("thread_limits")
    was = {"rate": None if closed else level, "users": level if closed else None,
           "objective": stored["objective"], "cpus": "{:g}..{:g}".format(*stored["cpu_range"]),
           "cpu_step": f"{stored['cpu_step']:g}",
           "thread_limit": ",".join(map(str, limits)) if limits else None,
           "headroom": stored["headroom"],
           "attempts": f"{stored.get('attempts', bisection.ATTEMPTS)}"}  # fmt: skip
    for key, value in asked.items():
        if value is not None and str(value) != str(was[key]):
            raise ConfigError(f"RESUME continues the search as it was asked: {key.upper()} was "
                              f"{was[key]}, not {value}; give RESUME alone")  # fmt: skip
    return was


def _ci(interval) -> str:
    return f"[{interval[0]:.0f}, {interval[1]:.0f}] ms" if interval else "none"


def plan_of(given: dict[str, str], *, rate: str | None, users: str | None,
            objective: str | None, cpus: str | None, cpu_step: str | None,
            thread_limit: str | None, headroom: bool | None,
            attempts: str | None = None) -> tuple[Plan, Ask]:  # fmt: skip
    """The plan of a capacity search and what it asks, from the settings as given (strings):
    every value checked before anything starts, each problem a ConfigError of one line. With
    RESUME, what the search asks is the interrupted one's (run.json), never a new question."""
    if given.get("resume"):
        asked = {"rate": rate, "users": users, "objective": objective, "cpus": cpus,
                 "cpu_step": cpu_step, "thread_limit": thread_limit,
                 "headroom": headroom, "attempts": attempts}  # fmt: skip
        asked = _resumed(Path(given["resume"]), asked)
        rate, users, objective, cpus = (asked[k] for k in ("rate", "users", "objective", "cpus"))
        cpu_step, thread_limit, headroom, attempts = (
            asked["cpu_step"],
            asked["thread_limit"],
            asked["headroom"],
            asked["attempts"],
        )
    headroom = True if headroom is None else headroom
    if (rate is None) == (users is None) or objective is None:
        raise ConfigError("capacity needs RATE (requests a second) or USERS (a closed loop), "
                          "and SLO (e.g. p99<250ms)")  # fmt: skip
    closed, wanted = rate is None, slo.parse(objective)
    cpu_range = parse_range(cpus or "0.25..1")
    if closed and "," in users:
        raise ConfigError(f"USERS: a capacity search serves one user count, got {users!r}")
    given = {k: v for k, v in given.items() if k not in ("thread_limit", "cpus", "users")}
    given.update(cpus=f"{cpu_range[1]:g}", load="closed" if closed else "open")
    given.update(users=users) if closed else given.update(rates=rate)
    limits = tuple(x.strip() for x in (thread_limit or "").split(",") if x.strip()) or None
    for limit in limits or ():  # each checked like the sweep's THREAD_LIMIT, then tried in turn
        SweepConfig.from_strings({**given, "thread_limit": limit})
    if limits:
        given["thread_limit"] = limits[0]
    plan = workflow.plan_for(SweepConfig.from_strings(given))
    if len({e for _, e in plan.series}) != 1:
        raise ConfigError("ENDPOINTS: a capacity search takes one endpoint (or mix)")
    try:
        step = float(cpu_step) if cpu_step else 0.05
    except ValueError:
        raise ConfigError(f"CPU_STEP must be a number of CPUs, got {cpu_step!r}") from None
    cpu_grid(*cpu_range, step)  # a bad step is refused here
    windows = _attempts(attempts)
    level = plan.users[0] if closed else plan.rates[0]
    ask = Ask(float(level), wanted, cpu_range, step,
              tuple(int(x) for x in limits) if limits else None, attempts=windows,
              headroom=headroom, load=plan.load)  # fmt: skip
    return plan, ask


def _attempts(text: str | None) -> int:
    """ATTEMPTS: how many windows a trial gets before it stays undecided."""
    if text in (None, ""):
        return bisection.ATTEMPTS
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= bisection.MAX_ATTEMPTS:
        raise ConfigError(
            f"ATTEMPTS must be a whole number from 1 to {bisection.MAX_ATTEMPTS}, got {text!r}"
        )
    return value

"""The search: the smallest CPU limit at which each combination meets the SLO, and the
cheapest of them, spending few measurements.

More CPU should never make a configuration worse, so per combination the CPU limit is
bisected on its grid: the top of the range first (if that fails, nothing in range can pass),
then halves, ``ceil(log2(n)) + 1`` trials for a grid of n limits, plus re-measurements (one
of them a replicate of the answer, where a non-monotone system shows). A
combination that cannot beat the best answer so far is not bisected: one trial just below
that answer decides it (a fail there fails everything lower). A guess may choose where the
first two trials after the top land (the guess, then its neighbour: one step below after a
pass, one above after a fail), never a verdict:
every verdict is a measurement's. Without a given guess, the CPU model makes one from the top
trial's own measurement: the quota cannot be below the rate times the CPU a request cost
(``cpu_floor``); a guess right to a step answers in four trials whatever the grid's size. An
undecided trial is measured again with a longer window, up to ``attempts``; one that never
decides counts as not proven (the answer is the smallest limit *measured* to pass). When
the measurements of one combination contradict monotonicity (a pass below a fail), the
outcome says so.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from loadlab.search.slo import FAIL, PASS, UNDECIDED
from loadlab.search.space import Combo

ATTEMPTS = 3  # windows a trial gets by default (each twice the last) before it stays undecided
MAX_ATTEMPTS = 5  # the fifth window is 16 times the first


@dataclass(frozen=True)
class Trial:
    """One measured step: a combination at a CPU limit and rate, and its verdict."""

    combo: Combo
    cpus: float
    rate: float
    attempt: int  # 0 first; each re-measurement a longer window
    verdict: str
    value_ms: float | None = None
    interval: tuple[float, float] | None = None
    reason: str = ""
    point_id: str | None = None  # the trial's point in run.json
    rps: float | None = None
    bound: str | None = None  # what bound it (judge.binds' resource), where it failed
    cpu_ms: float | None = None  # the CPU a request cost the container, measured


Measure = Callable[[Combo, float, float, int], Trial]  # combo, cpus, rate, attempt
Model = Callable[[Trial, float], float | None]  # a passing trial, the rate -> a CPU guess


def cpu_floor(trial: Trial, rate: float) -> float | None:
    """The CPU model's least quota for ``rate``: each request costs ``cpu_ms`` of CPU (as
    measured on this trial), so below rate x cpu_ms the container cannot keep up at all. A
    lower bound: throttling adds cost and a tail SLO needs slack, so the answer is this or
    above it."""
    return rate * trial.cpu_ms / 1000 if trial.cpu_ms else None


@dataclass
class ComboOutcome:
    combo: Combo
    answer: Trial | None = None  # the deciding pass at the smallest limit measured to pass
    neighbour: Trial | None = None  # the same combination one grid step below, failing
    trials: list[Trial] = field(default_factory=list)
    why_not: str | None = None  # infeasible, pruned or undecided: why there is no answer
    contradictions: list[str] = field(default_factory=list)
    guess: float | None = None  # where the bisection started below the top, if guided


def decide(combo: Combo, cpus: float, rate: float, measure: Measure, attempts: int,
           trials: list[Trial]) -> Trial:  # fmt: skip
    """Measure until the verdict is not undecided, or ``attempts`` are spent."""
    for attempt in range(attempts):
        trial = measure(combo, cpus, rate, attempt)
        trials.append(trial)
        if trial.verdict != UNDECIDED:
            break
    return trial


def search_combo(combo: Combo, grid: tuple[float, ...], rate: float, measure: Measure, *,
                 attempts: int = ATTEMPTS, best: float | None = None, guess: float | None = None,
                 model: Model | None = None) -> ComboOutcome:  # fmt: skip
    """The smallest limit of ``grid`` at which ``combo`` passes, below ``best`` if given."""
    out = ComboOutcome(combo)
    top = len(grid) - 1
    if best is not None:
        below = [i for i, c in enumerate(grid) if c < best - 1e-9]
        if not below:
            out.why_not = f"cannot beat {best:g} CPU: no limit of the range below it"
            return out
        top = below[-1]
    first = decide(combo, grid[top], rate, measure, attempts, out.trials)
    if first.verdict != PASS:
        out.why_not = _why_not(first, best)
        out.neighbour = first if first.verdict == FAIL else None
        return out
    passing, failing = top, -1  # grid[passing] passed; grid[failing] failed (-1: none yet)
    decided = {top: first}
    out.guess = guess = guess if guess is not None else model and model(first, rate)
    guided = 2 if guess is not None else 0  # the guess, then its neighbour
    while passing - failing > 1:
        middle = _next(grid, failing, passing, guess if guided else None)
        trial = decide(combo, grid[middle], rate, measure, attempts, out.trials)
        decided[middle] = trial
        if trial.verdict == PASS:
            passing = middle
        else:
            failing = middle
        if guided:  # the neighbour on the side the verdict points to: below a pass, above a fail
            guided -= 1
            beside = middle - 1 if trial.verdict == PASS else middle + 1
            guess = grid[beside] if 0 <= beside < len(grid) else None
    out.answer = decided[passing]
    out.neighbour = decided.get(failing)
    # A replicate at the boundary (a re-measurement): bisection alone never measures a pass
    # below a fail, so this is where a system that is not monotone (or not reproducible)
    # shows itself.
    decide(combo, grid[passing], rate, measure, attempts, out.trials)
    out.contradictions = contradictions(out.trials)
    return out


def search(
    combos: list[Combo], grid: tuple[float, ...], rate: float, measure: Measure, *,
    attempts: int = ATTEMPTS, guesses: dict[Combo, float] | None = None, model: Model | None = None,
) -> list[ComboOutcome]:  # fmt: skip
    """Every combination searched in turn, each pruned by the cheapest answer so far."""
    outcomes, best = [], None
    for combo in combos:
        outcome = search_combo(combo, grid, rate, measure, attempts=attempts, best=best,
                               guess=(guesses or {}).get(combo), model=model)  # fmt: skip
        outcomes.append(outcome)
        if outcome.answer is not None:
            best = outcome.answer.cpus
    return outcomes


def cheapest(outcomes: list[ComboOutcome]) -> ComboOutcome | None:
    """The outcome with the smallest passing limit (the first searched, on a tie)."""
    found = [o for o in outcomes if o.answer is not None]
    return min(found, key=lambda o: o.answer.cpus) if found else None


def contradictions(trials: list[Trial]) -> list[str]:
    """Passes measured at or below fails of the same combination (monotonicity broken)."""
    passes = [t for t in trials if t.verdict == PASS]
    fails = [t for t in trials if t.verdict == FAIL]
    return [f"passed at {p.cpus:g} CPU {'and failed' if p.cpus == f.cpus else 'below a fail'} "
            f"at {f.cpus:g} CPU" for p in passes for f in fails if p.cpus <= f.cpus]  # fmt: skip


def _next(grid: tuple[float, ...], failing: int, passing: int, guess: float | None) -> int:
    if guess is not None:
        inside = [i for i in range(failing + 1, passing) if grid[i] >= guess - 1e-9]
        if inside:
            return inside[0]
    return (failing + passing) // 2


def _why_not(trial: Trial, best: float | None) -> str:
    bound = f"; bound by {trial.bound}" if trial.bound else ""
    if best is not None and trial.verdict == FAIL:
        return f"cannot beat {best:g} CPU: fails at {trial.cpus:g} ({trial.reason}{bound})"
    if trial.verdict == FAIL:
        return (f"infeasible at any CPU in range: fails at {trial.cpus:g} "
                f"({trial.reason}{bound})")  # fmt: skip
    return f"undecided at {trial.cpus:g} CPU after every re-measurement ({trial.reason})"

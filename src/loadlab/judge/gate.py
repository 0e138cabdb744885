"""The nightly gate: which run a night is judged against, its verdict, what is kept.

A night is judged only against a run made on the same machine with the same settings (the
same fingerprint): the committed ``baseline/`` when the night's fingerprint is the one it
was recorded on (a reviewed reference), else the latest good night of that fingerprint in
the store. A night on a new fingerprint has nothing to be judged against: it records its
baseline and passes with a notice, unless its own points failed.

A regression is confirmed before it fails the job: the regressed points are measured again
(``remeasure``, a fresh window) and only a key still regressed on the fresh window fails,
both measurements reported. The fresh window is judged whole, status and flags with its
numbers: one that is itself unsteady, failing or harness-bound gives no trusted number, so
it cannot clear a regression. Failed points, points without a successful request and points
missing from the night fail the gate outright (judge.failures).

A passing night replaces its machine's baseline in the store, so slow drift of a hosted
runner's machine is followed; a failing night never does, so a regression stays red until
it is fixed or accepted (``rebaseline``). A night that needed a re-measurement does not
replace it either: its first numbers were the noisy ones.

The gate keeps only what is data (the store's baseline, the history lines) and returns its
verdict; rendering it (the summary, nightly.json, compare.html, the trend page) is
report.nightly_summary.write's, so judging imports nothing from rendering.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from loadlab.errors import CompareError, LabError
from loadlab.judge import compare, fingerprint, history
from loadlab.judge.compare import Comparison, Row
from loadlab.judge.failures import Failure, failures
from loadlab.judge.fingerprint import Fingerprint
from loadlab.judge.keys import key_of
from loadlab.judge.store import Store
from loadlab.results import PointResult, Run
from loadlab.stack.compose import ROOT

BASELINE = ROOT / "baseline"
STORE = ROOT / "reports" / "nightly-store"
NOT_BACK = "nothing came back from the re-measurement"

# The sweep machinery implements it: the given points measured again, same image and settings,
# a fresh window; returns each re-measured point's fresh result, with its own status and flags
# (absent: not measured).
Remeasure = Callable[[list[str]], dict[str, PointResult]]


def record_baseline(run_dir: Path, baseline: Path = BASELINE) -> Run:
    """Copy a finished run's results into ``baseline`` (the committed one), replacing it."""
    run = Run.load(run_dir)
    if not any(r.status == "ok" for r in run.points.values()):
        raise LabError(f"{run_dir} has no successfully measured point to use as a baseline")
    baseline.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(run.path, baseline / "run.json")
    shutil.copyfile(run.write_summary(), baseline / "summary.csv")
    return run


@dataclass(frozen=True)
class Recheck:
    """A regressed key judged again on its fresh window."""

    first: Row
    second: Row | None  # None: nothing came back for this key
    failure: str | None = None  # why the fresh window gave no trusted number (its status)

    @property
    def confirmed(self) -> bool:
        return self.second is None or self.second.regressed or self.failure is not None


@dataclass(frozen=True)
class Judgement:
    """What a verdict rests on: the comparison, and what re-measurement confirmed or cleared."""

    comparison: Comparison
    rechecks: list[Recheck]
    remeasured: dict[str, PointResult]  # the fresh results by point id
    note: str | None = None  # why nothing was re-measured although something regressed

    def regressions(self) -> list[Row]:
        """Regressed rows, less those the fresh window cleared."""
        cleared = {r.first.key for r in self.rechecks if not r.confirmed}
        return [row for row in self.comparison.regressions() if row.key not in cleared]

    @property
    def passed(self) -> bool:
        return not self.comparison.failures and not self.regressions()


def judge(
    reference: Run,
    run: Run,
    *,
    threshold: float | None = None,
    p95_threshold: float | None = None,
    remeasure: Remeasure | None = None,
) -> Judgement:
    """Compare ``run`` with ``reference``; re-measure what regressed before confirming it."""
    given = {"threshold": threshold, "p95_threshold": p95_threshold}
    options = {name: value for name, value in given.items() if value is not None}
    first = _named(compare.compare(reference, run, **options), reference)
    suspects = first.regressions()
    if not suspects:
        return Judgement(first, [], {})
    if remeasure is None:
        return Judgement(first, [], {}, "not re-measured: no lab to measure with (a recorded run)")
    keys = {row.key for row in suspects}
    ids = [r.point.id for r in run.points.values() if key_of(r) in keys]
    try:
        fresh = remeasure(ids)
    except LabError as exc:
        return Judgement(first, [], {}, f"re-measurement failed, regressions stand: {exc}")
    again = _named(compare.compare(reference, _with_fresh(run, ids, fresh), **options), reference)
    rows = {row.key: row for row in again.rows}
    reasons = {f.key: f.reason for f in again.failures}
    came_back = {key_of(r) for r in run.points.values() if r.point.id in fresh}
    rechecks = [
        Recheck(
            row,
            rows.get(row.key) if row.key in came_back else None,
            reasons.get(row.key) if row.key in came_back else None,
        )
        for row in suspects
    ]
    return Judgement(first, rechecks, fresh)


def recorded_id(run: Run) -> str:
    """The id a run was made under: a baseline's folder is named after its machine instead."""
    try:
        return str(json.loads(run.path.read_text()).get("run_id") or run.run_id)
    except (OSError, ValueError):
        return run.run_id


def _named(comparison: Comparison, reference: Run) -> Comparison:
    comparison.a_id = recorded_id(reference)
    return comparison


def _with_fresh(run: Run, asked: list[str], fresh: dict[str, PointResult]) -> Run:
    """``run`` with each asked point's fresh window in place of its first one."""
    points = dict(run.points)
    for pid in asked:
        points[pid] = _fresh_window(points[pid], fresh.get(pid))
    return dataclasses.replace(run, points=points)


def _fresh_window(first: PointResult, fresh: PointResult | None) -> PointResult:
    # The status, flags and error come with the numbers: compare trusts a window by them.
    if fresh is None:  # not back: its first window must not stand in beside a fresh repeat
        return dataclasses.replace(first, stats=None, status="failed", flags=[], error=NOT_BACK)
    return dataclasses.replace(
        first, stats=fresh.stats, status=fresh.status, flags=list(fresh.flags), error=fresh.error
    )


@dataclass(frozen=True)
class Verdict:
    """The gate's verdict on one night: its outcome, what it was judged against, and why."""

    outcome: str  # "passed", "recorded" (no judgement: a new baseline), "failed", "not-comparable"
    fingerprint: Fingerprint
    reference: str | None = None  # the run judged against
    source: str | None = None  # where it came from: "committed" or "store"
    judgement: Judgement | None = None
    failures: tuple[Failure, ...] = ()  # the night's own, when there was nothing to judge against
    recorded: Path | None = None  # where this night became its machine's baseline
    reason: str | None = None  # why it is not comparable

    @property
    def passed(self) -> bool:
        return self.outcome in ("passed", "recorded")

    @property
    def comparable(self) -> bool:
        return self.outcome != "not-comparable"

    @property
    def regressions(self) -> list[Row]:
        return self.judgement.regressions() if self.judgement else []

    @property
    def all_failures(self) -> list[Failure]:
        return self.judgement.comparison.failures if self.judgement else list(self.failures)


def gate(
    run: Run,
    store_root: Path = STORE,
    *,
    committed: Path = BASELINE,
    threshold: float | None = None,
    p95_threshold: float | None = None,
    remeasure: Remeasure | None = None,
    rebaseline: bool = False,
) -> Verdict:
    """The verdict on ``run``; keeps the store's baseline (when earned) and the history lines."""
    store, fp = Store(store_root), fingerprint.of(run)
    verdict = _verdict(run, fp, store, committed, threshold, p95_threshold, remeasure)
    if _keeps(verdict, rebaseline):
        outcome = "recorded" if rebaseline else verdict.outcome
        verdict = dataclasses.replace(verdict, recorded=store.record(run, fp), outcome=outcome)
    history.append(store.history, history.entries(run, fp, _night(verdict)))
    return verdict


def _keeps(verdict: Verdict, rebaseline: bool) -> bool:
    """Whether the night becomes its machine's baseline in the store."""
    if verdict.all_failures:
        return False  # never a reference with holes in it, not even when asked
    if rebaseline or verdict.outcome == "recorded":
        return True
    rechecked = verdict.judgement is not None and bool(verdict.judgement.rechecks)
    return verdict.outcome == "passed" and verdict.source == "store" and not rechecked


def _verdict(
    run: Run,
    fp: Fingerprint,
    store: Store,
    committed: Path,
    threshold: float | None,
    p95_threshold: float | None,
    remeasure: Remeasure | None,
) -> Verdict:
    try:
        reference, source = _reference(fp, store, committed)
    except LabError as exc:
        return Verdict("not-comparable", fp, failures=tuple(failures(run)), reason=str(exc))
    if reference is None:
        own = tuple(failures(run))
        return Verdict("failed" if own else "recorded", fp, failures=own)
    try:
        judgement = judge(
            reference, run, threshold=threshold, p95_threshold=p95_threshold, remeasure=remeasure
        )
    except CompareError as exc:
        own = tuple(failures(run))
        return Verdict(
            "not-comparable", fp, recorded_id(reference), source, failures=own, reason=str(exc)
        )
    outcome = "passed" if judgement.passed else "failed"
    return Verdict(outcome, fp, recorded_id(reference), source, judgement)


def _reference(fp: Fingerprint, store: Store, committed: Path) -> tuple[Run | None, str | None]:
    """The committed baseline if it was recorded on this machine, else the store's."""
    if (committed / "run.json").exists():
        reviewed = Run.load(committed)
        if fingerprint.of(reviewed).id == fp.id:
            return reviewed, "committed"
    stored = store.baseline(fp)
    return (stored, "store") if stored else (None, None)


def _night(verdict: Verdict) -> history.Night:
    judgement = verdict.judgement
    return history.Night(
        verdict.outcome,
        verdict.reference,
        regressed={row.key: row.what for row in verdict.regressions},
        failures={f.key: f.reason for f in verdict.all_failures},
        remeasured=judgement.remeasured if judgement else {},
    )

"""The nightly gate: a baseline kept in the repository, and a verdict on a new run against it.

The baseline is the results themselves (run.json and summary.csv of one run, a few tens of
kB), not a pointer: CI artifacts expire, the repository does not, and a baseline change is
then a reviewed commit like any other.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from . import compare
from .errors import CompareError, LabError
from .results import Run
from .stack import ROOT

BASELINE = ROOT / "baseline"
SUMMARY = "nightly-summary.md"


def record_baseline(run_dir: Path, baseline: Path = BASELINE) -> Run:
    """Copy a finished run's results into ``baseline``, replacing the one there."""
    run = Run.load(run_dir)
    if not any(r.status == "ok" for r in run.points.values()):
        raise LabError(f"{run_dir} has no successfully measured point to use as a baseline")
    baseline.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(run.path, baseline / "run.json")
    run.write_summary()
    shutil.copyfile(run.directory / "summary.csv", baseline / "summary.csv")
    return run


@dataclass(frozen=True)
class Verdict:
    markdown: str
    regressions: int
    failed_points: int
    comparable: bool

    @property
    def passed(self) -> bool:
        return self.comparable and not self.regressions and not self.failed_points


def judge(run: Run, baseline: Path = BASELINE, threshold: float | None = None) -> Verdict:
    """Compare ``run`` with the baseline; write the Markdown summary and compare.html."""
    failed = sum(r.status == "failed" for r in run.points.values())
    head = f"# Nightly {run.run_id}\n\n"
    try:
        reference = Run.load(baseline)
        kwargs = {} if threshold is None else {"threshold": threshold}
        comparison = compare.compare(reference, run, **kwargs)
    except (CompareError, LabError) as exc:
        text = head + f"**No comparison against the baseline:** {exc}\n\n{_how_to_rebase(run)}"
        return _written(run, Verdict(text, 0, failed, comparable=False))
    compare.write(comparison, run.directory)
    lines = [head, _status_line(comparison, failed), "", compare.to_markdown(comparison)]
    text = "\n".join(lines) + "\n"
    return _written(run, Verdict(text, len(comparison.regressions()), failed, comparable=True))


def _status_line(c: compare.Comparison, failed: int) -> str:
    parts = [f"{len(c.regressions())} regression(s) beyond {c.threshold:.0%}"]
    if failed:
        parts.append(f"{failed} point(s) failed to measure")
    verdict = "FAILED" if c.regressions() or failed else "passed"
    return f"**Gate {verdict}:** " + "; ".join(parts) + f" (reference: {c.a_id})."


def _how_to_rebase(run: Run) -> str:
    return (f"To make this run the baseline: `make baseline RUN={run.directory}` "
            "and commit `baseline/`.\n")  # fmt: skip


def _written(run: Run, verdict: Verdict) -> Verdict:
    (run.directory / SUMMARY).write_text(verdict.markdown)
    return verdict

"""The gate's verdict rendered: the Markdown summary, nightly.json, the job page's annotations.

The summary is what a reader of the job page sees first: the verdict and why, the machine
it ran on, what a re-measurement confirmed or cleared, then the full comparison. ``write``
is the render step that follows the gate: it writes every file of a night that is a view
(compare.html, the trend page, the summary, nightly.json); the gate kept the data.
"""

from __future__ import annotations

import json

from loadlab.durable import write_atomic
from loadlab.judge import history
from loadlab.judge.compare import Change, Row
from loadlab.judge.failures import Failure
from loadlab.judge.gate import Recheck, Verdict
from loadlab.judge.store import Store
from loadlab.report import compare_page, trend
from loadlab.results import PointResult, Run

SUMMARY = "nightly-summary.md"
VERDICT = "nightly.json"
MAX_ANNOTATIONS = 10  # GitHub shows at most 10 error annotations of a step
SOURCES = {
    "committed": "the committed baseline/, recorded on this machine",
    "store": "this machine's latest good night in the store",
}


def write(verdict: Verdict, run: Run, store: Store, rebaseline: bool = False) -> str:
    """Write a night's views into its run directory and the store; return the summary."""
    if verdict.judgement:
        compare_page.write(verdict.judgement.comparison, run.directory)
    trend.render(store.history, store.page)
    text = markdown(verdict, run, store, rebaseline)
    write_atomic(run.directory / SUMMARY, text)
    write_atomic(run.directory / VERDICT, document(verdict, run))
    return text


def headline(verdict: Verdict, rebaseline: bool = False) -> str:
    """The first line of the summary: the verdict and the one reason that matters."""
    fp, ref = verdict.fingerprint, verdict.reference
    against = f"against {ref} ({SOURCES.get(verdict.source or '', verdict.source)})"
    problems = len(verdict.regressions), len(verdict.all_failures)
    if verdict.outcome == "not-comparable":
        return f"**Gate FAILED, no comparison:** {verdict.reason}."
    if verdict.outcome == "recorded" and rebaseline:
        found = ""
        if verdict.judgement:
            found = f" It replaces {ref}; its {problems[0]} regression(s) against it are below."
        return f"**Gate passed, baseline replaced on request (rebaseline).**{found}"
    if verdict.outcome == "recorded":
        return (
            f"**Gate passed, first night on this machine:** there was no baseline for "
            f"fingerprint `{fp.id}` yet; this run is now its baseline. Nothing was judged "
            "tonight; later nights on this machine are judged against it."
        )
    if verdict.judgement is None:
        return (
            f"**Gate FAILED, first night on this machine:** {problems[1]} point(s) gave no "
            f"trusted number, so no baseline was recorded for fingerprint `{fp.id}`."
        )
    if verdict.outcome == "failed":
        return (
            f"**Gate FAILED:** {problems[0]} confirmed regression(s), {problems[1]} "
            f"failure(s), {against}."
        )
    cleared = [r for r in verdict.judgement.rechecks if not r.confirmed]
    more = f" {len(cleared)} suspected regression(s) cleared on re-measurement." if cleared else ""
    c = verdict.judgement.comparison
    return (
        f"**Gate passed:** no regression beyond {c.threshold:.0%} (rps) or "
        f"{c.p95_threshold:.0%} (p95) and no failed point, {against}.{more}"
    )


def markdown(verdict: Verdict, run: Run, store: Store, rebaseline: bool = False) -> str:
    """nightly-summary.md: the headline, the machine, what failed, the re-measurement, the rest."""
    fp = verdict.fingerprint
    out = [
        f"# Nightly {run.run_id}",
        "",
        headline(verdict, rebaseline),
        "",
        f"Machine `{fp.id}`: {fp.label}.",
    ]
    if verdict.recorded:
        out += ["", f"Recorded as this machine's baseline: `{verdict.recorded}`."]
    if verdict.source == "committed" and rebaseline:
        out += [
            "",
            "The committed `baseline/` stays this machine's reference: move it with "
            f"`make baseline RUN={run.directory}` and a commit.",
        ]
    if why := [*problem_lines(verdict)]:
        out += ["", "## What failed the gate", "", *(f"- {line}" for line in why)]
    judgement = verdict.judgement
    if judgement and judgement.rechecks:
        out += ["", "## Re-measured before judging", "", *recheck_table(judgement.rechecks)]
    if judgement and judgement.note:
        out += ["", f"Regressions {judgement.note}."]
    if verdict.outcome == "not-comparable":
        out += [
            "",
            "To make this night the baseline of its machine: `make nightly REBASELINE=1` "
            "(on GitHub: run the workflow by hand with `rebaseline` ticked).",
        ]
    nights = len({line["night"] for line in history.load(store.history)})
    out += ["", f"History: `{store.page}`, every point across {nights} night(s)."]
    if judgement:
        out += ["", compare_page.to_markdown(judgement.comparison)]
    return "\n".join(out).rstrip("\n") + "\n"


def problem_lines(verdict: Verdict) -> list[str]:
    """One line per key that made the verdict a failure, naming the series and why."""
    checked = {r.first.key: r for r in (verdict.judgement.rechecks if verdict.judgement else [])}
    lines = []
    for row in verdict.regressions:
        again = " (confirmed on re-measurement)" if row.key in checked else ""
        lines.append(f"{row.key.text}: {row.what}{again}")
    return lines + [_failure_line(f) for f in verdict.all_failures]


def _failure_line(failure: Failure) -> str:
    return f"{failure.key.text}: {failure.reason}"


def recheck_table(rechecks: list[Recheck]) -> list[str]:
    """Each re-measured metric: baseline, first window, fresh window, confirmed or cleared."""
    columns = ("point", "metric", "baseline", "first", "re-measured", "verdict")
    rows = []
    for recheck in rechecks:
        for name in ("rps", "p95"):
            first: Change = getattr(recheck.first, name)
            if first.slower:
                rows.append(_recheck_row(recheck, name, first))
    return compare_page.markdown_table(rows, columns)


def _recheck_row(recheck: Recheck, name: str, first: Change) -> list[str]:
    second: Change | None = getattr(recheck.second, name) if recheck.second else None
    unit = " ms" if name == "p95" else ""
    fresh = [compare_page.value_text(second.b_mean, second.b_ci, unit)] if second else []
    if second is None or recheck.failure is not None:  # no trusted number: the first stands
        fresh.append(recheck.failure or "nothing came back")  # the fresh window's status
        standing = first
    else:
        standing = second
    conclusion = "confirmed" if recheck.confirmed else "cleared"
    return [
        recheck.first.key.text,
        name,
        f"{first.a_mean:.1f}{unit}",
        compare_page.value_text(first.b_mean, first.b_ci, unit),
        "; ".join(fresh),
        f"{conclusion}: {standing.word}",
    ]


def document(verdict: Verdict, run: Run) -> str:
    """nightly.json: the verdict as data, for tools that read it instead of the Markdown."""
    judgement = verdict.judgement
    remeasured = judgement.remeasured if judgement else {}

    def row(r: Row) -> dict:
        return {
            **r.key._asdict(),
            "text": r.key.text,
            "what": r.what,
            "rps": _change(r.rps),
            "p95": _change(r.p95),
        }

    data = {
        "run_id": run.run_id,
        "outcome": verdict.outcome,
        "passed": verdict.passed,
        "fingerprint": verdict.fingerprint.to_json(),
        "reference": verdict.reference,
        "source": verdict.source,
        "reason": verdict.reason,
        "recorded": str(verdict.recorded) if verdict.recorded else None,
        "regressions": [row(r) for r in verdict.regressions],
        "failures": [
            {**f.key._asdict(), "text": f.key.text, "reason": f.reason}
            for f in verdict.all_failures
        ],
        "rechecks": [
            {
                "first": row(r.first),
                "second": row(r.second) if r.second else None,
                "failure": r.failure,
                "confirmed": r.confirmed,
            }
            for r in (judgement.rechecks if judgement else [])
        ],
        "remeasured": {pid: _fresh(r) for pid, r in remeasured.items()},
    }
    return json.dumps(data, indent=1) + "\n"


def _fresh(result: PointResult) -> dict:
    """A fresh window as nightly.json has always held it: its stats and its status."""
    return {**(result.stats.to_json() if result.stats else {}), "status": result.status}


def _change(c: Change) -> dict:
    return {
        "a": c.a_mean,
        "b": c.b_mean,
        "ratio": c.ratio,
        "p_value": c.p_value,
        "a_ci": c.a_ci,
        "b_ci": c.b_ci,
        "verdict": c.word,  # nightly.json's name for a change's wording
    }


def annotations(verdict: Verdict) -> list[str]:
    """GitHub workflow commands: a notice for a new baseline, an error per failing key."""
    if verdict.outcome == "recorded":
        return [_command("notice", "Nightly: new baseline", headline(verdict).replace("**", ""))]
    if verdict.passed:
        return []
    lines = problem_lines(verdict) or [headline(verdict).replace("**", "")]
    # Past the limit, the last annotation GitHub shows says how many it could not.
    shown = lines if len(lines) <= MAX_ANNOTATIONS else lines[: MAX_ANNOTATIONS - 1]
    found = [_command("error", "Nightly gate", line) for line in shown]
    if len(shown) < len(lines):
        more = f"... and {len(lines) - len(shown)} more; see the job summary"
        found.append(_command("error", "Nightly gate", more))
    return found


def _command(kind: str, title: str, message: str) -> str:
    """``::kind title=...::message`` with GitHub's escaping of both parts."""

    def data(text: str) -> str:
        return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")

    prop = data(title).replace(":", "%3A").replace(",", "%2C")
    return f"::{kind} title={prop}::{data(message)}"

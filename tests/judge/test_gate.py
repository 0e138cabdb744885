"""The nightly gate on fixture runs: which baseline, the verdict, re-measurement, what is kept,
then the render step that writes the summary."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from loadlab.errors import LabError, PointError
from loadlab.judge import fingerprint, gate, history
from loadlab.judge.store import Store
from loadlab.measure.stats import WindowStats
from loadlab.report import nightly_summary
from loadlab.results import PointResult, Run
from tests.judge import runs_fixture as fx

SLOW = {("io/sync", 80): 160.0}  # io/sync at 80 users: 200 -> 160 rps, 1.25x slower


def night(tmp_path: Path, name: str, rps: dict | None = None, **kwargs: object) -> Run:
    """A night of the small nightly grid (2 series x 2 user counts x 2 repeats)."""
    return fx.write(tmp_path / "reports" / name, fx.grid(rps), **kwargs)


def gated(tmp_path: Path, run: Run, **kwargs: object) -> tuple[gate.Verdict, str]:
    """Judge, then render, as the CLI does: the verdict and the summary's Markdown."""
    kwargs.setdefault("committed", tmp_path / "no-committed-baseline")
    verdict = gate.gate(run, tmp_path / "store", **kwargs)
    store = Store(tmp_path / "store")
    return verdict, nightly_summary.write(verdict, run, store, bool(kwargs.get("rebaseline")))


def fresh(
    run: Run, ids: list[str], flags: tuple[str, ...] = (), status: str = "ok", **kwargs: object
) -> dict[str, PointResult]:
    """What Sweep.remeasure returns for ``ids`` of ``run``: a fresh typed result per point id."""
    stats = WindowStats.from_json(fx.point(**kwargs)["stats"])
    return {
        pid: PointResult(run.points[pid].point, status, list(flags), stats=stats) for pid in ids
    }


def fixture_run(directory: Path, rps: float, *, status: str = "ok") -> Run:
    """A run of two points (one key, two repeats) with the given throughput."""
    points = [fx.point(rps=rps + r * 0.1, repeat=r, status=status) for r in (1, 2)]
    return fx.write(directory, points)


def test_baseline_copies_the_results_into_the_repository_folder(tmp_path: Path) -> None:
    """make baseline copies run.json and summary.csv, which Run.load then reads back."""
    fixture_run(tmp_path / "run", 200.0)
    gate.record_baseline(tmp_path / "run", tmp_path / "baseline")
    assert {p.name for p in (tmp_path / "baseline").iterdir()} == {"run.json", "summary.csv"}
    assert len(Run.load(tmp_path / "baseline").points) == 2


def test_a_run_without_measurements_cannot_be_the_baseline(tmp_path: Path) -> None:
    """A run whose points all failed is refused as a baseline."""
    fixture_run(tmp_path / "run", 200.0, status="failed")
    with pytest.raises(LabError, match="no successfully measured point"):
        gate.record_baseline(tmp_path / "run", tmp_path / "baseline")


def test_the_first_night_on_a_machine_records_and_passes_with_a_notice(tmp_path: Path) -> None:
    """No baseline for the fingerprint: the night becomes it, passes, and says so."""
    run = night(tmp_path, "n1")
    verdict, summary = gated(tmp_path, run)
    fp = fingerprint.of(run)
    assert verdict.outcome == "recorded" and verdict.passed and verdict.judgement is None
    assert verdict.recorded == tmp_path / "store" / "baselines" / fp.id
    assert gate.recorded_id(Run.load(verdict.recorded)) == "n1"
    assert "first night on this machine" in summary and fp.id in summary
    (notice,) = nightly_summary.annotations(verdict)
    assert notice.startswith("::notice title=Nightly%3A new baseline::Gate passed, first night")


def test_the_gate_keeps_the_data_and_rendering_writes_the_views(tmp_path: Path) -> None:
    """gate() records the baseline and the history only; write() adds the four views."""
    gated(tmp_path, night(tmp_path, "n1"))
    run, store = night(tmp_path, "n2"), Store(tmp_path / "store")
    views = [run.directory / name for name in (nightly_summary.SUMMARY, nightly_summary.VERDICT)]
    views += [run.directory / "compare.html"]
    store.page.unlink()
    verdict = gate.gate(run, store.root, committed=tmp_path / "no-committed-baseline")
    assert gate.recorded_id(Run.load(verdict.recorded)) == "n2"
    assert {line["night"] for line in history.load(store.history)} == {"n1", "n2"}
    assert not any(path.exists() for path in [*views, store.page])
    summary = nightly_summary.write(verdict, run, store)
    assert all(path.exists() for path in [*views, store.page])
    assert (run.directory / nightly_summary.SUMMARY).read_text() == summary


def test_judging_imports_nothing_from_rendering() -> None:
    """No module of loadlab.judge imports loadlab.report, so the two cannot form a cycle."""
    folder = Path(gate.__file__).parent
    for module in folder.glob("*.py"):
        for node in ast.walk(ast.parse(module.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            assert not [n for n in names if n.startswith("loadlab.report")], module.name


def test_a_first_night_with_failed_points_fails_and_records_nothing(tmp_path: Path) -> None:
    """Failures are results even with nothing to compare: exit 1, no baseline with holes."""
    points = fx.grid()
    points[0].update(status="failed", error="container exited")
    verdict, summary = gated(tmp_path, fx.write(tmp_path / "n1", points))
    assert verdict.outcome == "failed" and not verdict.recorded
    assert "uvicorn io/async cpus=1 users=10: repeat 1 failed: container exited" in summary
    assert not (tmp_path / "store" / "baselines").exists()


def test_a_second_night_is_judged_against_the_first_and_replaces_it(tmp_path: Path) -> None:
    """Same machine, same numbers: passed against the stored night, which it then replaces."""
    gated(tmp_path, night(tmp_path, "n1"))
    verdict, summary = gated(tmp_path, night(tmp_path, "n2"))
    assert verdict.outcome == "passed" and verdict.reference == "n1" and verdict.source == "store"
    assert gate.recorded_id(Run.load(verdict.recorded)) == "n2"
    assert "**Gate passed:**" in summary
    assert (tmp_path / "reports/n2/compare.html").exists()
    assert nightly_summary.annotations(verdict) == []


def test_a_regression_fails_names_the_series_and_keeps_the_old_baseline(tmp_path: Path) -> None:
    """A 1.25x slower point fails the gate; the stored baseline stays the good night."""
    gated(tmp_path, night(tmp_path, "n1"))
    verdict, summary = gated(tmp_path, night(tmp_path, "n2", SLOW))
    assert verdict.outcome == "failed" and verdict.regressions and not verdict.recorded
    assert "- uvicorn io/sync cpus=1 users=80: rps 1.25x slower" in summary
    assert "Regressions not re-measured: no lab to measure with (a recorded run)." in summary
    fp = fingerprint.of(Run.load(tmp_path / "reports/n1"))
    assert gate.recorded_id(Run.load(tmp_path / "store/baselines" / fp.id)) == "n1"
    errors = nightly_summary.annotations(verdict)
    assert errors == [
        "::error title=Nightly gate::uvicorn io/sync cpus=1 users=80: rps 1.25x slower"
    ]


def test_failed_and_missing_points_fail_the_gate(tmp_path: Path) -> None:
    """No regression in numbers, but a failed point and a missing one: the gate fails."""
    gated(tmp_path, night(tmp_path, "n1"))
    points = [p for p in fx.grid() if not (p["endpoint"] == "io/async" and p["users"] == 80)]
    points[0].update(status="failing", error="failure ratio 3.2 % > 0.1 %")
    verdict, _ = gated(tmp_path, fx.write(tmp_path / "reports/n2", points))
    assert verdict.outcome == "failed" and not verdict.regressions
    reasons = {f.key.text: f.reason for f in verdict.all_failures}
    assert reasons["uvicorn io/async cpus=1 users=10"].startswith("repeat 1 failing: failure")
    assert "missing from n2" in reasons["uvicorn io/async cpus=1 users=80"]


def test_a_remeasurement_that_clears_the_point_passes_and_reports_both(tmp_path: Path) -> None:
    """A point slow on its first window but not on a fresh one passes; both numbers shown."""
    gated(tmp_path, night(tmp_path, "n1"))
    run = night(tmp_path, "n2", SLOW)
    asked: list[list[str]] = []

    def remeasure(ids: list[str]) -> dict[str, PointResult]:
        asked.append(ids)
        return fresh(run, ids, rps=200.0, p95=400.0)

    verdict, summary = gated(tmp_path, run, remeasure=remeasure)
    assert asked == [["uvicorn__io-sync__cpus1__u80__r1", "uvicorn__io-sync__cpus1__u80__r2"]]
    assert verdict.outcome == "passed" and verdict.regressions == []
    assert "1 suspected regression(s) cleared on re-measurement" in summary
    assert (
        "| uvicorn io/sync cpus=1 users=80 | rps | 200.6 | 160.5 [158.7, 162.2] | "
        "200.0 [198.0, 202.0] | cleared: no significant change |"
    ) in summary
    # Its first numbers were the noisy ones: the night does not become the baseline.
    assert not verdict.recorded


def test_a_remeasurement_that_confirms_fails_and_reports_both(tmp_path: Path) -> None:
    """Still slow on the fresh window: the regression is confirmed, both windows shown."""
    gated(tmp_path, night(tmp_path, "n1"))
    run = night(tmp_path, "n2", SLOW)
    verdict, summary = gated(
        tmp_path, run, remeasure=lambda ids: fresh(run, ids, rps=158.0, p95=400.0)
    )
    assert verdict.outcome == "failed"
    assert "rps 1.25x slower (confirmed on re-measurement)" in summary
    assert "| 158.0 [156.4, 159.6] | confirmed: 1.27x slower |" in summary
    document = json.loads((tmp_path / "reports/n2" / nightly_summary.VERDICT).read_text())
    (recheck,) = document["rechecks"]
    assert recheck["confirmed"] and recheck["second"]["rps"]["b"] == pytest.approx(158.0)
    remeasured = document["remeasured"]["uvicorn__io-sync__cpus1__u80__r1"]
    assert (remeasured["status"], remeasured["rps"]) == ("ok", 158.0)


@pytest.mark.parametrize(
    ("status", "flag"),
    [
        ("unsteady", "drift: level shift of 12 % across mid-step"),
        ("failing", "failure ratio 0.4 % > 0.1 %"),
        ("harness-bound", "Little's law off by 3.1 % (> 2 %)"),
    ],
)
def test_a_fresh_window_without_a_trusted_number_cannot_clear(
    tmp_path: Path, status: str, flag: str
) -> None:
    """A fresh window with good numbers but a bad status confirms, and the summary says why."""
    gated(tmp_path, night(tmp_path, "n1"))
    run = night(tmp_path, "n2", SLOW)

    def remeasure(ids: list[str]) -> dict[str, PointResult]:
        return fresh(run, ids, (flag,), rps=200.0, p95=400.0, status=status)

    verdict, summary = gated(tmp_path, run, remeasure=remeasure)
    assert verdict.outcome == "failed" and [r.key.text for r in verdict.regressions] == [
        "uvicorn io/sync cpus=1 users=80"
    ]
    (recheck,) = verdict.judgement.rechecks
    assert recheck.confirmed and recheck.second is None
    why = f"repeat 1 {status} ({flag}); repeat 2 {status} ({flag})"
    assert recheck.failure == why
    assert "rps 1.25x slower (confirmed on re-measurement)" in summary
    assert f"| {why} | confirmed: 1.25x slower |" in summary


def test_one_untrusted_fresh_repeat_keeps_the_regression(tmp_path: Path) -> None:
    """A fresh repeat that is unsteady confirms, even when the other repeat looks cleared."""
    gated(tmp_path, night(tmp_path, "n1"))
    run = night(tmp_path, "n2", SLOW)

    def remeasure(ids: list[str]) -> dict[str, PointResult]:
        found = fresh(run, ids, rps=200.0, p95=400.0)
        found[ids[1]] = fresh(run, ids[1:], ("drift",), rps=200.0, status="unsteady")[ids[1]]
        return found

    verdict, summary = gated(tmp_path, run, remeasure=remeasure)
    (recheck,) = verdict.judgement.rechecks
    assert verdict.outcome == "failed" and recheck.confirmed
    assert recheck.failure == "repeat 2 unsteady (drift)"
    assert "| 200.0 [198.0, 202.0]; repeat 2 unsteady (drift) | confirmed: 1.25x slower |" in (
        summary
    )
    assert "rps 1.25x slower (confirmed on re-measurement)" in summary


def test_a_fresh_repeat_that_did_not_come_back_keeps_the_regression(tmp_path: Path) -> None:
    """A repeat missing from the re-measurement confirms: its first window cannot stand in."""
    gated(tmp_path, night(tmp_path, "n1"))
    run = night(tmp_path, "n2", SLOW)
    verdict, summary = gated(
        tmp_path, run, remeasure=lambda ids: fresh(run, ids[:1], rps=200.0, p95=400.0)
    )
    (recheck,) = verdict.judgement.rechecks
    assert verdict.outcome == "failed" and recheck.confirmed
    assert recheck.failure == "repeat 2 failed: nothing came back from the re-measurement"
    assert "rps 1.25x slower (confirmed on re-measurement)" in summary


def test_a_remeasurement_that_fails_or_returns_nothing_confirms(tmp_path: Path) -> None:
    """A lab error or an empty answer cannot clear a regression: it stands, with the reason."""
    gated(tmp_path, night(tmp_path, "n1"))

    def broken(ids: list[str]) -> dict[str, PointResult]:
        raise PointError("target did not come back")

    verdict, summary = gated(tmp_path, night(tmp_path, "n2", SLOW), remeasure=broken)
    assert verdict.outcome == "failed" and "re-measurement failed" in summary
    verdict, summary = gated(tmp_path, night(tmp_path, "n3", SLOW), remeasure=lambda ids: {})
    (recheck,) = verdict.judgement.rechecks
    assert verdict.outcome == "failed" and recheck.second is None and recheck.failure is None
    assert "| nothing came back | confirmed: 1.25x slower |" in summary


def test_the_committed_baseline_is_the_reference_of_its_own_machine(tmp_path: Path) -> None:
    """A committed baseline with the night's fingerprint wins over the store, and stays."""
    committed = tmp_path / "baseline"
    gate.record_baseline(night(tmp_path, "reviewed").directory, committed)
    verdict, summary = gated(tmp_path, night(tmp_path, "n1"), committed=committed)
    assert (verdict.outcome, verdict.reference, verdict.source) == (
        "passed",
        "reviewed",
        "committed",
    )
    assert not verdict.recorded and "the committed baseline/" in summary


def test_a_committed_baseline_of_another_machine_is_left_alone(tmp_path: Path) -> None:
    """The committed baseline from another host is not this machine's: a first night here."""
    committed = tmp_path / "baseline"
    other = night(tmp_path, "elsewhere", metadata=fx.HOST_Y)
    gate.record_baseline(other.directory, committed)
    verdict, _ = gated(tmp_path, night(tmp_path, "n1"), committed=committed)
    assert verdict.outcome == "recorded" and verdict.reference is None


def test_rebaseline_accepts_a_regression(tmp_path: Path) -> None:
    """Asked to, a slow night becomes the baseline; the next slow night then passes."""
    gated(tmp_path, night(tmp_path, "n1"))
    verdict, summary = gated(tmp_path, night(tmp_path, "n2", SLOW), rebaseline=True)
    assert verdict.outcome == "recorded" and verdict.passed and verdict.regressions
    assert "baseline replaced on request" in summary
    assert gated(tmp_path, night(tmp_path, "n3", SLOW))[0].outcome == "passed"


def test_an_unreadable_stored_baseline_is_not_comparable_until_replaced(tmp_path: Path) -> None:
    """A broken baseline says so (exit 3 in the CLI) and tells how to replace it."""
    first = night(tmp_path, "n1")
    gated(tmp_path, first)
    (tmp_path / "store/baselines" / fingerprint.of(first).id / "run.json").write_text("{")
    verdict, summary = gated(tmp_path, night(tmp_path, "n2"))
    assert not verdict.comparable and not verdict.passed
    assert "not valid JSON" in summary and "REBASELINE=1" in summary
    assert gated(tmp_path, night(tmp_path, "n3"), rebaseline=True)[0].outcome == "recorded"
    assert gated(tmp_path, night(tmp_path, "n4"))[0].outcome == "passed"


def test_every_night_appends_to_the_history_and_renders_the_page(tmp_path: Path) -> None:
    """Each night adds its points to history.jsonl and redraws history.html."""
    gated(tmp_path, night(tmp_path, "n1"))
    gated(tmp_path, night(tmp_path, "n2", SLOW))
    lines = history.load(tmp_path / "store/history.jsonl")
    assert [line["night"] for line in lines] == ["n1"] * 8 + ["n2"] * 8
    slow = [
        line
        for line in lines
        if line["night"] == "n2" and line["users"] == 80 and line["endpoint"] == "io/sync"
    ]
    assert {line["regressed"] for line in slow} == {"rps 1.25x slower"}
    assert slow[0]["rps_ci"] == pytest.approx([160.32 * 0.99, 160.32 * 1.01])
    assert (tmp_path / "store/history.html").read_text().count("<svg") == 8


def test_annotations_stop_at_githubs_limit_and_count_the_rest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past MAX_ANNOTATIONS failing keys, the last annotation says how many more there are."""
    points = [fx.point(users=u, status="failed", error="gone") for u in range(1, 13)]
    verdict, _ = gated(tmp_path, fx.write(tmp_path / "n1", points))
    errors = nightly_summary.annotations(verdict)
    assert len(errors) == nightly_summary.MAX_ANNOTATIONS == 10
    assert errors[8].endswith("users=9: failed: gone")
    assert errors[-1] == "::error title=Nightly gate::... and 3 more; see the job summary"
    monkeypatch.setattr(nightly_summary, "MAX_ANNOTATIONS", 4)
    errors = nightly_summary.annotations(verdict)
    assert len(errors) == 4 and errors[-1].endswith("... and 9 more; see the job summary")


def test_annotations_escape_what_github_would_misread() -> None:
    """Newlines and percent signs in a message, colons and commas in a title are escaped."""
    assert nightly_summary._command("error", "a: b, c", "50 %\nnext") == (
        "::error title=a%3A b%2C c::50 %25%0Anext"
    )


def test_the_gates_thresholds_are_the_ones_it_judges_by(tmp_path: Path) -> None:
    """A night 1.20x slower passes a 30 % rps threshold, and fails on p95 when the p95
    threshold is 10 %; the summary states the thresholds it judged by."""
    committed = tmp_path / "baseline"
    gate.record_baseline(night(tmp_path, "reviewed").directory, committed)

    def slower(name: str) -> Run:
        return fx.write(tmp_path / "reports" / name, fx.grid(slower={"io/sync": 1.2}))

    verdict, summary = gated(tmp_path, slower("n1"), committed=committed, threshold=0.3)
    assert verdict.outcome == "passed"
    assert "no regression beyond 30% (rps) or 25% (p95)" in summary
    verdict, _ = gated(
        tmp_path, slower("n2"), committed=committed, threshold=0.3, p95_threshold=0.1
    )
    assert verdict.outcome == "failed"
    assert {row.what for row in verdict.regressions} == {"p95 1.20x slower"}


def test_the_fresh_window_is_judged_by_the_same_threshold(tmp_path: Path) -> None:
    """With a 5 % threshold, a fresh window still 1.07x slower confirms the regression (it
    would clear under the default 10 %)."""
    gated(tmp_path, night(tmp_path, "n1"))
    run = night(tmp_path, "n2", SLOW)
    verdict, _ = gated(
        tmp_path, run, threshold=0.05, remeasure=lambda ids: fresh(run, ids, rps=188.0, p95=400.0)
    )
    (recheck,) = verdict.judgement.rechecks
    assert verdict.outcome == "failed" and recheck.confirmed and recheck.second.regressed


def test_a_fresh_window_that_failed_says_why(tmp_path: Path) -> None:
    """A fresh repeat that failed brings its own error; one that did not come back does not
    inherit the flags of its first window."""
    gated(tmp_path, night(tmp_path, "n1"))
    points = fx.grid(SLOW)
    slow2 = next(p for p in points if p["id"] == "uvicorn__io-sync__cpus1__u80__r2")
    slow2.update(status="unsteady", flags=["drift"])
    run = fx.write(tmp_path / "reports/n2", points)

    def remeasure(ids: list[str]) -> dict[str, PointResult]:
        (first, _) = ids
        return {first: PointResult(run.points[first].point, "failed", [], "target exited")}

    verdict, _ = gated(tmp_path, run, remeasure=remeasure)
    (recheck,) = verdict.judgement.rechecks
    assert recheck.confirmed and recheck.failure == (
        f"repeat 1 failed: target exited; repeat 2 failed: {gate.NOT_BACK}"
    )


def two_images(tmp_path: Path, name: str, pythons: tuple[str, str], **changes: object) -> Run:
    """A night whose two variants run different images: uvicorn and gunicorn on ``pythons``."""
    points = fx.grid()
    for p in points:
        if p["endpoint"] == "io/sync":
            p.update(variant="gunicorn", id=p["id"].replace("uvicorn", "gunicorn"))
        p["runtime"]["python"] = pythons[p["variant"] == "gunicorn"]
    points[0].update(**changes)
    return fx.write(tmp_path / "reports" / name, points)


@pytest.mark.parametrize("cause", ["unreadable baseline", "refused comparison"])
def test_a_night_that_cannot_be_compared_still_reports_its_own_failures(
    tmp_path: Path, cause: str
) -> None:
    """Not comparable (a broken stored baseline, or compare refusing the pair although the
    fingerprints match): the verdict names why and the night's failed points, records
    nothing, and the history keeps the reference and the failures."""
    first = two_images(tmp_path, "n1", ("3.11.2", "3.12.1"))
    gated(tmp_path, first)
    fp = fingerprint.of(first)
    if cause == "unreadable baseline":
        (tmp_path / "store/baselines" / fp.id / "run.json").write_text("{")
        pythons, why, reference = ("3.11.2", "3.12.1"), "not valid JSON", None
    else:
        pythons, why, reference = ("3.12.1", "3.11.2"), "target Python of gunicorn differs", "n1"
    stored = tmp_path / "store/baselines" / fp.id
    kept = (stored / "run.json").read_text()
    run = two_images(tmp_path, "n2", pythons, status="failed", error="container exited")
    verdict, summary = gated(tmp_path, run)
    assert (verdict.outcome, verdict.reference, verdict.fingerprint) == (
        "not-comparable",
        reference,
        fingerprint.of(run),
    )
    assert verdict.source == (reference and "store") and why in verdict.reason
    assert [(f.key.text, f.reason) for f in verdict.all_failures] == [
        ("uvicorn io/async cpus=1 users=10", "repeat 1 failed: container exited")
    ]
    assert f"**Gate FAILED, no comparison:** {verdict.reason}." in summary
    assert not verdict.recorded and (stored / "run.json").read_text() == kept
    lines = [x for x in history.load(tmp_path / "store/history.jsonl") if x["night"] == "n2"]
    assert {x["reference"] for x in lines} == {reference}
    failed = [x for x in lines if x["failure"]]
    assert [(x["users"], x["endpoint"]) for x in failed] == [(10, "io/async")] * 2


def test_the_history_of_a_remeasured_night_keeps_both_windows(tmp_path: Path) -> None:
    """History lines name the night judged against and carry each re-measured point's fresh
    numbers beside its first ones; the comparison names that night, not its store folder."""
    gated(tmp_path, night(tmp_path, "n1"))
    run = night(tmp_path, "n2", SLOW)
    verdict, _ = gated(tmp_path, run, remeasure=lambda ids: fresh(run, ids, rps=158.0))
    assert verdict.judgement.comparison.a_id == "n1"
    lines = [x for x in history.load(tmp_path / "store/history.jsonl") if x["night"] == "n2"]
    assert {x["reference"] for x in lines} == {"n1"}
    again = {x["point"]: x["remeasured"]["rps"] for x in lines if x["remeasured"]}
    assert again == pytest.approx(
        {"uvicorn__io-sync__cpus1__u80__r1": 158.0, "uvicorn__io-sync__cpus1__u80__r2": 158.0}
    )


def test_recording_a_baseline_creates_its_folder_and_replaces_one(tmp_path: Path) -> None:
    """make baseline into a folder not there yet, then again over it: the second run wins."""
    target = tmp_path / "repo" / "baseline"
    gate.record_baseline(fixture_run(tmp_path / "first", 200.0).directory, target)
    gate.record_baseline(fixture_run(tmp_path / "second", 300.0).directory, target)
    assert gate.recorded_id(Run.load(target)) == "second"

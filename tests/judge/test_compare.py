"""Comparing two runs: pairing by key, the word for each change, significance, intervals,
failures, refusals."""

from __future__ import annotations

from pathlib import Path

import pytest

from loadlab.errors import CompareError
from loadlab.judge.compare import (
    DEFAULT_THRESHOLD,
    Key,
    compare,
    factor_text,
    intervals_overlap,
    span,
)
from loadlab.plan.matrix import Point
from loadlab.report.compare_page import to_html, to_markdown, write
from loadlab.results import Run
from tests.judge import runs_fixture as fx

ROOT = Path(__file__).resolve().parents[2]
KEY = Key("uvicorn", "io/async", 1.0, 10)
OTHER = Key("uvicorn-workers", "cpu/sync", 1.0, 10)


def make_run(
    tmp_path: Path,
    name: str,
    samples: dict[tuple, list[tuple[float, float]]],
    ci: float | None = None,
    **kwargs: object,
) -> Run:
    """A finished run on disk: each key's repeats given as (rps, p95_ms) pairs."""
    points = [
        fx.point(*Key(*key)[:4], repeat, rps=rps, p95=p95, ci=ci)
        for key, reps in samples.items()
        for repeat, (rps, p95) in enumerate(reps, 1)
    ]
    return fx.write(tmp_path / name, points, **kwargs)


def pair(tmp_path: Path, a: dict, b: dict, **kwargs: object) -> tuple[Run, Run]:
    return make_run(tmp_path, "a", a), make_run(tmp_path, "b", b, **kwargs)


def set_status(run: Run, variant: str, status: str, error: str | None = None) -> Run:
    for result in run.points.values():
        if result.point.variant == variant:
            result.status, result.error = status, error
    return run


def test_identical_runs_have_no_change(tmp_path: Path) -> None:
    """Comparing a run with a copy of itself reports no change anywhere and no regression."""
    samples = {KEY: [(100.0, 50.0), (101.0, 51.0)], OTHER: [(30.0, 300.0)]}
    c = compare(*pair(tmp_path, samples, samples))
    assert [(r.rps.word, r.p95.word) for r in c.rows] == [("no significant change",) * 2] * 2
    assert c.regressions() == [] and c.failures == [] and not c.failed
    assert c.geometric_mean == pytest.approx(1.0)
    assert c.only_in_a == c.only_in_b == c.differences == []


def test_halved_throughput_is_a_regression(tmp_path: Path) -> None:
    """rps dropping from 100 to 50 reads "2.00x slower" and counts as a regression."""
    c = compare(*pair(tmp_path, {KEY: [(100.0, 50.0)]}, {KEY: [(50.0, 50.0)]}))
    (row,) = c.rows
    assert row.rps.word == "2.00x slower" and row.what == "rps 2.00x slower"
    assert row.rps.ratio == pytest.approx(0.5)
    assert row.p95.word == "no significant change"
    assert c.regressions() == [row] and c.failed
    assert c.geometric_mean == pytest.approx(0.5)


def test_higher_latency_alone_is_a_regression(tmp_path: Path) -> None:
    """p95 growing from 50 to 100 ms reads "2.00x slower" even when rps holds."""
    c = compare(*pair(tmp_path, {KEY: [(100.0, 50.0)]}, {KEY: [(100.0, 100.0)]}))
    assert c.rows[0].p95.word == "2.00x slower"
    assert c.regressions() == c.rows


def test_faster_wording(tmp_path: Path) -> None:
    """More rps and lower p95 read "faster", including a change of exactly the threshold."""
    c = compare(*pair(tmp_path, {KEY: [(100.0, 50.0)]}, {KEY: [(110.0, 37.5)]}))
    (row,) = c.rows
    assert (row.rps.word, row.p95.word) == ("1.10x faster", "1.33x faster")
    assert row.rps.faster and not row.regressed
    assert c.regressions() == []


def test_p95_has_its_own_wider_threshold(tmp_path: Path) -> None:
    """A 20 % change is significant in rps (threshold 10 %) but not in p95 (threshold 25 %)."""
    c = compare(*pair(tmp_path, {KEY: [(100.0, 50.0)]}, {KEY: [(80.0, 60.0)]}))
    (row,) = c.rows
    assert (row.rps.word, row.p95.word) == ("1.25x slower", "no significant change")
    tight = compare(
        *pair(tmp_path / "t", {KEY: [(100.0, 50.0)]}, {KEY: [(100.0, 60.0)]}), p95_threshold=0.1
    )
    assert tight.rows[0].p95.word == "1.20x slower"


def test_one_repeat_uses_the_threshold_alone(tmp_path: Path) -> None:
    """With one repeat and no intervals: 5 % is no change, 15 % is significant."""
    a = {KEY: [(100.0, 50.0)], OTHER: [(100.0, 50.0)]}
    b = {KEY: [(95.0, 50.0)], OTHER: [(85.0, 50.0)]}
    c = compare(*pair(tmp_path, a, b))
    small, big = c.rows
    assert small.rps.p_value is None and small.rps.word == "no significant change"
    assert big.rps.p_value is None and big.rps.word == "1.18x slower"
    assert any("fewer than 2 repeats" in w for w in c.warnings)


def test_t_test_path_needs_both_significance_and_threshold(tmp_path: Path) -> None:
    """With 3 quiet repeats a consistent 5 % drop passes the t-test but not the 10 % threshold."""
    a = {
        KEY: [(100.0, 50.0), (100.1, 50.0), (99.9, 50.0)],
        OTHER: [(100.0, 50.0), (100.1, 50.0), (99.9, 50.0)],
    }
    b = {
        KEY: [(95.0, 50.0), (95.1, 50.0), (94.9, 50.0)],
        OTHER: [(85.0, 50.0), (85.1, 50.0), (84.9, 50.0)],
    }
    c = compare(*pair(tmp_path, a, b))
    small, big = c.rows
    assert small.rps.p_value is not None and small.rps.p_value < 0.05
    assert small.rps.word == "no significant change"
    assert big.rps.word == "1.18x slower"
    lower = compare(*pair(tmp_path / "again", a, b), threshold=0.02)
    assert lower.rows[0].rps.word == "1.05x slower"


def test_noisy_big_change_is_not_significant(tmp_path: Path) -> None:
    """A 30 % drop in means with widely scattered repeats fails the t-test and warns unstable."""
    a = {KEY: [(100.0, 50.0), (60.0, 50.0), (140.0, 50.0)]}
    b = {KEY: [(70.0, 50.0), (110.0, 50.0), (30.0, 50.0)]}
    c = compare(*pair(tmp_path, a, b))
    (row,) = c.rows
    assert row.rps.ratio == pytest.approx(0.7)
    assert row.rps.p_value is not None and row.rps.p_value > 0.05
    assert row.rps.word == "no significant change"
    assert c.regressions() == []
    assert any(w.startswith("unstable: A uvicorn io/async cpus=1 users=10 rps") for w in c.warnings)


def test_a_change_inside_both_intervals_is_not_a_change(tmp_path: Path) -> None:
    """A 15 % drop whose 95 % intervals overlap is no change; the same drop, precise, is one."""
    a, b = {KEY: [(100.0, 50.0)]}, {KEY: [(85.0, 50.0)]}
    wide = compare(make_run(tmp_path, "a", a, ci=0.10), make_run(tmp_path, "b", b, ci=0.10))
    (row,) = wide.rows
    assert row.rps.a_ci == pytest.approx((90.0, 110.0)) and row.rps.overlap
    assert row.rps.word == "no significant change" and not wide.failed
    tight = compare(make_run(tmp_path, "c", a, ci=0.01), make_run(tmp_path, "d", b, ci=0.01))
    assert tight.rows[0].rps.word == "1.18x slower" and not tight.rows[0].rps.overlap


def test_intervals_missing_on_one_side_leave_the_threshold_to_decide(tmp_path: Path) -> None:
    """A format-1 reference has no intervals: the overlap rule is skipped, not guessed."""
    a = make_run(tmp_path, "a", {KEY: [(100.0, 50.0)]}, ci=None)
    b = make_run(tmp_path, "b", {KEY: [(85.0, 50.0)]}, ci=0.2)
    (row,) = compare(a, b).rows
    assert row.rps.a_ci is None and row.rps.b_ci is not None and not row.rps.overlap
    assert row.rps.word == "1.18x slower"


def test_two_repeats_on_each_side_are_enough_for_the_t_test(tmp_path: Path) -> None:
    """REPEATS=2 enables Welch's t-test (a key with 1 repeat on a side does not): the warning
    counts only the keys below 2 repeats and says how they were judged."""
    a = {KEY: [(100.0, 50.0), (102.0, 50.0)], OTHER: [(100.0, 50.0)]}
    b = {KEY: [(50.0, 50.0), (52.0, 50.0)], OTHER: [(100.0, 50.0)]}
    c = compare(*pair(tmp_path, a, b))
    twice, once = c.rows
    assert twice.rps.p_value is not None and twice.p95.p_value is not None
    assert once.rps.p_value is None
    assert (
        "1 of 2 keys have fewer than 2 repeats on a side: judged by the 10% threshold and the "
        "intervals, no t-test (REPEATS >= 2 enables it)"
    ) in c.warnings


def test_a_p_value_equal_to_alpha_is_not_significant(tmp_path: Path) -> None:
    """The t-test agrees only when p is below alpha: at alpha itself the change is not made."""
    a, b = pair(
        tmp_path, {KEY: [(100.0, 50.0), (102.0, 50.0)]}, {KEY: [(50.0, 50.0), (52.0, 50.0)]}
    )
    p = compare(a, b).rows[0].rps.p_value
    assert compare(a, b, alpha=p * 1.001).rows[0].rps.slower
    assert compare(a, b, alpha=p).rows[0].rps.word == "no significant change"


def test_a_sub_millisecond_p95_of_zero_is_compared_not_divided(tmp_path: Path) -> None:
    """A p95 of 0 ms (sub-millisecond answers) on both sides is no change; growing from 0 is
    infinitely slower and a regression, falling to 0 infinitely faster."""
    same = compare(*pair(tmp_path / "same", {KEY: [(100.0, 0.0)]}, {KEY: [(100.0, 0.0)]}))
    assert same.rows[0].p95.ratio == 1.0 and not same.failed
    grew = compare(*pair(tmp_path / "grew", {KEY: [(100.0, 0.0)]}, {KEY: [(100.0, 5.0)]}))
    assert grew.rows[0].p95.word == "infx slower" and grew.failed
    fell = compare(*pair(tmp_path / "fell", {KEY: [(100.0, 5.0)]}, {KEY: [(100.0, 0.0)]}))
    assert fell.rows[0].p95.word == "infx faster" and not fell.failed


def test_throughput_falling_to_nothing_reads_infinitely_slower() -> None:
    """A ratio of 0 has no finite factor: "infx", on the side the metric's direction gives."""
    assert factor_text(0.0, True) == "infx slower"
    assert factor_text(0.0, False) == "infx faster"


def test_a_spread_of_ten_percent_is_unstable_on_either_side(tmp_path: Path) -> None:
    """pyperf's rule: a std dev of 10 % of the mean or more warns, naming the run, the key, the
    metric and the share; two repeats are enough to tell, quiet repeats warn nothing."""
    spread, quiet = [(90.0, 50.0), (100.0, 50.0), (110.0, 50.0)], [(100.0, 50.0), (100.1, 50.0)]
    c = compare(*pair(tmp_path / "b", {KEY: quiet}, {KEY: spread}))
    assert [w for w in c.warnings if w.startswith("unstable")] == [
        "unstable: B uvicorn io/async cpus=1 users=10 rps std dev is 10% of the mean (>= 10%); "
        "add repeats or quiet the host"
    ]
    two = compare(*pair(tmp_path / "two", {KEY: [(100.0, 50.0), (60.0, 50.0)]}, {KEY: quiet}))
    (warned,) = [w for w in two.warnings if w.startswith("unstable")]
    assert warned.startswith("unstable: A uvicorn io/async cpus=1 users=10 rps std dev is 35%")
    still = compare(*pair(tmp_path / "quiet", {KEY: quiet}, {KEY: quiet}))
    assert not [w for w in still.warnings if w.startswith("unstable")]


def test_the_report_names_the_runs_and_the_rules_they_were_judged_by(tmp_path: Path) -> None:
    """The comparison keeps both run ids and the thresholds and alpha it used; the report's
    method line states them."""
    a, b = pair(tmp_path, {KEY: [(100.0, 50.0)]}, {KEY: [(100.0, 50.0)]})
    c = compare(a, b, threshold=0.2, p95_threshold=0.3, alpha=0.01)
    text = to_markdown(c)
    assert (
        "A = a (reference), B = b. Significant: a change of at least 20% in rps or 30% in p95"
        in text
    )
    assert "Welch's t-test p < 0.01." in text


def test_every_refusal_reason_is_named_in_the_one_line(tmp_path: Path) -> None:
    """Two host differences are both named, separated by "; ", before the hint to force."""
    host = {"host_cpu_model": "AMD EPYC 7R13", "host_cpu_count": 16}
    a, b = pair(tmp_path, {KEY: [(100.0, 50.0)]}, {KEY: [(100.0, 50.0)]}, metadata=host)
    with pytest.raises(
        CompareError, match=r"'AMD EPYC 7R13'\); host_cpu_count differs \(4 vs 16\); "
    ):
        compare(a, b)


def test_intervals_that_touch_or_cross_overlap() -> None:
    """Intervals sharing one value overlap (so the change stays unproven), in either order, as do
    intervals crossing from either side; disjoint ones do not."""
    assert intervals_overlap((90.0, 100.0), (100.0, 110.0))
    assert intervals_overlap((100.0, 110.0), (90.0, 100.0))
    assert intervals_overlap((90.0, 110.0), (100.0, 120.0))
    assert not intervals_overlap((90.0, 100.0), (101.0, 110.0))


def test_an_interval_missing_an_end_is_no_interval() -> None:
    """A repeat whose interval lacks an end (null in run.json) leaves the key without a span."""
    assert span([[98.0, 102.0], [None, 101.0]]) is None


def test_the_span_of_repeated_intervals_covers_every_repeat() -> None:
    """Repeats' intervals combine into one from the lowest low to the highest high."""
    cis = [[98.0, 102.0], (95.0, 101.0)]
    assert span(cis) == (95.0, 102.0)
    assert span([*cis, None]) is None
    assert span([]) is None


@pytest.mark.parametrize("status", ["failed", "failing", "unsteady", "harness-bound", "pending"])
def test_a_point_that_is_not_ok_in_b_is_a_failure(tmp_path: Path, status: str) -> None:
    """Any status but ok in B is listed with its reason and fails the comparison."""
    a, b = pair(
        tmp_path,
        {KEY: [(100.0, 50.0)], OTHER: [(30.0, 300.0)]},
        {KEY: [(100.0, 50.0)], OTHER: [(30.0, 300.0)]},
    )
    c = compare(a, set_status(b, "uvicorn-workers", status, "the reason given"))
    (failure,) = c.failures
    assert failure.key == OTHER and status.split("-")[0] in failure.reason
    assert c.failed and c.regressions() == [] and c.only_in_a == []
    assert "## Failures (count as regressions)\n\n- uvicorn-workers cpu/sync cpus=1 users=10: " in (
        to_markdown(c)
    )


def test_failed_repeats_are_named(tmp_path: Path) -> None:
    """With repeats, the failure names which repeat failed and why."""
    a, b = pair(
        tmp_path, {KEY: [(100.0, 50.0), (100.0, 50.0)]}, {KEY: [(100.0, 50.0), (100.0, 50.0)]}
    )
    b.points[list(b.points)[1]].status = "failed"
    b.points[list(b.points)[1]].error = "target exited"
    c = compare(a, b)
    assert [f.reason for f in c.failures] == ["repeat 2 failed: target exited"]
    assert len(c.rows) == 1  # the good repeat is still compared


def test_a_point_without_a_successful_request_is_a_failure(tmp_path: Path) -> None:
    """An "ok" point whose every request failed (rps 0) is a failure, not a dropped row."""
    a = make_run(tmp_path, "a", {KEY: [(100.0, 50.0)]})
    b = fx.write(tmp_path / "b", [fx.point(*KEY[:4], rps=0.0, p95=1.0, requests=500, failures=500)])
    c = compare(a, b)
    assert [(f.key, f.reason) for f in c.failures] == [(KEY, "no successful request")]
    assert c.rows == [] and c.failed


def test_a_point_missing_from_b_is_a_failure(tmp_path: Path) -> None:
    """A key A measured and B does not have at all counts against B; one only in B is listed."""
    only_a, only_b = Key("uvicorn", "io/async", 1.0, 80), Key("uvicorn", "io/async", 1.0, 120)
    a = {KEY: [(100.0, 50.0)], only_a: [(180.0, 40.0)]}
    b = {KEY: [(100.0, 50.0)], only_b: [(60.0, 90.0)]}
    c = compare(*pair(tmp_path, a, b))
    assert [r.key for r in c.rows] == [KEY]
    assert [f.key for f in c.failures] == [only_a] and "missing from b" in c.failures[0].reason
    assert (c.only_in_a, c.only_in_b) == ([], [only_b])
    assert "## Only in B\n\n- uvicorn io/async cpus=1 users=120" in to_markdown(c)


def test_points_not_ok_in_a_are_ignored_with_a_warning(tmp_path: Path) -> None:
    """The reference's own failed points cannot be judged against: left out, with a warning."""
    a, b = pair(
        tmp_path,
        {KEY: [(100.0, 50.0)], OTHER: [(30.0, 300.0)]},
        {KEY: [(100.0, 50.0)], OTHER: [(30.0, 300.0)]},
    )
    c = compare(set_status(a, "uvicorn-workers", "failed"), b)
    assert c.only_in_b == [OTHER] and c.failures == []
    assert "A: 1 of 2 points ignored (not ok, or no successful request)" in c.warnings


def test_nothing_in_common_is_refused(tmp_path: Path) -> None:
    """Two runs without a single shared key cannot be compared."""
    with pytest.raises(CompareError, match="no point in common"):
        compare(*pair(tmp_path, {KEY: [(100.0, 50.0)]}, {OTHER: [(100.0, 50.0)]}))


HOST_CHANGES = [("host_cpu_model", "AMD EPYC 7R13"), ("host_cpu_count", 16)]


@pytest.mark.parametrize(("key", "value"), HOST_CHANGES)
def test_different_host_is_refused_unless_forced(tmp_path: Path, key: str, value: object) -> None:
    """Another CPU model or CPU count refuses in one line; force keeps a warning."""
    a, b = pair(tmp_path, {KEY: [(100.0, 50.0)]}, {KEY: [(100.0, 50.0)]}, metadata={key: value})
    with pytest.raises(CompareError, match=key) as info:
        compare(a, b)
    assert "\n" not in str(info.value) and "FORCE=1" in str(info.value)
    c = compare(a, b, force=True)
    assert any(
        w.startswith("compared although they differ (forced)") and key in w for w in c.warnings
    )


def test_the_drivers_python_patch_release_does_not_block(tmp_path: Path) -> None:
    """The driver's Python (3.11.9 vs 3.11.12) is shown as a difference, never refused."""
    a, b = pair(
        tmp_path,
        {KEY: [(100.0, 50.0)]},
        {KEY: [(100.0, 50.0)]},
        metadata={"python_version": "3.11.12"},
    )
    c = compare(a, b)
    assert ("python_version", "3.11.9", "3.11.12") in c.differences


def test_different_target_python_is_refused(tmp_path: Path) -> None:
    """The Python inside the target container must match, variant by variant."""
    a = make_run(tmp_path, "a", {KEY: [(100.0, 50.0)]})
    points = [fx.point(*KEY[:4], runtime={**fx.RUNTIME, "python": "3.12.0"})]
    b = fx.write(tmp_path / "b", points)
    with pytest.raises(CompareError, match=r"target Python of uvicorn differs \(3.11.2 vs 3.12.0"):
        compare(a, b)
    assert compare(a, b, force=True).rows


def test_different_settings_are_refused_in_one_line_naming_them(tmp_path: Path) -> None:
    """Service time, pools, window, Locust workers and load mode differing are all named."""
    a = make_run(tmp_path, "a", {KEY: [(100.0, 50.0)]})
    changed = {
        "work_seconds": 0.5,
        "duration": 20,
        "locust_workers": 4,
        "target_env": {"WORK_SECONDS": "0.5", "THREAD_LIMIT": "64"},
    }
    b = make_run(tmp_path, "b", {KEY: [(100.0, 50.0)]}, settings=changed)
    with pytest.raises(CompareError) as info:
        compare(a, b)
    message = str(info.value)
    assert "\n" not in message
    assert (
        "settings differ: work_seconds 0.2 vs 0.5, duration 10 vs 20, locust_workers 2 vs 4, "
        "THREAD_LIMIT default vs 64;"
    ) in message
    assert compare(a, b, force=True).rows


def test_load_mode_and_arrivals_are_settings(tmp_path: Path) -> None:
    """Closed against open loop is refused; arrivals only matter to the open loop."""
    a = make_run(tmp_path, "a", {KEY: [(100.0, 50.0)]}, settings={"arrivals": "uniform"})
    b = make_run(tmp_path, "b", {KEY: [(100.0, 50.0)]}, settings={"arrivals": "poisson"})
    assert compare(a, b).rows  # both closed: arrivals are not used
    c = make_run(tmp_path, "c", {KEY: [(100.0, 50.0)]}, settings={"load": "open"})
    with pytest.raises(CompareError, match="load closed vs open"):
        compare(a, c)


def test_format_1_settings_compare_with_format_2(tmp_path: Path) -> None:
    """Format 1 keeps locust_workers beside resolved and has no load mode: still comparable."""
    a = make_run(tmp_path, "a", {KEY: [(100.0, 50.0)]})
    raw = fx.config([fx.point(*KEY[:4])])
    raw["resolved"] = {
        k: v
        for k, v in raw["resolved"].items()
        if k not in ("locust_workers", "load", "arrivals", "rates")
    }
    b = fx.write(tmp_path / "b", [fx.point(*KEY[:4], rps=100.0, p95=50.0)], raw_config=raw)
    assert compare(a, b).rows


def test_absent_metadata_is_unknown_not_different(tmp_path: Path) -> None:
    """A key missing from one run's metadata neither refuses nor shows as a difference."""
    a, b = pair(tmp_path, {KEY: [(100.0, 50.0)]}, {KEY: [(100.0, 50.0)]})
    b.metadata = {"host_cpu_count": 4}
    c = compare(a, b)
    assert c.differences == []
    assert not [w for w in c.warnings if "differ" in w]


def test_code_and_image_changes_are_recorded_not_refused(tmp_path: Path) -> None:
    """A new git sha or target image is what we measure: listed in differences, no refusal."""
    b_md = {"git_sha": "b" * 40, "images": {"target": "sha256:bbb", "locust": "sha256:lll"}}
    c = compare(*pair(tmp_path, {KEY: [(100.0, 50.0)]}, {KEY: [(100.0, 50.0)]}, metadata=b_md))
    assert c.differences == [
        ("git_sha", "a" * 40, "b" * 40),
        ("images.target", "sha256:aaa", "sha256:bbb"),
    ]
    assert "images.target: sha256:aaa (A) vs sha256:bbb (B)" in to_markdown(c)


def test_markdown_table_intervals_and_geometric_mean(tmp_path: Path) -> None:
    """The Markdown has the header, one line per key with intervals, the geometric mean."""
    a = make_run(tmp_path, "a", {KEY: [(100.0, 50.0)], OTHER: [(100.0, 50.0)]}, ci=0.01)
    b = make_run(tmp_path, "b", {KEY: [(50.0, 50.0)], OTHER: [(200.0, 50.0)]}, ci=0.01)
    text = to_markdown(compare(a, b))
    header = (
        "| variant | endpoint | cpus | load | rps A | rps B | rps change | p95 A | p95 B "
        "| p95 change |"
    )
    assert header in text
    assert (
        "| uvicorn | io/async | 1 | users=10 | 100.0 [99.0, 101.0] | 50.0 [49.5, 50.5] | "
        "2.00x slower | 50.0 ms [49.0, 51.0] |"
    ) in text
    assert "Geometric mean (rps B/A): 1.000 (no change)" in text
    assert f"a change of at least {DEFAULT_THRESHOLD:.0%}" in text


def test_html_is_self_contained_and_colours_rows(tmp_path: Path) -> None:
    """The page needs nothing external, escapes names and marks slower red, faster green."""
    a = {("<b>v</b>", "io/sleep", 1.0, 10): [(100.0, 50.0)], OTHER: [(100.0, 50.0)]}
    b = {("<b>v</b>", "io/sleep", 1.0, 10): [(50.0, 50.0)], OTHER: [(200.0, 50.0)]}
    c = compare(*pair(tmp_path, a, b))
    page = to_html(c)
    for external in ("http://", "https://", "<script", "<link", "src=", "@import"):
        assert external not in page
    assert "<b>v</b>" not in page and "&lt;b&gt;v&lt;/b&gt;" in page
    assert '<tr class="slower">' in page and '<tr class="faster">' in page
    assert "tr.slower{background:#fde2e2}" in page
    path = write(c, tmp_path / "out")
    assert path == tmp_path / "out" / "compare.html" and path.read_text() == page


def test_open_loop_keys_read_as_rates() -> None:
    """A key with a rate and no users reads "rate=150/s"; a closed-loop one "users=40"."""
    assert Key("uvicorn", "io/sync", 1.0, None, 150.0).text == "uvicorn io/sync cpus=1 rate=150/s"
    assert Key("uvicorn", "io/sync", 0.5, 40).text == "uvicorn io/sync cpus=0.5 users=40"
    assert Key("uvicorn", "io/sync", 1.0, 40) != Key("uvicorn", "io/sync", 1.0, None, 40.0)


@pytest.mark.skipif(
    "rate" not in getattr(Point, "__dataclass_fields__", {}),
    reason="points have no open-loop rate yet (format 2)",
)
def test_open_loop_points_pair_by_rate(tmp_path: Path) -> None:
    """Open-loop points of two runs pair by their rate, and a slower one is named by it."""
    a = fx.write(
        tmp_path / "a",
        [fx.point(users=None, rate=150.0, rps=150.0)],
        settings={"load": "open", "arrivals": "uniform"},
    )
    b = fx.write(
        tmp_path / "b",
        [fx.point(users=None, rate=150.0, rps=120.0)],
        settings={"load": "open", "arrivals": "uniform"},
    )
    (row,) = compare(a, b).rows
    assert row.key.text == "uvicorn io/sync cpus=1 rate=150/s" and row.regressed


def test_the_committed_baseline_still_loads_and_compares() -> None:
    """baseline/ (format 1) loads and compared with itself shows no change and no failure."""
    baseline = Run.load(ROOT / "baseline")
    c = compare(baseline, baseline)
    assert len(c.rows) == 28 and not c.failed

"""Comparing two runs: pairing by key, verdicts, significance, environment checks, rendering."""

from __future__ import annotations

from pathlib import Path

import pytest

from loadlab.compare import DEFAULT_THRESHOLD, compare, to_html, to_markdown, write
from loadlab.errors import CompareError
from loadlab.matrix import Point
from loadlab.results import Run

HOST = {"host_cpu_model": "Intel(R) Xeon(R) 8375C", "host_cpu_count": 8,
        "python_version": "3.11.9", "git_sha": "a" * 40, "lock_sha256": "1" * 64,
        "images": {"target": "sha256:aaa", "locust": "sha256:lll"}}  # fmt: skip
KEY = ("async", "io/sleep", 1.0, 10)
OTHER = ("sync", "cpu/hash", 1.0, 10)


def make_run(tmp_path: Path, name: str, samples: dict[tuple, list[tuple[float, float]]],
             metadata: dict | None = None, python: str = "3.11.2") -> Run:  # fmt: skip
    """A finished run on disk: each key's repeats given as (rps, p95_ms) pairs."""
    matrix = [Point(*key, repeat) for key, reps in samples.items()
              for repeat in range(1, len(reps) + 1)]  # fmt: skip
    run = Run.create(tmp_path / name, {"profile": "test"}, matrix)
    for point in matrix:
        rps, p95 = samples[(point.variant, point.endpoint, point.cpus, point.users)][
            point.repeat - 1
        ]
        result = run.points[point.id]
        result.status, result.runtime = "ok", {"python": python}
        result.stats = {"requests": 1000, "failures": 0, "rps": rps, "mean_ms": p95 / 2,
                        "p50_ms": p95 / 2, "p95_ms": p95, "p99_ms": p95, "max_ms": p95}  # fmt: skip
    run.metadata = {**HOST, **(metadata or {})}
    run.save()
    return Run.load(run.directory)


def pair(tmp_path: Path, a: dict, b: dict, **kwargs: object) -> tuple[Run, Run]:
    return make_run(tmp_path, "a", a), make_run(tmp_path, "b", b, **kwargs)


def test_identical_runs_have_no_change(tmp_path: Path) -> None:
    """Comparing a run with a copy of itself reports no change anywhere and no regression."""
    samples = {KEY: [(100.0, 50.0), (101.0, 51.0)], OTHER: [(30.0, 300.0)]}
    c = compare(*pair(tmp_path, samples, samples))
    assert [(r.rps.verdict, r.p95.verdict) for r in c.rows] == [("no significant change",) * 2] * 2
    assert c.regressions() == []
    assert c.geometric_mean == pytest.approx(1.0)
    assert c.only_in_a == c.only_in_b == c.differences == []


def test_halved_throughput_is_a_regression(tmp_path: Path) -> None:
    """rps dropping from 100 to 50 reads "2.00x slower" and counts as a regression."""
    c = compare(*pair(tmp_path, {KEY: [(100.0, 50.0)]}, {KEY: [(50.0, 50.0)]}))
    (row,) = c.rows
    assert row.rps.verdict == "2.00x slower"
    assert row.rps.ratio == pytest.approx(0.5)
    assert row.p95.verdict == "no significant change"
    assert c.regressions() == [row]
    assert c.geometric_mean == pytest.approx(0.5)


def test_higher_latency_alone_is_a_regression(tmp_path: Path) -> None:
    """p95 growing from 50 to 100 ms reads "2.00x slower" even when rps holds."""
    c = compare(*pair(tmp_path, {KEY: [(100.0, 50.0)]}, {KEY: [(100.0, 100.0)]}))
    assert c.rows[0].p95.verdict == "2.00x slower"
    assert c.regressions() == c.rows


def test_faster_wording(tmp_path: Path) -> None:
    """More rps and lower p95 read "faster", including a change of exactly the threshold."""
    c = compare(*pair(tmp_path, {KEY: [(100.0, 50.0)]}, {KEY: [(110.0, 37.5)]}))
    (row,) = c.rows
    assert (row.rps.verdict, row.p95.verdict) == ("1.10x faster", "1.33x faster")
    assert row.rps.faster and not row.regressed
    assert c.regressions() == []


def test_p95_has_its_own_wider_threshold(tmp_path: Path) -> None:
    """A 20 % change is significant in rps (threshold 10 %) but not in p95 (threshold 25 %)."""
    c = compare(*pair(tmp_path, {KEY: [(100.0, 50.0)]}, {KEY: [(80.0, 60.0)]}))
    (row,) = c.rows
    assert (row.rps.verdict, row.p95.verdict) == ("1.25x slower", "no significant change")
    tight = compare(*pair(tmp_path / "t", {KEY: [(100.0, 50.0)]}, {KEY: [(100.0, 60.0)]}),
                    p95_threshold=0.1)  # fmt: skip
    assert tight.rows[0].p95.verdict == "1.20x slower"


def test_one_repeat_uses_the_threshold_alone(tmp_path: Path) -> None:
    """With one repeat there is no p-value: 5 % is no change, 15 % is significant."""
    a = {KEY: [(100.0, 50.0)], OTHER: [(100.0, 50.0)]}
    b = {KEY: [(95.0, 50.0)], OTHER: [(85.0, 50.0)]}
    c = compare(*pair(tmp_path, a, b))
    small, big = c.rows
    assert small.rps.p_value is None and small.rps.verdict == "no significant change"
    assert big.rps.p_value is None and big.rps.verdict == "1.18x slower"
    assert any("fewer than 2 repeats" in w for w in c.warnings)


def test_t_test_path_needs_both_significance_and_threshold(tmp_path: Path) -> None:
    """With 3 quiet repeats a consistent 5 % drop passes the t-test but not the 10 % threshold."""
    a = {KEY: [(100.0, 50.0), (100.1, 50.0), (99.9, 50.0)],
         OTHER: [(100.0, 50.0), (100.1, 50.0), (99.9, 50.0)]}  # fmt: skip
    b = {KEY: [(95.0, 50.0), (95.1, 50.0), (94.9, 50.0)],
         OTHER: [(85.0, 50.0), (85.1, 50.0), (84.9, 50.0)]}  # fmt: skip
    c = compare(*pair(tmp_path, a, b))
    small, big = c.rows
    assert small.rps.p_value is not None and small.rps.p_value < 0.05
    assert small.rps.verdict == "no significant change"
    assert big.rps.verdict == "1.18x slower"
    lower = compare(*pair(tmp_path / "again", a, b), threshold=0.02)
    assert lower.rows[0].rps.verdict == "1.05x slower"


def test_noisy_big_change_is_not_significant(tmp_path: Path) -> None:
    """A 30 % drop in means with widely scattered repeats fails the t-test and warns unstable."""
    a = {KEY: [(100.0, 50.0), (60.0, 50.0), (140.0, 50.0)]}
    b = {KEY: [(70.0, 50.0), (110.0, 50.0), (30.0, 50.0)]}
    c = compare(*pair(tmp_path, a, b))
    (row,) = c.rows
    assert row.rps.ratio == pytest.approx(0.7)
    assert row.rps.p_value is not None and row.rps.p_value > 0.05
    assert row.rps.verdict == "no significant change"
    assert c.regressions() == []
    assert any(w.startswith("unstable: A async io/sleep cpus=1 users=10 rps") for w in c.warnings)


def test_keys_in_one_run_only_are_listed(tmp_path: Path) -> None:
    """Keys missing from either side, such as another CPU limit, are listed, not dropped."""
    only_a, only_b = ("async", "io/sleep", 2.0, 10), ("async", "io/sleep", 0.5, 10)
    a = {KEY: [(100.0, 50.0)], only_a: [(180.0, 40.0)]}
    b = {KEY: [(100.0, 50.0)], only_b: [(60.0, 90.0)]}
    c = compare(*pair(tmp_path, a, b))
    assert [r.key for r in c.rows] == [KEY]
    assert (c.only_in_a, c.only_in_b) == ([only_a], [only_b])
    text = to_markdown(c)
    assert "## Only in A\n\n- async io/sleep cpus=2 users=10" in text
    assert "## Only in B\n\n- async io/sleep cpus=0.5 users=10" in text


def test_failed_points_do_not_count(tmp_path: Path) -> None:
    """Points that are not "ok" are ignored with a warning; a key left empty is listed."""
    a, b = pair(tmp_path, {KEY: [(100.0, 50.0)], OTHER: [(30.0, 300.0)]},
                {KEY: [(100.0, 50.0)], OTHER: [(1.0, 9000.0)]})  # fmt: skip
    for result in b.points.values():
        if result.point.variant == "sync":
            result.status = "failed"
    c = compare(a, b)
    assert c.only_in_a == [OTHER]
    assert "B: 1 of 2 points ignored (failed, pending or without stats)" in c.warnings


def test_nothing_in_common_is_refused(tmp_path: Path) -> None:
    """Two runs without a single shared key cannot be compared."""
    with pytest.raises(CompareError, match="no ok point in common"):
        compare(*pair(tmp_path, {KEY: [(100.0, 50.0)]}, {OTHER: [(100.0, 50.0)]}))


HOST_CHANGES = [("host_cpu_model", "AMD EPYC 7R13"), ("host_cpu_count", 16),
                ("python_version", "3.12.1")]  # fmt: skip


@pytest.mark.parametrize(("key", "value"), HOST_CHANGES)
def test_different_host_is_refused_unless_forced(tmp_path: Path, key: str, value: object) -> None:
    """Another CPU model, CPU count or host Python refuses in one line; force keeps a warning."""
    a, b = pair(tmp_path, {KEY: [(100.0, 50.0)]}, {KEY: [(100.0, 50.0)]}, metadata={key: value})
    with pytest.raises(CompareError, match=key) as info:
        compare(a, b)
    assert "\n" not in str(info.value)
    c = compare(a, b, force=True)
    assert any(w.startswith("environment differs (forced)") and key in w for w in c.warnings)


def test_different_target_python_is_refused(tmp_path: Path) -> None:
    """The Python inside the target container must match too, variant by variant."""
    a, b = pair(tmp_path, {KEY: [(100.0, 50.0)]}, {KEY: [(100.0, 50.0)]}, python="3.12.0")
    with pytest.raises(CompareError, match=r"target Python of async differs \(3.11.2 vs 3.12.0\)"):
        compare(a, b)
    assert compare(a, b, force=True).rows


def test_absent_metadata_is_unknown_not_different(tmp_path: Path) -> None:
    """A key missing from one run's metadata neither refuses nor shows as a difference."""
    a, b = pair(tmp_path, {KEY: [(100.0, 50.0)]}, {KEY: [(100.0, 50.0)]})
    b.metadata = {"host_cpu_count": 8}
    c = compare(a, b)
    assert c.differences == []
    assert not [w for w in c.warnings if "environment" in w]


def test_code_and_image_changes_are_recorded_not_refused(tmp_path: Path) -> None:
    """A new git sha or target image is what we measure: listed in differences, no refusal."""
    b_md = {"git_sha": "b" * 40, "images": {"target": "sha256:bbb", "locust": "sha256:lll"}}
    c = compare(*pair(tmp_path, {KEY: [(100.0, 50.0)]}, {KEY: [(100.0, 50.0)]}, metadata=b_md))
    assert c.differences == [("git_sha", "a" * 40, "b" * 40),
                             ("images.target", "sha256:aaa", "sha256:bbb")]  # fmt: skip
    assert "images.target: sha256:aaa (A) vs sha256:bbb (B)" in to_markdown(c)


def test_markdown_table_and_geometric_mean(tmp_path: Path) -> None:
    """The Markdown has the table header, one line per key and the geometric-mean line."""
    a = {KEY: [(100.0, 50.0)], OTHER: [(100.0, 50.0)]}
    b = {KEY: [(50.0, 50.0)], OTHER: [(200.0, 50.0)]}
    text = to_markdown(compare(*pair(tmp_path, a, b)))
    header = ("| variant | endpoint | cpus | users | rps A | rps B | rps change | p95 A | p95 B "
              "| p95 change |")  # fmt: skip
    assert header in text
    assert "| async | io/sleep | 1 | 10 | 100.0 | 50.0 | 2.00x slower | 50.0 ms |" in text
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

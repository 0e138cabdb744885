"""history.jsonl (every night's points) and history.html (the trend page drawn from it)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from loadlab.errors import LabError
from loadlab.judge import fingerprint, history
from loadlab.judge.compare import Key
from loadlab.report import trend
from loadlab.results import PointResult
from tests.judge import runs_fixture as fx

SYNC80 = Key("uvicorn", "io/sync", 1.0, 80)


def nights(tmp_path: Path, plan: list[tuple[str, dict, dict | None]]) -> list[dict]:
    """History lines of one night per (name, metadata, Night keywords) entry."""
    lines = []
    for i, (name, metadata, marks) in enumerate(plan):
        started = f"2026-11-{10 + i:02d}T03:17:00+00:00"
        run = fx.write(tmp_path / name, fx.grid(), metadata={**metadata, "started_at": started})
        outcome = "failed" if marks else "passed"
        lines += history.entries(run, fingerprint.of(run), history.Night(outcome, **(marks or {})))
    return lines


def test_a_night_adds_one_line_per_point_with_its_intervals(tmp_path: Path) -> None:
    """Each point is a line: machine, key, status, numbers with intervals, the gate's word."""
    run = fx.write(tmp_path / "n1", fx.grid())
    fp = fingerprint.of(run)
    fresh_stats = fx.point(rps=158.0)["stats"]
    fresh = PointResult.from_json(fx.point(rps=158.0))
    night = history.Night(
        "failed",
        "n0",
        regressed={SYNC80: "rps 1.25x slower"},
        remeasured={"uvicorn__io-sync__cpus1__u80__r1": fresh},
    )
    lines = history.entries(run, fp, night)
    assert len(lines) == 8
    line = next(x for x in lines if x["point"] == "uvicorn__io-sync__cpus1__u80__r1")
    assert line["fingerprint"] == fp.id and line["machine"] == fp.label
    assert (line["variant"], line["endpoint"], line["cpus"], line["users"]) == SYNC80[:4]
    assert line["rps_ci"] == pytest.approx([200.4 * 0.99, 200.4 * 1.01])
    assert line["regressed"] == "rps 1.25x slower"
    assert line["remeasured"] == {name: fresh_stats[name] for name in history.STATS}
    assert (line["outcome"], line["reference"], line["night"]) == ("failed", "n0", "n1")


def test_append_then_load_keeps_every_night_in_order(tmp_path: Path) -> None:
    """Nights append; nothing earlier is rewritten; a missing file is an empty history."""
    path = tmp_path / "store" / "history.jsonl"
    assert history.load(path) == []
    history.append(path, [{"night": "n1"}])
    history.append(path, [{"night": "n2"}, {"night": "n2"}])
    assert [x["night"] for x in history.load(path)] == ["n1", "n2", "n2"]


def test_a_damaged_line_is_named(tmp_path: Path) -> None:
    """A line that is not JSON stops the reader with its line number."""
    path = tmp_path / "history.jsonl"
    path.write_text('{"night": "n1"}\n{"night"\n')
    with pytest.raises(LabError, match="line 2 is not JSON"):
        history.load(path)


def test_the_page_draws_one_line_per_machine_and_marks_regressions(tmp_path: Path) -> None:
    """Two machines make two coloured lines per chart; a regressed night gets a red dot."""
    lines = nights(
        tmp_path,
        [
            ("n1", {}, None),
            ("n2", {}, None),
            ("n3", {}, {"regressed": {SYNC80: "rps 1.25x slower"}}),
            ("n4", fx.HOST_Y, None),
        ],
    )
    page = trend.page(lines)
    for external in ("http://", "https://", "<script", "<link", "src=", "@import"):
        assert external not in page
    assert page.count("<svg") == 8  # 4 points x (throughput, p95)
    section = page.split("<h2>uvicorn io/sync cpus=1 users=80</h2>")[1].split("</section>")[0]
    strokes = set(
        re.findall(
            r'<polyline class="measured" points="[^"]*" fill="none" '
            r'stroke="([^"]+)"',
            section,
        )
    )
    assert strokes == {trend.PALETTE[0], trend.PALETTE[1], trend.MARK}
    assert section.count(f'fill="{trend.MARK}"') == 2  # the red dot, on both charts
    assert section.count('<line class="ci"') == 8  # whiskers: 4 nights x 2 charts
    assert "<td>failed</td>" in page and "AMD EPYC" in page


def test_failures_are_marked_at_zero(tmp_path: Path) -> None:
    """A night whose point failed has no number: its mark sits on the x axis."""
    lines = nights(tmp_path, [("n1", {}, None), ("n2", {}, {"failures": {SYNC80: "failed"}})])
    for line in lines:
        if line["night"] == "n2" and history.key(line) == SYNC80:
            line.update(status="failed", rps=None, p95_ms=None, rps_ci=None, p95_ci=None)
    cells = trend.cells(lines, {"n1": 1, "n2": 2})
    fp = lines[0]["fingerprint"]
    cell = cells[SYNC80][(fp, 2)]
    assert cell.marked and cell.values == {} and cell.spans == {}
    section = trend.page(lines).split("<h2>uvicorn io/sync cpus=1 users=80</h2>")[1]
    assert "night 2: 0.0 requests/s" in section


def test_only_the_latest_nights_are_drawn(tmp_path: Path) -> None:
    """The page keeps the last MAX_NIGHTS nights, oldest first."""
    lines = [
        {
            "night": f"n{i:03d}",
            "started_at": f"2026-01-01T{i // 60:02d}:{i % 60:02d}",
            "fingerprint": "x",
            "outcome": "passed",
        }
        for i in range(trend.MAX_NIGHTS + 5)
    ]
    kept = trend.nights(list(reversed(lines)))
    assert [n["night"] for n in kept] == [x["night"] for x in lines[5:]]


def test_render_writes_the_page_from_the_file(tmp_path: Path) -> None:
    """render() reads history.jsonl and writes history.html; an empty history says so."""
    target = trend.render(tmp_path / "none.jsonl", tmp_path / "history.html")
    assert "No night recorded yet." in target.read_text()


def test_a_line_names_its_night_commit_repeat_and_start(tmp_path: Path) -> None:
    """Each line carries the night's git sha and start time, and the point's repeat."""
    run = fx.write(tmp_path / "n1", fx.grid(), metadata={"git_sha": "f" * 40})
    lines = history.entries(run, fingerprint.of(run), history.Night("passed"))
    assert {line["git_sha"] for line in lines} == {"f" * 40}
    assert {line["started_at"] for line in lines} == {fx.METADATA["started_at"]}
    assert sorted(line["repeat"] for line in lines) == [1, 1, 1, 1, 2, 2, 2, 2]


def test_a_night_without_a_start_time_starts_at_its_first_point(tmp_path: Path) -> None:
    """Without started_at in the metadata, the night started when its earliest point did;
    with no point started either, the start is unknown (null)."""
    points = fx.grid()
    points[3]["started_at"], points[5]["started_at"] = "2026-11-20T03:20:00", "2026-11-20T03:18:00"
    run = fx.write(tmp_path / "n1", points, metadata={"started_at": None})
    lines = history.entries(run, fingerprint.of(run), history.Night("passed"))
    assert {line["started_at"] for line in lines} == {"2026-11-20T03:18:00"}
    never = fx.write(tmp_path / "n2", fx.grid(), metadata={"started_at": None})
    lines = history.entries(never, fingerprint.of(never), history.Night("passed"))
    assert {line["started_at"] for line in lines} == {None}


def test_a_point_without_statistics_has_null_numbers(tmp_path: Path) -> None:
    """A point never measured keeps its line, every number null, and no fresh numbers."""
    points = fx.grid()
    points[0].update(status="pending", stats=None)
    run = fx.write(tmp_path / "n1", points)
    lines = history.entries(run, fingerprint.of(run), history.Night("failed"))
    line = next(x for x in lines if x["point"] == points[0]["id"])
    assert line["status"] == "pending" and line["remeasured"] is None
    assert all(line[name] is None for name in history.STATS)


def test_an_open_loop_line_reads_back_as_its_key(tmp_path: Path) -> None:
    """key() of a line is the key the gate judged the point under: the rate for the open loop."""
    points = [fx.point(rate=r, users=None, repeat=1) for r in (50.0, 100.0)]
    run = fx.write(tmp_path / "open", points, settings={"load": "open"})
    lines = history.entries(run, fingerprint.of(run), history.Night("passed"))
    assert [history.key(line) for line in lines] == [
        Key("uvicorn", "io/sync", 1.0, None, 50.0),
        Key("uvicorn", "io/sync", 1.0, None, 100.0),
    ]


def test_lines_are_written_with_sorted_keys_into_a_new_folder(tmp_path: Path) -> None:
    """Whatever order a line was built in, it is written the same way (keys sorted), so the
    file diffs cleanly; the store's folders are created as needed."""
    path = tmp_path / "cache" / "store" / "history.jsonl"
    history.append(path, [{"night": "n1", "fingerprint": "x"}, {"fingerprint": "x", "night": "n1"}])
    assert path.read_text().splitlines() == ['{"fingerprint": "x", "night": "n1"}'] * 2


def test_a_history_that_cannot_be_appended_to_is_named(tmp_path: Path) -> None:
    """Appending to a path that is a folder fails in one LabError naming the history."""
    path = tmp_path / "history.jsonl"
    path.mkdir()
    with pytest.raises(LabError, match=r"cannot append to the history .*history\.jsonl"):
        history.append(path, [{"night": "n1"}])


def test_blank_lines_are_skipped_not_the_end(tmp_path: Path) -> None:
    """A blank line (a hand edit, an interrupted write) does not hide the nights after it."""
    path = tmp_path / "history.jsonl"
    path.write_text('{"night": "n1"}\n\n  \n{"night": "n2"}\n')
    assert [x["night"] for x in history.load(path)] == ["n1", "n2"]

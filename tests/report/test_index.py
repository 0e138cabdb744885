"""index.html and its charts, rendered from a small run on disk (no Docker, no Locust)."""

from __future__ import annotations

import csv
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from loadlab.measure.stats import WindowStats
from loadlab.model.predictions import Prediction
from loadlab.plan.matrix import Point
from loadlab.report import charts, index
from loadlab.report import panels as page_panels
from loadlab.report.charts import Line
from loadlab.results import SUMMARY_COLUMNS, Run

RUNTIME = {"workers": 1, "thread_limiter_tokens": 40, "work_seconds": 0.2, "python": "3.11.9"}
METADATA = {
    "git_sha": "0123abc",
    "started_at": "2024-05-01T10:00:00+00:00",
    "finished_at": "2024-05-01T10:09:00+00:00",
    "host": {"cpu_model": "Example CPU @ 3GHz", "cpu_count": 8},
    "placement_notes": ["target on cores 0-1", "locust on cores 2-7"],
}
ERROR = "locust exited with <status 1> & no stats"

IO_10 = Point("uvicorn", "io/sync", 1.0, 10, 1)
IO_10_R2 = Point("uvicorn", "io/sync", 1.0, 10, 2)
IO_40 = Point("uvicorn", "io/sync", 1.0, 40, 1)  # failed
IO_HALF = Point("uvicorn", "io/sync", 0.5, 10, 1)
CPU_10 = Point("uvicorn-workers", "cpu/sync", 1.0, 10, 1)
CPU_HALF_10 = Point("uvicorn-workers", "cpu/sync", 0.5, 10, 1)
CPU_HALF_40 = Point("uvicorn-workers", "cpu/sync", 0.5, 40, 1)  # left pending
MATRIX = [IO_HALF, CPU_HALF_10, CPU_HALF_40, IO_10, IO_10_R2, IO_40, CPU_10]


def stats(rps: float, mean_ms: float) -> WindowStats:
    return WindowStats(requests=int(rps * 6), failures=0, rps=rps, mean_ms=mean_ms,
                       p50_ms=mean_ms, p95_ms=mean_ms * 1.2, p99_ms=mean_ms * 1.5,
                       max_ms=mean_ms * 2)  # fmt: skip


def make_run(directory: Path) -> Run:
    """A run with ok, repeated, failed and pending points at two CPU limits."""
    run = Run.create(directory, {"profile": "smoke", "repeats": 2, "cpus": [0.5, 1.0]}, MATRIX)
    run.metadata = METADATA
    io = Prediction(pool=40, rps=50.0, mean_ms=200.0)
    no_model = Prediction(pool=None, rps=None, mean_ms=None)
    measured = {IO_HALF: (48.0, 205.0, io), CPU_HALF_10: (9.0, 1100.0, no_model),
                IO_10: (40.0, 240.0, io), IO_10_R2: (60.0, 160.0, io),
                CPU_10: (18.0, 550.0, no_model)}  # fmt: skip
    for point, (rps, mean_ms, prediction) in measured.items():
        result = run.points[point.id]
        result.status, result.stats, result.prediction = "ok", stats(rps, mean_ms), prediction
        result.runtime = RUNTIME
        result.locust_dir = f"locust/{point.run_key}"
        result.started_at = "2024-05-01T10:01:00+00:00"
    failed = run.points[IO_40.id]
    failed.status, failed.error = "failed", ERROR
    failed.prediction = Prediction(pool=40, rps=200.0, mean_ms=200.0)
    run.save()
    locust = run.locust_dir(IO_10)
    locust.mkdir(parents=True)
    (locust / "report.html").write_text("<html>locust</html>")
    return Run.load(directory)


@pytest.fixture
def rendered(tmp_path: Path) -> tuple[Run, str]:
    run = make_run(tmp_path / "20240501-100000-smoke")
    path = index.render(run)
    return run, path.read_text()


def panels(html: str) -> dict[str, str]:
    """The HTML of each CPU panel, keyed by its heading."""
    found = re.findall(r"<section class='panel'><h2>(.*?)</h2>(.*?)</section>", html, re.S)
    return dict(found)


def svgs(fragment: str) -> list[ET.Element]:
    return [ET.fromstring(s) for s in re.findall(r"<svg.*?</svg>", fragment, re.S)]


def polylines(svg: ET.Element, kind: str) -> list[ET.Element]:
    return [p for p in svg.iter("polyline") if p.get("class") == kind]


def table_rows(html: str) -> list[str]:
    rows = re.findall(r"<tr class='(?:ok|failed|pending)'>.*?</tr>", html, re.S)
    return [row.replace("<wbr>", "") for row in rows]


def test_render_writes_index_html_in_the_run_directory(tmp_path):
    """render() writes <run>/index.html and returns that path."""
    run = make_run(tmp_path / "run")
    assert index.render(run) == run.directory / "index.html"
    assert (run.directory / "index.html").read_text().startswith("<!doctype html>")


def test_summary_csv_is_written_with_the_summary_columns(rendered):
    """render() also writes summary.csv, headed by SUMMARY_COLUMNS, one row per finished point."""
    run, _ = rendered
    with (run.directory / "summary.csv").open(newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == SUMMARY_COLUMNS
    assert len(rows) - 1 == len(run.finished())


def test_report_is_self_contained(rendered):
    """Nothing is fetched from the network: no external src/href, no scripts, no CSS imports."""
    _, html = rendered
    assert not re.search(r"""(src|href)\s*=\s*['"]?\s*(https?:)?//""", html)
    assert "<script" not in html
    assert "@import" not in html and "url(" not in html


def test_header_shows_run_id_profile_counts_and_times(rendered):
    """The header names the run and profile, counts points by status, and gives start and end."""
    run, html = rendered
    header = html.split("</header>")[0]
    assert run.run_id in header and "smoke" in header
    assert "5 ok" in header and "1 failed" in header and "1 pending" in header
    assert METADATA["started_at"] in header and METADATA["finished_at"] in header


def test_one_panel_per_cpu_limit(rendered):
    """Each CPU limit in the matrix gets exactly one panel of charts."""
    _, html = rendered
    assert list(panels(html)) == ["CPU limit 0.5", "CPU limit 1"]


def test_every_chart_is_an_svg_with_measured_lines(rendered):
    """Each panel's charts are svg.chart elements with one measured line per series."""
    _, html = rendered
    for fragment in panels(html).values():
        found = svgs(fragment)
        assert len(found) == len(page_panels.CHARTS)
        assert all(svg.get("class") == "chart" for svg in found)
        assert all(len(polylines(svg, "measured")) == 2 for svg in found)


def test_predicted_lines_only_for_io_series(rendered):
    """Dashed model lines are drawn for the io series; the cpu series has none."""
    _, html = rendered
    for svg in svgs("".join(panels(html).values())):
        predicted = polylines(svg, "predicted")
        assert [p.findtext("title") for p in predicted] == ["uvicorn io/sync (model)"]
        assert all(p.get("stroke-dasharray") for p in predicted)


def test_series_keep_their_colour_across_charts_and_panels(rendered):
    """A series is drawn in the same colour in every chart, measured and predicted alike."""
    _, html = rendered
    colours: dict[str, set[str]] = {}
    for svg in svgs(html):
        for line in svg.iter("polyline"):
            label = line.findtext("title").removesuffix(" (model)")
            colours.setdefault(label, set()).add(line.get("stroke"))
    assert all(len(c) == 1 for c in colours.values())
    assert len({c for cs in colours.values() for c in cs}) == 2


def test_repeats_are_averaged_in_the_charts(rendered):
    """Two repeats at 40 and 60 requests/s are plotted as one point at 50."""
    _, html = rendered
    throughput = svgs(panels(html)["CPU limit 1"])[0]
    dots = [c.findtext("title") for c in throughput.iter("circle")]
    assert "uvicorn io/sync\nusers 10: 50.0 requests/s" in dots


def test_failed_and_pending_points_are_left_out_of_the_charts(rendered):
    """Only ok points are plotted: the failed point at 40 users leaves io/sync with one dot."""
    _, html = rendered
    for fragment in panels(html).values():
        for svg in svgs(fragment):
            dots = [c.findtext("title") for c in svg.iter("circle")]
            assert not any("users 40" in d for d in dots)
            measured = [c for c in svg.iter("circle") if c.get("class") == "dot"]
            assert len(measured) == 2  # one per series, at 10 users


def test_table_has_a_row_per_point_with_its_status(rendered):
    """Every point, whatever its status, has a table row showing that status."""
    run, html = rendered
    rows = table_rows(html)
    assert len(rows) == len(run.points)
    for result in run.points.values():
        (row,) = [r for r in rows if f">{result.point.id}<" in r]
        assert f"<td class='status'>{result.status}</td>" in row


def test_table_shows_measured_and_predicted_rps_and_model_error(rendered):
    """A row shows rps beside predicted_rps and the error against the model in percent."""
    _, html = rendered
    (row,) = [r for r in table_rows(html) if f">{IO_HALF.id}<" in r]
    assert "<td class='rps num'>48.0</td>" in row
    assert "<td class='predicted_rps num'>50.0</td>" in row
    assert "<td class='rps_error_pct num'>-4.0 %</td>" in row


def test_failed_point_shows_its_error_escaped(rendered):
    """A failed point's error text is shown, HTML-escaped, in a marked row."""
    _, html = rendered
    assert "locust exited with &lt;status 1&gt; &amp; no stats" in html
    assert ERROR not in html
    assert "<tr class='error'>" in html


def test_links_to_locust_reports_only_when_the_file_exists(rendered):
    """Only points whose Locust run left report.html on disk link to it, by relative path."""
    _, html = rendered
    links = re.findall(r"href='([^']*)'", html)
    assert links == [f"locust/{IO_10.run_key}/report.html"]


def test_metadata_and_config_are_listed_with_nested_keys_flattened(rendered):
    """Environment metadata and configuration appear as key/value rows, nested dicts dotted."""
    _, html = rendered
    environment = html.split("<section class='environment'>")[1]
    assert "<dt>host.cpu_model</dt><dd>Example CPU @ 3GHz</dd>" in environment
    assert "<dt>placement_notes</dt><dd>target on cores 0-1, locust on cores 2-7</dd>" in html
    assert "<dt>profile</dt><dd>smoke</dd>" in environment


def test_runtime_documents_are_folded_per_point(rendered):
    """Each measured point's /runtime document sits in a collapsed <details> in its row."""
    _, html = rendered
    (row,) = [r for r in table_rows(html) if f">{IO_HALF.id}<" in r]
    assert "<details><summary>/runtime</summary>" in row
    assert "<dt>thread_limiter_tokens</dt><dd>40</dd>" in row


def test_flatten_dots_nested_keys_and_lists_of_dicts():
    """flatten() turns nested dicts and lists of dicts into dotted keys, leaves scalars alone."""
    data = {"a": {"b": 1, "c": {"d": "x"}}, "images": [{"id": "sha256:1"}], "n": [1, 2]}
    assert index.flatten(data) == [("a.b", 1), ("a.c.d", "x"), ("images.0.id", "sha256:1"),
                                    ("n", [1, 2])]  # fmt: skip


def test_render_works_when_nothing_has_finished(tmp_path):
    """A run whose points are all pending still renders, with empty charts saying so."""
    run = Run.create(tmp_path / "run", {"profile": "smoke"}, [IO_10, CPU_10])
    html = index.render(Run.load(run.directory)).read_text()
    assert "no finished points" in html
    assert len(table_rows(html)) == 2


# charts.line_chart on its own


def chart(*lines: Line, **kwargs) -> ET.Element:
    svg = charts.line_chart(lines, title="t", x_label="users", y_label="ms", **kwargs)
    return ET.fromstring(svg)


def coords(line: ET.Element) -> list[tuple[float, float]]:
    return [tuple(map(float, pair.split(","))) for pair in line.get("points").split()]


def test_line_chart_scales_coordinates_linearly():
    """Data points in proportion stay in proportion on screen; higher values are drawn higher."""
    svg = chart(Line("a", [(0, 0), (5, 50), (10, 100)], "#123456"))
    (start, middle, end), *_ = [coords(p) for p in polylines(svg, "measured")]
    assert middle == ((start[0] + end[0]) / 2, (start[1] + end[1]) / 2)
    assert end[0] > start[0] and end[1] < start[1]


def test_line_chart_y_axis_starts_at_zero():
    """A value of 0 sits on the x axis even when every plotted value is far from 0."""
    svg = chart(Line("a", [(10, 0), (20, 900)], "#123456"), Line("b", [(10, 800)], "#654321"))
    axis_y = {float(ln.get("y1")) for ln in svg.iter("line") if ln.get("class") == "axis"}
    (first, _), *_ = [coords(p) for p in polylines(svg, "measured")]
    assert first[1] == max(axis_y)
    ticks = [t.text for t in svg.iter("text") if t.get("class") == "tick"]
    assert ticks[0] == "0" and "1000" in ticks


def test_line_chart_draws_predicted_lines_dashed_and_measured_solid():
    """dashed=True gives class="predicted" and a dash pattern, in the line's own colour."""
    svg = chart(Line("a", [(1, 1), (2, 2)], "#abcdef"), Line("a", [(1, 2)], "#abcdef", dashed=True))
    (measured,) = polylines(svg, "measured")
    (predicted,) = polylines(svg, "predicted")
    assert measured.get("stroke-dasharray") is None
    assert predicted.get("stroke-dasharray") == charts.DASH
    assert measured.get("stroke") == predicted.get("stroke") == "#abcdef"


def test_line_chart_puts_a_tooltip_on_each_measured_point():
    """Each measured point is a dot whose <title> gives the label, x and y."""
    svg = chart(Line("uvicorn io/sync", [(10, 49.96)], "#000"))
    (dot,) = svg.iter("circle")
    assert dot.findtext("title") == "uvicorn io/sync\nusers 10: 50.0 ms"


def test_line_chart_marks_a_lone_predicted_point():
    """A prediction at a single x still shows, as a hollow marker with its value as tooltip."""
    svg = chart(Line("a", [(10, 200)], "#abcdef", dashed=True))
    (ring,) = svg.iter("circle")
    assert ring.get("class") == "model-dot" and ring.get("stroke") == "#abcdef"
    assert ring.findtext("title") == "a (model)\nusers 10: 200.0 ms"


def test_line_chart_legend_lists_each_label_once():
    """With legend=True each label appears once, however many lines share it."""
    svg = chart(Line("a", [(1, 1)], "#111"), Line("a", [(1, 2)], "#111", True), legend=True)
    texts = [t.text for t in svg.iter("text")]
    assert texts.count("a") == 1


def test_line_chart_escapes_labels():
    """Labels and titles are escaped, so the SVG stays well-formed whatever they contain."""
    svg = chart(Line("<a & b>", [(1, 1)], "#111"), legend=True)
    assert "<a & b>" in [t.text for t in svg.iter("text")]


@pytest.mark.parametrize(
    ("largest", "ticks"),
    [(100, [0, 20, 40, 60, 80, 100]), (120, [0, 25, 50, 75, 100, 125]),
     (0.9, [0, 0.2, 0.4, 0.6, 0.8, 1.0]), (0, [0, 0.2, 0.4, 0.6, 0.8, 1.0])],
)  # fmt: skip
def test_nice_ticks_cover_the_largest_value_in_round_steps(largest, ticks):
    """Ticks run from 0 past the largest value in steps of 1, 2, 2.5 or 5 times a power of 10."""
    assert charts.nice_ticks(largest) == ticks


def test_runs_with_two_limits_get_the_view_across_limits(rendered):
    """A run under 0.5 and 1 CPU has the across-limits section, a sentence per series."""
    _, html = rendered
    section = re.search(r"<section class='panel across'>(.*?)</section>", html, re.S)
    assert section and "CPU limit (cores)" in section.group(1)
    assert section.group(1).count("<li>") >= 1 and "from 0.5 to 1 CPU" in section.group(1)


def test_a_limit_that_shares_the_cores_with_locust_says_so(tmp_path):
    """Where the limit needed every core, the panel warns that the target could not have it
    all; a panel whose Locust ran apart carries no such warning."""
    run = make_run(tmp_path / "run")
    run.points[IO_10.id].placement = {"cpus": 1.0, "target_cpuset": "0", "locust_cpuset": "0",
                                      "shared": True}  # fmt: skip
    run.points[IO_HALF.id].placement = {"cpus": 0.5, "target_cpuset": "0", "locust_cpuset": "1",
                                        "shared": False}  # fmt: skip
    run.save()
    found = panels(index.render(Run.load(run.directory)).read_text())
    assert "shared CPUs 0 with the target" in found["CPU limit 1"]
    assert "shared CPUs" not in found["CPU limit 0.5"]


# The open loop's panel: the hockey stick with its overloaded step.

OPEN_POINTS = {100.0: "ok", 150.0: "unsteady", 250.0: "overloaded"}


def open_run(directory: Path) -> Run:
    """uvicorn-limiter io/sync at 100/s (ok), 150/s (unsteady) and 250/s (overloaded)."""
    matrix = [Point("uvicorn-limiter", "io/sync", 1.0, None, 1, rate) for rate in OPEN_POINTS]
    run = Run.create(directory, {"profile": "open", "load": "open"}, matrix)
    for point in matrix:
        result = run.points[point.id]
        result.status = OPEN_POINTS[point.rate]
        rps = min(point.rate, 186.0)
        result.stats = WindowStats(requests=int(rps * 10), failures=0, rps=rps,
                                   rps_ci=(rps - 2, rps + 2), offered_rate=point.rate,
                                   sent_rate=point.rate, dropped=0, p50_ms=200.0,
                                   p99_ms=5000.0 if point.rate > 200 else 210.0,
                                   duration=10.0)  # fmt: skip
    run.save()
    return Run.load(directory)


def test_the_open_panel_draws_overloaded_points_as_rings_and_leaves_unsteady_out(tmp_path):
    """The 250/s overloaded step is drawn, at the 186/s it reached, as a ring named in its
    tooltip; the unsteady 150/s step is left out and counted; the legend explains the ring."""
    html = index.render(open_run(tmp_path / "open")).read_text()
    (panel,) = panels(html).values()
    throughput = svgs(panel)[0]
    circles = [(c.get("class"), c.findtext("title")) for c in throughput.iter("circle")]
    assert ("dot overloaded", "uvicorn-limiter io/sync\noffered requests/s 250: 186.0 "
            "requests/s\noverloaded") in circles  # fmt: skip
    assert ("dot", "uvicorn-limiter io/sync\noffered requests/s 100: 100.0 requests/s") in circles
    assert not any("offered requests/s 150" in title for _, title in circles)
    assert re.search(r"Not in these charts: (.*?) \(see", panel).group(1) == "1 unsteady"
    assert "<span class='ring'></span>overloaded" in panel


def test_the_header_counts_overloaded_points_apart_from_the_untrusted(tmp_path):
    """The header has an overloaded chip, and its warning counts only the unsteady point as
    not ok: an overloaded point is a result."""
    header = index.render(open_run(tmp_path / "open")).read_text().split("</header>")[0]
    assert "<span class='chip overloaded'>1 overloaded</span>" in header
    assert "1 point(s) are not ok" in header and "1 point(s) overloaded" in header


def test_the_calibration_the_models_took_is_shown_beside_their_error(tmp_path):
    """The model error section lists each measured input: an I/O service time at low load
    against the time asked for, with its range and spread."""
    from loadlab.model.calibration import ServiceTime
    from loadlab.model.predictions import prediction

    run = make_run(tmp_path / "20240501-100000-cal")
    result = run.points[IO_HALF.id]
    runtime = result.runtime or {"workers": 1, "thread_limiter_tokens": 40, "work_seconds": 0.1}
    measured = ServiceTime(0.1016, (0.1012, 0.1016, 0.1030))
    plan = type("Plan", (), {"arrivals": "uniform"})
    result.prediction = prediction(result.point, runtime, result.stats, plan, None, measured)
    html = index.page(run)
    section = html.split("<section class='model-error'>")[1].split("</section>")[0]
    assert "The models' calibration" in section
    assert "<td>service time at low load</td><td>101.60 ms</td>" in section
    asked = f"<td>{runtime['work_seconds'] * 1000:.2f} ms</td>"  # the nominal S, beside it
    assert f"<td>101.20-103.00 ms</td><td>1.8 %</td><td>3</td>{asked}" in section

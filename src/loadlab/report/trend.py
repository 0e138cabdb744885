"""history.html: each point's throughput and p95 across nights, one line per machine.

Rendered from history.jsonl alone, like index.html from run.json: one self-contained file
(inline CSS and SVG, no scripts, nothing fetched) that the nightly uploads with its artifact.
The x axis is the night's number in the history, shared by every chart of the page, so a
night lines up across points and machines. Repeats of a point are averaged; whiskers are the
span of their 95 % intervals where recorded; a red dot marks a regression or a failure (a
failure with no number sits at 0).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from html import escape
from pathlib import Path
from statistics import fmean

from loadlab.judge import history
from loadlab.judge.keys import Key
from loadlab.report import charts
from loadlab.report.charts import Frame, Line, nice_ticks

# Tableau 10 as in index.html (distinct, readable with the common colour-vision deficiencies)
# without its red, which marks regressions here.
PALETTE = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
)
MAX_NIGHTS = 90  # about three months: longer and the dots of a night merge on a 440 px chart
MARK = "#d00000"
MARK_LABEL = "regression or failure"
METRICS = (("Throughput", "rps", "rps_ci", "requests/s"), ("p95 latency", "p95_ms", "p95_ci", "ms"))


@dataclass(frozen=True)
class Cell:
    """One key on one night: the repeats averaged, the intervals spanned, the verdict's mark."""

    values: dict[str, float]  # metric -> mean of the ok repeats
    spans: dict[str, tuple[float, float]]  # metric -> (lowest low, highest high)
    marked: bool


def nights(lines: list[dict]) -> list[dict]:
    """One summary per night, oldest first, the last MAX_NIGHTS of them."""
    found: dict[str, dict] = {}
    for line in lines:
        night = found.setdefault(line["night"], {**line, "regressions": set(), "failures": set()})
        if line.get("regressed"):
            night["regressions"].add(history.key(line))
        if line.get("failure"):
            night["failures"].add(history.key(line))
    ordered = sorted(found.values(), key=lambda n: (n.get("started_at") or "", n["night"]))
    return ordered[-MAX_NIGHTS:]


def cells(lines: list[dict], numbers: dict[str, int]) -> dict[Key, dict[tuple[str, int], Cell]]:
    """key -> (fingerprint, night number) -> Cell."""
    grouped: dict[Key, dict[tuple[str, int], list[dict]]] = defaultdict(lambda: defaultdict(list))
    for line in lines:
        if line["night"] in numbers:
            grouped[history.key(line)][(line["fingerprint"], numbers[line["night"]])].append(line)
    return {
        key: {where: _cell(found) for where, found in by_night.items()}
        for key, by_night in grouped.items()
    }


def _cell(lines: list[dict]) -> Cell:
    ok = [line for line in lines if line.get("status") == "ok"]
    values, spans = {}, {}
    for _, metric, ci, _ in METRICS:
        measured = [line[metric] for line in ok if line.get(metric) is not None]
        if measured:
            values[metric] = fmean(measured)
        intervals = [line.get(ci) for line in ok]
        if intervals and all(isinstance(i, list) and len(i) == 2 for i in intervals):
            spans[metric] = (min(i[0] for i in intervals), max(i[1] for i in intervals))
    marked = any(line.get("regressed") or line.get("failure") for line in lines)
    return Cell(values, spans, marked)


def page(lines: list[dict]) -> str:
    ordered = nights(lines)
    numbers = {night["night"]: i for i, night in enumerate(ordered, 1)}
    machines = list(dict.fromkeys(n["fingerprint"] for n in ordered))
    colours = {fp: _colour(i) for i, fp in enumerate(machines)}
    labels = {n["fingerprint"]: n.get("machine") or n["fingerprint"] for n in ordered}
    sections = [
        _section(key, by_night, colours, labels) for key, by_night in cells(lines, numbers).items()
    ]
    body = [
        "<h1>Nightly history</h1>",
        f"<p class='how'>{HOW_TO_READ}</p>",
        _machines(ordered, colours, labels),
        _nights(ordered, numbers, colours),
        *(sections or ["<p>No night recorded yet.</p>"]),
    ]
    return (
        "<!doctype html>\n<html lang='en'><head><meta charset='utf-8'>\n"
        "<title>loadlab nightly history</title>\n"
        f"<style>{STYLE}{charts.STYLE}</style></head>\n<body>\n"
        + "\n".join(body)
        + "\n</body></html>\n"
    )


def render(history_path: Path, target: Path) -> Path:
    """Write the page for the history at ``history_path`` into ``target``."""
    target.write_text(page(history.load(history_path)), encoding="utf-8")
    return target


def _section(
    key: Key, by_night: dict[tuple[str, int], Cell], colours: dict[str, str], labels: dict[str, str]
) -> str:
    figures = [_chart(spec, by_night, colours, labels) for spec in METRICS]
    return (
        f"<section><h2>{escape(key.text)}</h2><div class='charts'>{''.join(figures)}"
        "</div></section>"
    )


def _chart(
    spec: tuple[str, str, str, str],
    by_night: dict[tuple[str, int], Cell],
    colours: dict[str, str],
    labels: dict[str, str],
) -> str:
    title, metric, _, unit = spec
    lines = []
    for fp, colour in colours.items():
        points = [
            (n, c.values[metric])
            for (f, n), c in sorted(by_night.items())
            if f == fp and metric in c.values
        ]
        lines.append(Line(labels[fp], points, colour))
    # One line per mark: a polyline through all of them would read as a series of its own.
    lines += [
        Line(MARK_LABEL, [(n, c.values.get(metric, 0.0))], MARK)
        for (_, n), c in sorted(by_night.items())
        if c.marked
    ]
    svg = charts.line_chart(lines, title=title, x_label="night", y_label=unit)
    bars = [(n, c.spans[metric]) for (_, n), c in by_night.items() if metric in c.spans]
    return _with_whiskers(svg, lines, bars)


def _with_whiskers(svg: str, lines: list[Line], bars: list[tuple[int, tuple[float, float]]]) -> str:
    """Add the intervals as vertical whiskers, in line_chart's own frame (clipped to it)."""
    if not bars:
        return svg
    drawn = [line for line in lines if line.points]
    x_max = nice_ticks(max((x for ln in drawn for x, _ in ln.points), default=0))[-1]
    y_max = nice_ticks(max((y for ln in drawn for _, y in ln.points), default=0))[-1]
    frame = Frame(x_max, y_max)
    marks = [
        f'<line class="ci" x1="{frame.x(n)}" x2="{frame.x(n)}" '
        f'y1="{frame.y(min(low, y_max))}" y2="{frame.y(min(high, y_max))}"/>'
        for n, (low, high) in sorted(bars)
    ]
    head, _, _ = svg.rpartition("</svg>")
    return head + "\n".join(marks) + "\n</svg>"


def _machines(ordered: list[dict], colours: dict[str, str], labels: dict[str, str]) -> str:
    counts: dict[str, int] = defaultdict(int)
    for night in ordered:
        counts[night["fingerprint"]] += 1
    rows = "".join(
        f"<tr><td><span class='swatch' style='border-color:{colours[fp]}'></span>"
        f"<code>{escape(fp)}</code></td><td>{escape(labels[fp])}</td>"
        f"<td class='num'>{counts[fp]}</td></tr>"
        for fp in colours
    )
    return (
        "<section><h2>Machines</h2><table><tr><th>fingerprint</th><th>machine</th>"
        f"<th>nights</th></tr>{rows}</table></section>"
    )


def _nights(ordered: list[dict], numbers: dict[str, int], colours: dict[str, str]) -> str:
    rows = []
    for night in reversed(ordered):
        problems = len(night["regressions"] | night["failures"])
        sha = (night.get("git_sha") or "")[:10]
        rows.append(
            f"<tr class='{escape(night['outcome'])}'><td class='num'>{numbers[night['night']]}"
            f"</td><td><code>{escape(night['night'])}</code></td>"
            f"<td>{escape(night.get('started_at') or '')}</td>"
            f"<td><span class='swatch' style='border-color:{colours[night['fingerprint']]}'>"
            f"</span><code>{escape(night['fingerprint'])}</code></td><td><code>{escape(sha)}"
            f"</code></td><td>{escape(night['outcome'])}</td><td class='num'>{problems}</td></tr>"
        )
    return (
        "<section><h2>Nights</h2><table><tr><th>#</th><th>run</th><th>started</th>"
        "<th>machine</th><th>git</th><th>gate</th><th>regressed or failed keys</th></tr>"
        f"{''.join(rows)}</table></section>"
    )


def _colour(index: int) -> str:
    if index < len(PALETTE):
        return PALETTE[index]
    return f"hsl({index * 137.508 % 360:.0f}, 60%, 42%)"


HOW_TO_READ = """\
One section per point (variant, endpoint, CPU limit, load), throughput and p95 latency against
the night's number. One line per machine fingerprint (host CPU, granted CPU limits, target
Python and libraries, lab settings): nights on different machines are never judged against
each other, so their lines are apart too. Repeats are averaged; the grey whiskers are the 95 %
confidence intervals where the run recorded them; a red dot marks a night whose gate found a
regression or a failure at that point (a failure without a number is drawn at 0)."""

STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; color: #222; margin: 24px auto; max-width: 1800px;
       padding: 0 16px; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 16px; margin: 18px 0 6px; }
.how { max-width: 62em; background: #f6f8fa; padding: 10px 14px; border-radius: 6px; }
.charts { display: flex; flex-wrap: wrap; gap: 8px 16px; }
table { border-collapse: collapse; font-size: 12px; }
th, td { padding: 3px 8px; border-bottom: 1px solid #eee; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.failed td { background: #fdecec; } tr.recorded td { background: #eef5ff; }
.swatch { display: inline-block; width: 20px; margin-right: 6px; vertical-align: middle;
          border-top: 3px solid; }
svg.chart line.ci { stroke: #888; stroke-width: 1.2; }
"""

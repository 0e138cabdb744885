"""index.html for a run directory: charts per CPU limit, every point in a table, the metadata.

Rendered from run.json alone (``Run.load``), so a report can be re-rendered at any time,
including for an interrupted run: failed and pending points are listed in the table but kept
out of the charts, where a missing point is honest and a zero would be a lie. The page is one
self-contained file (inline CSS and SVG, no scripts) so it can be attached, archived, opened
offline.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from html import escape
from pathlib import Path
from statistics import fmean
from urllib.parse import quote

from loadlab.judge import across
from loadlab.measure.status import STATUSES
from loadlab.report import charts
from loadlab.report.charts import Line
from loadlab.results import SUMMARY_COLUMNS, PointResult, Run

Series = tuple[str, str]  # (variant, endpoint)

# Tableau 10: distinct, and still distinguishable for the common colour-vision deficiencies.
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
           "#7f7f7f", "#bcbd22", "#17becf")  # fmt: skip

# (title, key in stats, key in prediction, y label, key of the 95 % interval). The model
# predicts a mean only; on the percentile charts it is a reference line, not a prediction.
CHARTS = (
    ("Throughput", "rps", "rps", "requests/s", "rps_ci"),
    ("Mean latency", "mean_ms", "mean_ms", "ms", "mean_ci"),
    ("p50 latency", "p50_ms", "mean_ms", "ms", None),
    ("p95 latency", "p95_ms", "mean_ms", "ms", "p95_ci"),
    ("p99 latency", "p99_ms", "mean_ms", "ms", None),
)

# The open loop (x: offered requests/s): the hockey stick. (title, measured, dotted second
# measurement, model key, unit, interval key)
OPEN_CHARTS = (
    ("Throughput", "rps", None, "rps", "requests/s", "rps_ci"),
    ("p50 latency (dotted: from the actual send)", "p50_ms", "p50_uncorrected_ms", "p50_ms",
     "ms", None),
    ("p99 latency (dotted: from the actual send)", "p99_ms", "p99_uncorrected_ms", "p99_ms",
     "ms", None),
    ("Dropped sends", "dropped", None, None, "sends", None),
)  # fmt: skip

OPEN_HOW_TO_READ = """\
Open-loop panels (x: the offered rate, requests a second across all workers, sent at intended
times whatever the answers do). Latency is measured from the <i>intended</i> send time, what a
user of the service sees; the dotted line is the same from the actual send, what a closed-loop
tool would report. Dashed lines are the open-loop model: below the pool's capacity P/S the
throughput equals the offered rate and (uniform arrivals) latency is S, Poisson arrivals queue
as M/D/c (exact, Crommelin/Franx); above capacity the throughput flattens at P/S (the capacity
line) and the backlog grows at (rate - P/S) a second, so latency climbs through the window:
such points never settle and are drawn but marked unsteady in the table. Dropped sends are
requests the in-flight cap (MAX_IN_FLIGHT) refused."""

HOW_TO_READ = """\
Each panel is one CPU limit (the container's CPU quota). Solid lines with dots are measured:
the mean of the repeats at each user count; hover a dot for its value. Dashed lines in the same
colour are the closed-loop queueing model: U users with no think time, served by a pool of P
threads (read from /runtime in the container) whose work takes S seconds, complete
<b>throughput = min(U, P) / S</b> requests a second, and by Little's law each request spends
<b>mean latency = U / throughput</b>. Where a measured line leaves its dashed line, something
other than the pool is the bottleneck (CPU, the event loop, load shedding). For the /cpu
endpoints the dashed line is the CPU model: min(quota, cores, processes, users) / the CPU one
request costs the container (measured before the run). Background and health series have no
model; on the percentile charts the dashed line is the model's <i>mean</i>, for reference.
Vertical bars are 95 % confidence intervals (batch means over the window). Each window starts
where the measured series settled (MSER-5 and one full turnover of the users), never where the
model says. Only <i>ok</i> points
are drawn: failed, failing, harness-bound, unsteady and pending points are in the table below
with the reason."""


def render(run: Run) -> Path:
    """Write summary.csv and index.html into the run directory; return index.html's path."""
    run.write_summary()
    path = run.directory / "index.html"
    path.write_text(page(run), encoding="utf-8")
    return path


def page(run: Run) -> str:
    colours = series_colours(run)
    limits = sorted({r.point.cpus for r in run.points.values()})
    panels = [_panel(run, cpus, colours) for cpus in limits]
    body = "\n".join([_header(run), f"<p class='how'>{HOW_TO_READ}</p>", _across(run, colours),
                      *panels, _table(run), _environment(run)])  # fmt: skip
    return (
        "<!doctype html>\n<html lang='en'><head><meta charset='utf-8'>\n"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>\n"
        f"<title>loadlab {escape(run.run_id)}</title>\n"
        f"<style>{STYLE}{charts.STYLE}</style></head>\n<body>\n{body}\n</body></html>\n"
    )


def series_colours(run: Run) -> dict[Series, str]:
    """One colour per series, in matrix order, the same in every chart of the page."""
    found = dict.fromkeys(_series(r) for r in run.points.values())
    return {s: _colour(i) for i, s in enumerate(found)}


def _colour(index: int) -> str:
    if index < len(PALETTE):
        return PALETTE[index]
    # Beyond the palette, golden-angle hues keep neighbouring series apart.
    return f"hsl({index * 137.508 % 360:.0f}, 60%, 42%)"


def _header(run: Run) -> str:
    counts = Counter(r.status for r in run.points.values())
    chips = " ".join(f"<span class='chip {s}'>{counts[s]} {s}</span>" for s in STATUSES)
    started, finished = _span(run)
    facts = [("profile", run.config.get("profile")), ("started", started),
             ("finished", finished), ("points", len(run.points))]  # fmt: skip
    eff = run.metadata.get("efficiency") or {}
    if eff.get("overhead") is not None:
        facts.append(("measured", f"{eff['measured_s']:.0f} s of {eff['wall_s']:.0f} s "
                                  f"(overhead {eff['overhead']:.0%})"))  # fmt: skip
    line = " · ".join(f"{k} <b>{escape(_plain(v))}</b>" for k, v in facts)
    note = ""
    untrusted = sum(n for status, n in counts.items() if status not in ("ok", "pending"))
    if untrusted:
        note += (f"<p class='warn'>{untrusted} point(s) are not ok: their numbers are shown in "
                 "the table with the reason, never as results.</p>")  # fmt: skip
    if counts["pending"]:
        note += (
            "<p class='warn'>Some points are still pending: the run was interrupted or is "
            "in progress. Resume it to fill them in.</p>"
        )
    return (
        f"<header><h1>Run <code>{escape(run.run_id)}</code></h1>\n<p>{line}</p>\n"
        f"<p>{chips}</p>{note}</header>"
    )


def _span(run: Run) -> tuple[str | None, str | None]:
    """Start and end from the metadata, else from the points (an interrupted run has no end)."""
    starts = [r.started_at for r in run.points.values() if r.started_at]
    ends = [r.finished_at for r in run.points.values() if r.finished_at]
    started = run.metadata.get("started_at") or min(starts, default=None)
    finished = run.metadata.get("finished_at")
    if not finished and not any(r.status == "pending" for r in run.points.values()):
        finished = max(ends, default=None)
    return started, finished


def _panel(run: Run, cpus: float, colours: dict[Series, str]) -> str:
    results = [r for r in run.points.values() if r.point.cpus == cpus]
    series = list(dict.fromkeys(_series(r) for r in results))
    if any(r.point.rate is not None for r in results):
        return _open_panel(results, series, cpus, colours)
    ok = [r for r in results if r.status == "ok"]
    figures = "\n".join(_chart(ok, series, colours, spec) for spec in CHARTS)
    left_out = Counter(r.status for r in results if r.status != "ok")
    note = ", ".join(f"{n} {status}" for status, n in left_out.items())
    note = f"<p class='warn'>Not in these charts: {note} (see the table).</p>" if note else ""
    note += _shared_note(results)
    return (
        f"<section class='panel'><h2>CPU limit {cpus:g}</h2>\n"
        f"{_legend(series, colours)}{note}\n<div class='charts'>{figures}</div></section>"
    )


def _shared_note(results: list[PointResult]) -> str:
    """A warning when this limit needed every core, so Locust ran on the target's cores."""
    shared = [r.placement for r in results if r.placement and r.placement.get("shared")]
    if not shared:
        return ""
    return (f"<p class='warn'>The load generator shared CPUs {shared[0]['locust_cpuset']} with "
            "the target (this host has too few cores to keep them apart at this limit): the "
            "target could not have the whole limit, and a CPU-bound series falls short of "
            "it.</p>")  # fmt: skip


ACROSS_CHARTS = (
    ("Saturation throughput", "rps", "requests/s"),
    ("p99 latency at saturation", "p99_ms", "ms"),
    ("Target CPU used (dashed: the limit)", "cpu_cores", "cores"),
    ("Throttled CFS periods", "throttled_pct", "%"),
)


def _across(run: Run, colours: dict[Series, str]) -> str:
    """The CPU limit on the x-axis: what it changed, per series (runs with 2+ limits only)."""
    found = across.across_limits(run)
    if not found:
        return ""
    figures = []
    for title, key, unit in ACROSS_CHARTS:
        lines = []
        for a in found:
            points = [(at.cpus, getattr(at, key)) for at in a.limits
                      if getattr(at, key) is not None]  # fmt: skip
            errors = [(at.cpus, *at.rps_ci) for at in a.limits if at.rps_ci] if key == "rps" else []
            lines.append(Line(_label(a.series), points, colours[a.series], False, errors))
            if key == "cpu_cores":
                limit = [(at.cpus, at.cpus) for at in a.limits]
                lines.append(Line(_label(a.series), limit, colours[a.series], True))
        figures.append(charts.line_chart(lines, title=title, x_label="CPU limit (cores)",
                                         y_label=unit))  # fmt: skip
    sentences = "".join(f"<li>{escape(a.sentence)}</li>" for a in found)
    return (
        "<section class='panel across'><h2>Across CPU limits</h2>\n"
        "<p class='how'>Each series at its saturation point (its highest throughput at any load) "
        "under each CPU limit, ok points only; CPU used and throttling from the target's cgroup "
        f"over the same window.</p><ul class='verdicts'>{sentences}</ul>\n"
        f"<div class='charts'>{''.join(figures)}</div></section>"
    )


def _open_panel(results: list[PointResult], series: list[Series], cpus: float,
                colours: dict[Series, str]) -> str:  # fmt: skip
    # Beyond capacity no point settles: the hockey stick needs them, marked in the table.
    drawn = [r for r in results if r.stats and r.status in ("ok", "unsteady")]
    figures = []
    for title, key, second, model_key, unit, interval in OPEN_CHARTS:
        lines = []
        for s in series:
            mine = [r for r in drawn if _series(r) == s]
            errors = _intervals(mine, interval) if interval else []
            lines.append(Line(_label(s), _averaged(mine, "stats", key), colours[s], False, errors))
            if second:
                lines.append(Line(_label(s), _averaged(mine, "stats", second), colours[s],
                                  dotted=True))  # fmt: skip
            if model_key:
                lines.append(Line(_label(s), _averaged(mine, "prediction", model_key),
                                  colours[s], True))  # fmt: skip
        figures.append(charts.line_chart(lines, title=title, x_label="offered requests/s",
                                         y_label=unit))  # fmt: skip
    left_out = Counter(r.status for r in results if r not in drawn)
    note = ", ".join(f"{n} {status}" for status, n in left_out.items())
    note = f"<p class='warn'>Not in these charts: {note} (see the table).</p>" if note else ""
    return (
        f"<section class='panel'><h2>CPU limit {cpus:g}, open loop</h2>\n"
        f"<p class='how'>{OPEN_HOW_TO_READ}</p>{_legend(series, colours)}{note}\n"
        f"<div class='charts'>{''.join(figures)}</div></section>"
    )


def _chart(ok: list[PointResult], series: list[Series], colours: dict[Series, str],
           spec: tuple[str, str, str, str, str | None]) -> str:  # fmt: skip
    title, measured, predicted, unit, interval = spec
    lines = []
    for s in series:
        mine = [r for r in ok if _series(r) == s]
        errors = _intervals(mine, interval) if interval else []
        lines.append(Line(_label(s), _averaged(mine, "stats", measured), colours[s], False, errors))
        lines.append(Line(_label(s), _averaged(mine, "prediction", predicted), colours[s], True))
    return charts.line_chart(lines, title=title, x_label="users", y_label=unit)


def _averaged(results: list[PointResult], source: str, key: str) -> list[tuple[float, float]]:
    """(users or rate, value) with repeats averaged; points without the value are left out."""
    by_users: dict[float, list[float]] = defaultdict(list)
    for r in results:
        value = (getattr(r, source) or {}).get(key)
        if value is not None:
            by_users[r.point.level].append(value)
    return [(users, fmean(values)) for users, values in sorted(by_users.items())]


def _intervals(results: list[PointResult], key: str) -> list[tuple[float, float, float]]:
    """(users, low, high) per user count, repeats' bounds averaged; points without one left out."""
    by_users: dict[float, list[tuple[float, float]]] = defaultdict(list)
    for r in results:
        ci = (r.stats or {}).get(key)
        if ci:
            by_users[r.point.level].append((ci[0], ci[1]))
    return [(users, fmean(lo for lo, _ in cis), fmean(hi for _, hi in cis))
            for users, cis in sorted(by_users.items())]  # fmt: skip


def _legend(series: list[Series], colours: dict[Series, str]) -> str:
    items = [
        f"<li><span class='swatch' style='border-color:{colours[s]}'></span>"
        f"{escape(_label(s))}</li>"
        for s in series
    ]
    items.append("<li><span class='swatch dashed'></span>model prediction</li>")
    return f"<ul class='legend'>{''.join(items)}</ul>"


def _table(run: Run) -> str:
    # <wbr>: long names may break after an underscore, keeping the table within the window.
    head = "".join(f"<th>{_breakable(c, '_')}</th>" for c in SUMMARY_COLUMNS)
    rows = "\n".join(_row(run, r) for r in run.points.values())
    return (
        f"<section><h2>Points</h2><div class='scroll'><table class='points'>\n"
        f"<thead><tr>{head}</tr></thead>\n<tbody>\n{rows}\n</tbody>"
        "</table></div></section>"
    )


def _row(run: Run, result: PointResult) -> str:
    row = result.summary_row()
    cells = "".join(_cell(run, result, column, row[column]) for column in SUMMARY_COLUMNS)
    out = f"<tr class='{escape(result.status)}'>{cells}</tr>"
    reason = result.error or "; ".join(result.flags)
    if reason:
        span = len(SUMMARY_COLUMNS)
        out += (
            f"\n<tr class='error'><td colspan='{span}'>{escape(result.point.id)} "
            f"({escape(result.status)}): {escape(reason)}</td></tr>"
        )
    return out


def _cell(run: Run, result: PointResult, column: str, value: object) -> str:
    if column == "point_id":
        return f"<td class='point_id'>{_point_id(run, result)}</td>"
    text = escape(_format(column, value))
    classes = [column]
    if isinstance(value, int | float) or column == "pool":
        classes.append("num")
    if column == "rps_error_pct" and isinstance(value, int | float) and abs(value) >= 10:
        classes.append("off")  # more than 10 % from the model: worth a look
    if column == "little_error_pct" and isinstance(value, int | float) and abs(value) > 2:
        classes.append("off")  # the closed loop broke Little's law: the harness set the pace
    return f"<td class='{' '.join(classes)}'>{text}</td>"


def _point_id(run: Run, result: PointResult) -> str:
    """The id, linked to the point's Locust report when there is one, its details folded below."""
    text = _breakable(result.point.id, "__")
    if result.locust_dir and (run.directory / result.locust_dir / "report.html").exists():
        text = f"<a href='{quote(result.locust_dir)}/report.html'>{text}</a>"
    return text + _details(result)  # not a column of its own: the table is wide enough


def _format(column: str, value: object) -> str:
    if value is None:
        return ""
    if column == "rps_error_pct":
        return f"{value:+.1f} %"
    if column in ("cpus", "pool") and isinstance(value, float):
        return f"{value:g}"
    if column.endswith("_ms") and isinstance(value, float) and value >= 100:
        return f"{value:.0f}"  # a tenth of a millisecond is noise at this size; width is not
    if isinstance(value, float):
        return f"{value:.1f}"
    return str(value)


def _breakable(text: str, separator: str) -> str:
    return escape(text).replace(separator, f"{separator}<wbr>")


def _details(result: PointResult) -> str:
    """The point's /runtime and placement, folded away: wanted rarely, but then in full."""
    folded = {"/runtime": result.runtime, "placement": result.placement}
    return "".join(f"<details><summary>{name}</summary>{_pairs(data)}</details>"
                   for name, data in folded.items() if data)  # fmt: skip


def _environment(run: Run) -> str:
    return (
        f"<section class='environment'><div><h2>Environment</h2>{_pairs(run.metadata)}</div>"
        f"<div><h2>Configuration</h2>{_pairs(run.config)}</div></section>"
    )


def _pairs(data: dict) -> str:
    rows = "".join(f"<dt>{escape(k)}</dt><dd>{escape(_plain(v))}</dd>" for k, v in flatten(data))
    return f"<dl class='kv'>{rows}</dl>" if rows else "<p>nothing recorded</p>"


def flatten(data: dict, prefix: str = "") -> list[tuple[str, object]]:
    """Nested dicts (and lists of dicts) as dotted keys: {"a": {"b": 1}} -> [("a.b", 1)]."""
    out: list[tuple[str, object]] = []
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, list) and any(isinstance(v, dict) for v in value):
            value = {str(i): v for i, v in enumerate(value)}
        if isinstance(value, dict) and value:
            out += flatten(value, f"{name}.")
        else:
            out.append((name, value))
    return out


def _plain(value: object) -> str:
    if value is None:
        return "—"
    if isinstance(value, list | tuple):
        return ", ".join(_plain(v) for v in value) or "—"
    if isinstance(value, dict):
        return json.dumps(value) if value else "—"
    return str(value)


def _series(result: PointResult) -> Series:
    return (result.point.variant, result.point.endpoint)


def _label(series: Series) -> str:
    return " ".join(series)


STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; color: #222; margin: 24px auto; max-width: 1800px;
       padding: 0 16px; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 17px; margin: 18px 0 6px; }
code { font-size: 0.95em; }
.chip { display: inline-block; padding: 1px 9px; border-radius: 10px; background: #eee; }
.chip.ok { background: #dff3e2; } .chip.failed { background: #fbdcdc; }
.chip.pending { background: #fff1c9; }
.chip.failing, .chip.harness-bound, .chip.unsteady { background: #fde6c8; }
.warn { color: #8a5a00; margin: 4px 0; }
.how { max-width: 62em; color: #333; background: #f6f8fa; padding: 10px 14px; border-radius: 6px; }
.panel { border-top: 1px solid #ddd; margin-top: 18px; }
.charts { display: flex; flex-wrap: wrap; gap: 8px 16px; }
.legend { list-style: none; padding: 0; margin: 4px 0 8px; display: flex; flex-wrap: wrap;
          gap: 4px 18px; font-size: 13px; }
.swatch { display: inline-block; width: 24px; margin-right: 6px; vertical-align: middle;
          border-top: 3px solid; }
.swatch.dashed { border-top: 2px dashed #555; }
.kv { display: grid; grid-template-columns: max-content 1fr; gap: 1px 14px; margin: 4px 0; }
.kv dt { color: #555; } .kv dd { margin: 0; font-family: ui-monospace, monospace;
                                 word-break: break-all; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; font-size: 12px; }
.points th, .points td { padding: 3px 5px; border-bottom: 1px solid #eee; text-align: left;
                         white-space: nowrap; vertical-align: top; }
.points th { white-space: normal; vertical-align: bottom; }
.points td.point_id { white-space: normal; min-width: 12em; }
.points .kv { display: block; font-size: 11px; }
.points .kv dt, .points .kv dd { display: inline; } .points .kv dt::after { content: " = "; }
.points .kv dd::after { content: ""; display: block; }
.points .kv dd { word-break: normal; }  /* never split a number in a narrow cell */
.points td.num { text-align: right; font-variant-numeric: tabular-nums; }
.points tr.failed td { background: #fdecec; } .points tr.pending td { color: #999; }
.points tr.failing td, .points tr.harness-bound td, .points tr.unsteady td { background: #fff4e5; }
.points td.status { font-weight: 600; } .points tr.failed td.status { color: #b00020; }
.points tr.error td { color: #b00020; background: #fdecec; white-space: pre-wrap; }
.points td.off { color: #b00020; font-weight: 600; }
.environment { display: flex; flex-wrap: wrap; gap: 0 48px; border-top: 1px solid #ddd; }
.environment > div { flex: 1 1 420px; }
details summary { cursor: pointer; color: #1f5fa8; }
"""

"""index.html for a run directory: charts per CPU limit, every point in a table, the metadata.

Rendered from run.json alone (``Run.load``), so a report can be re-rendered at any time,
including for an interrupted run: failed and pending points are listed in the table but kept
out of the charts, where a missing point is honest and a zero would be a lie. The page is one
self-contained file (inline CSS and SVG, no scripts) so it can be attached, archived, opened
offline. The page is assembled here from the charts (``panels``) and the table (``table``).
"""

from __future__ import annotations

import json
from collections import Counter
from html import escape
from pathlib import Path

from loadlab.judge import binds, model_error
from loadlab.measure.status import RESULTS, STATUSES
from loadlab.report import charts, panels
from loadlab.report.table import flatten, pairs, plain, table
from loadlab.results import Run

__all__ = ["STYLE", "flatten", "page", "render"]


def render(run: Run) -> Path:
    """Write summary.csv and index.html into the run directory; return index.html's path."""
    run.write_summary()
    path = run.directory / "index.html"
    path.write_text(page(run), encoding="utf-8")
    return path


def page(run: Run) -> str:
    """The whole page: header, how to read it, the charts, the table, the environment."""
    colours = panels.series_colours(run)
    limits = sorted({r.point.cpus for r in run.points.values()})
    body = "\n".join([_header(run), f"<p class='how'>{panels.HOW_TO_READ}</p>",
                      _capacity(run), _binds(run), _model_error(run),
                      panels.across_limits(run, colours),
                      *(panels.panel(run, cpus, colours) for cpus in limits), table(run),
                      _environment(run)])  # fmt: skip
    return (
        "<!doctype html>\n<html lang='en'><head><meta charset='utf-8'>\n"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>\n"
        f"<title>loadlab {escape(run.run_id)}</title>\n"
        f"<style>{STYLE}{charts.STYLE}</style></head>\n<body>\n{body}\n</body></html>\n"
    )


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
    line = " · ".join(f"{k} <b>{escape(plain(v))}</b>" for k, v in facts)
    note = ""
    untrusted = sum(n for status, n in counts.items() if status not in (*RESULTS, "pending"))
    if untrusted:
        note += (f"<p class='warn'>{untrusted} point(s) are not ok: their numbers are shown in "
                 "the table with the reason, never as results.</p>")  # fmt: skip
    if counts["overloaded"]:
        note += (f"<p>{counts['overloaded']} point(s) overloaded: above capacity, drawn as rings "
                 "at the capacity they reached; they meet no latency objective.</p>")  # fmt: skip
    if counts["pending"]:
        note += (
            "<p class='warn'>Some points are still pending: the run was interrupted or is "
            "in progress. Resume it to fill them in.</p>"
        )
    return (
        f"<header><h1>Run <code>{escape(run.run_id)}</code></h1>\n<p>{line}</p>\n"
        f"<p>{chips}</p>{note}</header>"
    )


def _capacity(run: Run) -> str:
    """The capacity card (capacity.json), when this run is a capacity search."""
    path = run.directory / "capacity.json"
    if not path.is_file():
        return ""
    found = json.loads(path.read_text())
    answer, near = found.get("answer"), found.get("neighbour")
    head = (f"{escape(found['endpoint'])} at {found['rate']:g}/s, {escape(found['slo'])}: "
            f"{found['trial_count']} trials in {found['wall_s']:.0f} s")  # fmt: skip
    lines = []
    if answer:
        limit = f" THREAD_LIMIT={answer['thread_limit']}" if answer["thread_limit"] else ""
        lines.append(f"<b>answer</b>: {escape(answer['variant'] + limit)} at "
                     f"<b>{answer['cpus']:g} CPU</b> ({_ms(answer)})")  # fmt: skip
    else:
        lines.append("<b>no answer</b>: nothing in the space meets the objective")
    if near:
        lines.append(f"<b>neighbour</b> {near['cpus']:g} CPU: {near['verdict']} ({_ms(near)}); "
                     f"bound by {escape(near.get('bound') or 'not named')}")  # fmt: skip
    if found.get("headroom"):
        lines.append(f"<b>headroom</b>: sustains {found['headroom']['sustains_rps']:g}/s")
    lines += [f"other: {escape(o['variant'])} {o.get('thread_limit') or ''}: "
              f"{escape(o.get('why_not') or str(o['best_cpus']) + ' CPU')}"
              for o in found["others"]]  # fmt: skip
    lines += [f"<span class='warn'>not monotone: {escape(c)}</span>"
              for c in found["contradictions"]]  # fmt: skip
    if found.get("recheck"):
        lines.append(f"re-check: <code>{escape(found['recheck'])}</code>")
    rows = "".join(
        f"<tr class='{t['verdict']}'><td>{i + 1}</td><td>{escape(t['variant'])} "
        f"{t['thread_limit'] or ''}</td><td>{t['cpus']:g}</td><td>{t['rate']:g}</td>"
        f"<td>{t['verdict']}</td><td>{_ms(t)}</td><td>{escape(t['reason'])}</td></tr>"
        for i, t in enumerate(found["trials"])
    )
    table = ("<table class='points'><tr><th>#</th><th>combination</th><th>cpus</th>"
             "<th>rate</th><th>verdict</th><th>metric</th><th>why</th></tr>"
             f"{rows}</table>")  # fmt: skip
    items = "".join(f"<li>{line}</li>" for line in lines)
    return (f"<section class='capacity'><h2>Capacity: {head}</h2><ul>{items}</ul>"
            f"<div class='scroll'>{table}</div></section>")  # fmt: skip


def _ms(trial: dict) -> str:
    if trial.get("value_ms") is None:
        return "no value"
    ci = trial.get("interval")
    return f"{trial['value_ms']:.0f} ms" + (f" [{ci[0]:.0f}, {ci[1]:.0f}]" if ci else "")


def _binds(run: Run) -> str:
    """One sentence per series: what capped its throughput, from its own measurements."""
    found = binds.bindings(run)
    if not found:
        return ""
    items = "".join(
        f"<li><b>{escape(b.variant)} {escape(b.endpoint)}</b> at {b.cpus:g} CPU: "
        f"{escape(b.sentence)}</li>"
        for b in found
    )
    return f"<section class='binds'><h2>What binds</h2><ul>{items}</ul></section>"


def _signed(value: float | None) -> str:
    return "—" if value is None else f"{value:+.1f} %"


# The model error table, column by column: (heading, the cell from a judge.model_error.KindError).
MODEL_ERROR_COLUMNS = (
    ("kind", lambda k: k.kind),
    ("figure", lambda k: model_error.NAMES[k.metric]),
    ("points", lambda k: str(k.points)),
    ("median", lambda k: _signed(k.median_pct)),
    ("worst", lambda k: _signed(k.worst_pct)),
    ("worst at", lambda k: k.worst_point or "—"),
    ("left out", lambda k: ", ".join(f"{n} {why}" for why, n in k.left_out.items()) or "—"),
)


def _milliseconds(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f} ms"


def _columns_table(columns: tuple, items: list) -> str:
    """A table of ``items``, a row each, from (heading, cell of an item) ``columns``."""
    head = "".join(f"<th>{escape(name)}</th>" for name, _ in columns)
    rows = "".join("<tr>" + "".join(f"<td>{escape(cell(item))}</td>" for _, cell in columns)
                   + "</tr>" for item in items)  # fmt: skip
    return f"<div class='scroll'><table class='points'><tr>{head}</tr>{rows}</table></div>"


# The calibration table: (heading, the cell from a judge.model_error.Calibration).
CALIBRATION_COLUMNS = (
    ("variant", lambda c: c.variant),
    ("CPUs", lambda c: f"{c.cpus:g}"),
    ("endpoint", lambda c: c.endpoint),
    ("measured", lambda c: c.what + (f" at {c.streams} streams" if c.streams else " at low load")),
    ("median", lambda c: _milliseconds(c.median_ms)),
    ("range", lambda c: "—" if c.low_ms is None else f"{c.low_ms:.2f}-{c.high_ms:.2f} ms"),
    ("spread", lambda c: "—" if c.spread_pct is None else f"{c.spread_pct:.1f} %"),
    ("samples", lambda c: str(c.samples)),
    ("asked", lambda c: _milliseconds(c.nominal_ms)),
    ("measured at", lambda c: c.measured_at or "—"),
    ("points", lambda c: str(c.points)),
)


def _calibration(run: Run) -> str:
    """What the models took as measured inputs, just before the points they are drawn
    beside: each calibration's median, its samples' spread and when."""
    found = model_error.calibrations(run)
    if not found:
        return ""
    return ("<h3>The models' calibration</h3><p>Measured on the same container just before "
            "its points, never from their windows: the CPU a request costs at the step's "
            "concurrency, and an I/O endpoint's service time at low load (one request at a "
            "time), which the I/O models take instead of the time asked for.</p>"
            + _columns_table(CALIBRATION_COLUMNS, found))  # fmt: skip


def _model_error(run: Run) -> str:
    """Per series kind the model's median and worst error over its trusted points, and per
    series one sentence on where model and measurement part (judge.model_error)."""
    found = model_error.kinds(run)
    if not found:
        return ""
    said = [s.sentence for s in model_error.series(run)]
    said += [o.sentence for o in model_error.overloads(run)]
    items = "".join(f"<li>{escape(sentence)}</li>" for sentence in said)
    return (f"<section class='model-error'><h2>Model error</h2><p>Signed, in per cent of the "
            f"model: (measured - model) / model, over the points whose status is ok.</p>"
            f"{_columns_table(MODEL_ERROR_COLUMNS, found)}"
            f"<ul>{items}</ul>{_calibration(run)}</section>")  # fmt: skip


def _span(run: Run) -> tuple[str | None, str | None]:
    """Start and end from the metadata, else from the points (an interrupted run has no end)."""
    starts = [r.started_at for r in run.points.values() if r.started_at]
    ends = [r.finished_at for r in run.points.values() if r.finished_at]
    started = run.metadata.get("started_at") or min(starts, default=None)
    finished = run.metadata.get("finished_at")
    if not finished and not any(r.status == "pending" for r in run.points.values()):
        finished = max(ends, default=None)
    return started, finished


def _environment(run: Run) -> str:
    return (
        f"<section class='environment'><div><h2>Environment</h2>{pairs(run.metadata)}</div>"
        f"<div><h2>Configuration</h2>{pairs(run.config)}</div></section>"
    )


STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; color: #222; margin: 24px auto; max-width: 1800px;
       padding: 0 16px; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 17px; margin: 18px 0 6px; }
code { font-size: 0.95em; }
.chip { display: inline-block; padding: 1px 9px; border-radius: 10px; background: #eee; }
.chip.ok { background: #dff3e2; } .chip.failed { background: #fbdcdc; }
.chip.pending { background: #fff1c9; }
.chip.failing, .chip.harness-bound, .chip.unsteady { background: #fde6c8; }
.chip.overloaded { background: #e3e8f7; }
.warn { color: #8a5a00; margin: 4px 0; }
.how { max-width: 62em; color: #333; background: #f6f8fa; padding: 10px 14px; border-radius: 6px; }
.panel { border-top: 1px solid #ddd; margin-top: 18px; }
.charts { display: flex; flex-wrap: wrap; gap: 8px 16px; }
.legend { list-style: none; padding: 0; margin: 4px 0 8px; display: flex; flex-wrap: wrap;
          gap: 4px 18px; font-size: 13px; }
.swatch { display: inline-block; width: 24px; margin-right: 6px; vertical-align: middle;
          border-top: 3px solid; }
.swatch.dashed { border-top: 2px dashed #555; }
.ring { display: inline-block; width: 7px; height: 7px; margin-right: 6px; border: 2px solid #555;
        border-radius: 50%; vertical-align: middle; }
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
.points tr.overloaded td { background: #f1f4fb; }
.points td.status { font-weight: 600; } .points tr.failed td.status { color: #b00020; }
.points tr.error td { color: #b00020; background: #fdecec; white-space: pre-wrap; }
.points td.off { color: #b00020; font-weight: 600; }
.environment { display: flex; flex-wrap: wrap; gap: 0 48px; border-top: 1px solid #ddd; }
.environment > div { flex: 1 1 420px; }
details summary { cursor: pointer; color: #1f5fa8; }
"""

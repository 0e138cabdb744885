"""The points table of index.html: every point, whatever its status, with the reason for it.

Its columns are summary.csv's (``results.COLUMNS``), so the page and the CSV never disagree.
A closed loop off Little's law is marked by the threshold its status is judged by
(``status.MAX_LITTLE_ERROR_PCT``), a point far from the model by MODEL_OFF_PCT.
"""

from __future__ import annotations

import json
from html import escape
from urllib.parse import quote

from loadlab.measure.status import MAX_LITTLE_ERROR_PCT
from loadlab.results import SUMMARY_COLUMNS, PointResult, Run

MODEL_OFF_PCT = 10  # a point this far from the model is worth a look (marked, not judged)


def table(run: Run) -> str:
    """Every point of the run, one row each, its reason (error or flags) in a row below."""
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
    if column == "rps_error_pct" and isinstance(value, int | float) and abs(value) >= MODEL_OFF_PCT:
        classes.append("off")
    if (column == "little_error_pct" and isinstance(value, int | float)
            and abs(value) > MAX_LITTLE_ERROR_PCT):  # fmt: skip
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
    return "".join(f"<details><summary>{name}</summary>{pairs(data)}</details>"
                   for name, data in folded.items() if data)  # fmt: skip


def pairs(data: dict) -> str:
    """A dict as key/value rows, nested keys dotted."""
    rows = "".join(f"<dt>{escape(k)}</dt><dd>{escape(plain(v))}</dd>" for k, v in flatten(data))
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


def plain(value: object) -> str:
    """A value as text: None and empty collections as a dash, lists joined, dicts as JSON."""
    if value is None:
        return "—"
    if isinstance(value, list | tuple):
        return ", ".join(plain(v) for v in value) or "—"
    if isinstance(value, dict):
        return json.dumps(value) if value else "—"
    return str(value)

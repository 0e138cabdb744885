"""A Comparison as Markdown (the terminal, the job page) and as compare.html.

Both start from the Comparison alone, so they can be redone from disk; the word for each
change ("1.23x slower", "no significant change") is decided in compare, never here.
"""

from __future__ import annotations

import html
from pathlib import Path

from loadlab.judge.compare import Change, Comparison, Interval, Row, factor_text

COLUMNS = (
    "variant",
    "endpoint",
    "cpus",
    "load",
    "rps A",
    "rps B",
    "rps change",
    "p95 A",
    "p95 B",
    "p95 change",
)


def geometric_mean_text(c: Comparison) -> str:
    if c.geometric_mean is None:
        return "Geometric mean (rps B/A): n/a"
    word = factor_text(c.geometric_mean, True)
    word = "no change" if word.startswith("1.00x") else word
    return f"Geometric mean (rps B/A): {c.geometric_mean:.3f} ({word})"


def value_text(mean: float, ci: Interval | None, unit: str = "") -> str:
    """ "100.0" or, with an interval, "100.0 [98.9, 101.2]"."""
    text = f"{mean:.1f}{unit}"
    return text if ci is None else f"{text} [{ci[0]:.1f}, {ci[1]:.1f}]"


def _cells(row: Row) -> list[str]:
    k, rps, p95 = row.key, row.rps, row.p95
    return [
        k.variant,
        k.endpoint,
        f"{k.cpus:g}",
        k.load,
        value_text(rps.a_mean, rps.a_ci),
        value_text(rps.b_mean, rps.b_ci),
        rps.word,
        value_text(p95.a_mean, p95.a_ci, " ms"),
        value_text(p95.b_mean, p95.b_ci, " ms"),
        p95.word,
    ]


def method(c: Comparison) -> str:
    return (
        f"A = {c.a_id} (reference), B = {c.b_id}. Significant: a change of at least "
        f"{c.threshold:.0%} in rps or {c.p95_threshold:.0%} in p95, outside both runs' 95 % "
        f"intervals [in brackets] where recorded, and, with 2 repeats or more on both "
        f"sides, Welch's t-test p < {c.alpha:g}. Points of B without a trusted number count "
        "as failures."
    )


def notes(c: Comparison) -> list[tuple[str, list[str]]]:
    """The sections under the table, shared by both formats."""
    return [
        ("Failures (count as regressions)", [f"{f.key.text}: {f.reason}" for f in c.failures]),
        ("Only in A", [k.text for k in c.only_in_a]),
        ("Only in B", [k.text for k in c.only_in_b]),
        ("Environment differences", [f"{k}: {va} (A) vs {vb} (B)" for k, va, vb in c.differences]),
        ("Warnings", c.warnings),
    ]


def markdown_table(rows: list[list[str]], columns: tuple[str, ...] = COLUMNS) -> list[str]:
    def line(cells: list[str]) -> str:
        return "| " + " | ".join(cell.replace("|", r"\|") for cell in cells) + " |"

    rule = "|" + "|".join("---" if i < 2 else "---:" for i in range(len(columns))) + "|"
    return [line(list(columns)), rule, *(line(cells) for cells in rows)]


def to_markdown(c: Comparison) -> str:
    out = [f"# Comparison of {c.b_id} against {c.a_id}", "", method(c), ""]
    out += markdown_table([_cells(row) for row in c.rows])
    out += ["", geometric_mean_text(c)]
    for title, items in notes(c):
        if items:
            out += ["", f"## {title}", "", *(f"- {item}" for item in items)]
    return "\n".join(out) + "\n"


_CSS = """body{font-family:system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse}th,td{border:1px solid #ccc;padding:.3em .6em;text-align:right}
th:nth-child(-n+2),td:nth-child(-n+2){text-align:left}th{background:#f3f3f3}
tr.slower{background:#fde2e2}tr.faster{background:#e2f6e2}
td.slower{color:#b00000;font-weight:bold}td.faster{color:#006400;font-weight:bold}
li.failure{color:#b00000}"""


def _class(change: Change | None) -> str:
    return "slower" if change and change.slower else "faster" if change and change.faster else ""


def _html_row(row: Row) -> str:
    kind = "slower" if row.regressed else "faster" if row.rps.faster or row.p95.faster else ""
    cells = []
    for i, text in enumerate(_cells(row)):
        cls = _class({6: row.rps, 9: row.p95}.get(i))
        attr = f' class="{cls}"' if cls else ""
        cells.append(f"<td{attr}>{html.escape(text)}</td>")
    return f'<tr class="{kind}">' + "".join(cells) + "</tr>"


def to_html(c: Comparison) -> str:
    """One self-contained page: inline CSS, no scripts, no external resources."""
    title = html.escape(f"Comparison of {c.b_id} against {c.a_id}")
    body = [
        f"<h1>{title}</h1>",
        f"<p>{html.escape(method(c))}</p>",
        "<table>",
        "<tr>" + "".join(f"<th>{html.escape(col)}</th>" for col in COLUMNS) + "</tr>",
        *(_html_row(row) for row in c.rows),
        "</table>",
        f"<p><strong>{html.escape(geometric_mean_text(c))}</strong></p>",
    ]
    for heading, items in notes(c):
        cls = ' class="failure"' if heading.startswith("Failures") else ""
        if items:
            body += [
                f"<h2>{html.escape(heading)}</h2>",
                "<ul>",
                *(f"<li{cls}>{html.escape(item)}</li>" for item in items),
                "</ul>",
            ]
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
        f"<style>{_CSS}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n"
    )


def write(c: Comparison, directory: Path) -> Path:
    """Write compare.html into ``directory`` and return its path."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "compare.html"
    path.write_text(to_html(c))
    return path

"""The charts of index.html: a panel per CPU limit and the view across limits.

Only the points whose numbers are results are drawn (``status.RESULTS``): ok points, and in
the open loop's panel overloaded ones too, as rings (beyond capacity the throughput is the
capacity reached, and the hockey stick needs them); every other point is counted in a note
under the panel's title and listed in the table. A series keeps one colour on the page.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from html import escape
from statistics import fmean

from loadlab.judge import across
from loadlab.measure.status import RESULTS
from loadlab.plan.profiles import Series
from loadlab.report import charts
from loadlab.report.charts import Line
from loadlab.results import PointResult, Run

# Tableau 10: distinct, and still distinguishable for the common colour-vision deficiencies.
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
           "#7f7f7f", "#bcbd22", "#17becf")  # fmt: skip

# (title, WindowStats field, Prediction field, y label, field of the 95 % interval). The model
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
line) and the backlog grows at (rate - P/S) a second, so latency climbs through the window.
A step whose arrivals outran its completions is <i>overloaded</i>, drawn as a ring: its
throughput is the capacity it reached, and the table gives how fast its backlog grew.
Unsteady points (below capacity, yet their series moved) are left out. Dropped sends are
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


def series_colours(run: Run) -> dict[Series, str]:
    """One colour per series, in matrix order, the same in every chart of the page."""
    found = dict.fromkeys(_series(r) for r in run.points.values())
    return {s: _colour(i) for i, s in enumerate(found)}


def _colour(index: int) -> str:
    if index < len(PALETTE):
        return PALETTE[index]
    # Beyond the palette, golden-angle hues keep neighbouring series apart.
    return f"hsl({index * 137.508 % 360:.0f}, 60%, 42%)"


def panel(run: Run, cpus: float, colours: dict[Series, str]) -> str:
    """The charts of one CPU limit: the closed loop's against users, the open loop's against
    the offered rate."""
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


def across_limits(run: Run, colours: dict[Series, str]) -> str:
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
        f"over the same window.</p><ul class='what-changed'>{sentences}</ul>\n"
        f"<div class='charts'>{''.join(figures)}</div></section>"
    )


def _open_panel(results: list[PointResult], series: list[Series], cpus: float,
                colours: dict[Series, str]) -> str:  # fmt: skip
    # Beyond capacity the backlog grows: the hockey stick needs those points, as rings.
    drawn = [r for r in results if r.stats and r.status in RESULTS]
    figures = []
    for title, key, second, model_key, unit, interval in OPEN_CHARTS:
        lines = []
        for s in series:
            mine = [r for r in drawn if _series(r) == s]
            errors = _intervals(mine, interval) if interval else []
            marks = _marks(mine)
            lines.append(Line(_label(s), _averaged(mine, _measured(key)), colours[s], False,
                              errors, marks=marks))  # fmt: skip
            if second:
                lines.append(Line(_label(s), _averaged(mine, _measured(second)), colours[s],
                                  dotted=True, marks=marks))  # fmt: skip
            if model_key:
                lines.append(Line(_label(s), _averaged(mine, _modelled(model_key)), colours[s],
                                  True))  # fmt: skip
        figures.append(charts.line_chart(lines, title=title, x_label="offered requests/s",
                                         y_label=unit))  # fmt: skip
    left_out = Counter(r.status for r in results if r not in drawn)
    note = ", ".join(f"{n} {status}" for status, n in left_out.items())
    note = f"<p class='warn'>Not in these charts: {note} (see the table).</p>" if note else ""
    legend = _legend(series, colours, overloaded=any(r.status != "ok" for r in drawn))
    return (
        f"<section class='panel'><h2>CPU limit {cpus:g}, open loop</h2>\n"
        f"<p class='how'>{OPEN_HOW_TO_READ}</p>{legend}{note}\n"
        f"<div class='charts'>{''.join(figures)}</div></section>"
    )


def _chart(ok: list[PointResult], series: list[Series], colours: dict[Series, str],
           spec: tuple[str, str, str, str, str | None]) -> str:  # fmt: skip
    title, measured, predicted, unit, interval = spec
    lines = []
    for s in series:
        mine = [r for r in ok if _series(r) == s]
        errors = _intervals(mine, interval) if interval else []
        lines.append(Line(_label(s), _averaged(mine, _measured(measured)), colours[s], False,
                          errors))  # fmt: skip
        lines.append(Line(_label(s), _averaged(mine, _modelled(predicted)), colours[s], True))
    return charts.line_chart(lines, title=title, x_label="users", y_label=unit)


def _measured(name: str) -> Callable[[PointResult], float | None]:
    return lambda r: getattr(r.stats, name) if r.stats is not None else None


def _modelled(name: str) -> Callable[[PointResult], float | None]:
    return lambda r: getattr(r.prediction, name) if r.prediction is not None else None


def _averaged(
    results: list[PointResult], value_of: Callable[[PointResult], float | None]
) -> list[tuple[float, float]]:
    """(users or rate, value) with repeats averaged; points without the value are left out."""
    by_users: dict[float, list[float]] = defaultdict(list)
    for r in results:
        value = value_of(r)
        if value is not None:
            by_users[r.point.level].append(value)
    return [(users, fmean(values)) for users, values in sorted(by_users.items())]


def _intervals(results: list[PointResult], key: str) -> list[tuple[float, float, float]]:
    """(users, low, high) per user count, repeats' bounds averaged; points without one left out."""
    by_users: dict[float, list[tuple[float, float]]] = defaultdict(list)
    for r in results:
        ci = _measured(key)(r)
        if ci:
            by_users[r.point.level].append((ci[0], ci[1]))
    return [(users, fmean(lo for lo, _ in cis), fmean(hi for _, hi in cis))
            for users, cis in sorted(by_users.items())]  # fmt: skip


def _marks(results: list[PointResult]) -> list[tuple[float, str]]:
    """(level, status) where a drawn point is not ok (an overloaded step): drawn as a ring."""
    return sorted({(r.point.level, r.status) for r in results if r.status != "ok"})


def _legend(series: list[Series], colours: dict[Series, str], overloaded: bool = False) -> str:
    items = [
        f"<li><span class='swatch' style='border-color:{colours[s]}'></span>"
        f"{escape(_label(s))}</li>"
        for s in series
    ]
    items.append("<li><span class='swatch dashed'></span>model prediction</li>")
    if overloaded:
        items.append("<li><span class='ring'></span>overloaded: the capacity it reached, its "
                     "backlog growing</li>")  # fmt: skip
    return f"<ul class='legend'>{''.join(items)}</ul>"


def _series(result: PointResult) -> Series:
    return (result.point.variant, result.point.endpoint)


def _label(series: Series) -> str:
    return " ".join(series)

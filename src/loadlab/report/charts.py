"""Inline-SVG line charts, so a report opens offline, anywhere, with nothing to load.

Both axes start at 0: the lab's questions are about ratios (half the throughput, twice the
latency), and a truncated axis would make a 5 % wobble look like a cliff.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

WIDTH, HEIGHT = 440, 280
LEFT, RIGHT, TOP, BOTTOM = 58, 16, 34, 44  # room for tick labels, axis labels and the title
TICKS = 5
DASH = "6 4"


@dataclass(frozen=True)
class Line:
    """One polyline: measured lines get a dot (with a tooltip) per point, predicted ones a dash."""

    label: str
    points: Sequence[tuple[float, float]]
    colour: str
    dashed: bool = False
    errors: Sequence[tuple[float, float, float]] = ()  # (x, low, high): 95 % intervals
    dotted: bool = False  # a second measured quantity of the same series (e.g. uncorrected)
    marks: Sequence[tuple[float, str]] = ()  # (x, status): a point drawn as a ring, named

    @property
    def kind(self) -> str:
        if self.dotted:
            return "measured secondary"
        return "predicted" if self.dashed else "measured"


@dataclass(frozen=True)
class Frame:
    """Maps data to pixels: x and y both run from 0 to their (rounded-up) maximum."""

    x_max: float
    y_max: float
    width: int = WIDTH
    height: int = HEIGHT

    def x(self, value: float) -> float:
        return round(LEFT + value / self.x_max * (self.width - LEFT - RIGHT), 1)

    def y(self, value: float) -> float:
        plot = self.height - TOP - BOTTOM
        return round(self.height - BOTTOM - value / self.y_max * plot, 1)


def nice_ticks(largest: float, count: int = TICKS) -> list[float]:
    """0 to at least ``largest`` in about ``count`` steps of 1, 2, 2.5 or 5 times a power of 10."""
    if not largest > 0 or math.isinf(largest):
        largest = 1.0
    raw = largest / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    steps = math.ceil(largest / step - 1e-9)
    return [round(i * step, 10) for i in range(steps + 1)]


def line_chart(
    lines: Sequence[Line],
    *,
    title: str,
    x_label: str,
    y_label: str,
    width: int = WIDTH,
    height: int = HEIGHT,
    legend: bool = False,
) -> str:
    """An ``<svg class="chart">`` of ``lines``; ``legend`` adds one row per label underneath."""
    drawn = [line for line in lines if line.points]
    x_ticks = nice_ticks(max((x for ln in drawn for x, _ in ln.points), default=0))
    highs = [high for ln in drawn for _, _, high in ln.errors]
    y_ticks = nice_ticks(max([*(y for ln in drawn for _, y in ln.points), *highs], default=0))
    labels = list(dict.fromkeys(line.label for line in drawn)) if legend else []
    total = height + 18 * len(labels)
    frame = Frame(x_ticks[-1], y_ticks[-1], width, height)
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {total}" width="{width}" height="{total}" '
        f'role="img" aria-label="{escape(title)}">',
        f'<text class="title" x="{LEFT}" y="{TOP - 14}">{escape(title)}</text>',
        *_axes(frame, x_ticks, y_ticks, x_label, y_label),
        *(_polyline(frame, line, x_label, y_label) for line in drawn),
        *_legend(labels, drawn, height),
    ]
    if not drawn:
        parts.append(_no_data(frame))
    return "\n".join([*parts, "</svg>"])


def _axes(
    frame: Frame, x_ticks: list[float], y_ticks: list[float], x_label: str, y_label: str
) -> list[str]:
    left, right = frame.x(0), frame.x(frame.x_max)
    top, bottom = frame.y(frame.y_max), frame.y(0)
    return [
        *_y_ticks(frame, y_ticks),
        *_x_ticks(frame, x_ticks),
        f'<line class="axis" x1="{left}" y1="{top}" x2="{left}" y2="{bottom}"/>',
        f'<line class="axis" x1="{left}" y1="{bottom}" x2="{right}" y2="{bottom}"/>',
        f'<text class="label" x="{(left + right) / 2}" y="{frame.height - 8}" '
        f'text-anchor="middle">{escape(x_label)}</text>',
        f'<text class="label" x="14" y="{(top + bottom) / 2}" text-anchor="middle" '
        f'transform="rotate(-90 14 {(top + bottom) / 2})">{escape(y_label)}</text>',
    ]


def _y_ticks(frame: Frame, ticks: list[float]) -> list[str]:
    """A light grid line across the plot at every tick, so values can be read off by eye."""
    left, right = frame.x(0), frame.x(frame.x_max)
    out = []
    for tick in ticks:
        y = frame.y(tick)
        out.append(f'<line class="grid" x1="{left}" y1="{y}" x2="{right}" y2="{y}"/>')
        out.append(f'<text class="tick" x="{left - 6}" y="{y + 4}" text-anchor="end">'
                   f"{_number(tick)}</text>")  # fmt: skip
    return out


def _x_ticks(frame: Frame, ticks: list[float]) -> list[str]:
    bottom = frame.y(0)
    out = []
    for tick in ticks:
        x = frame.x(tick)
        out.append(f'<line class="axis" x1="{x}" y1="{bottom}" x2="{x}" y2="{bottom + 4}"/>')
        out.append(f'<text class="tick" x="{x}" y="{bottom + 16}" text-anchor="middle">'
                   f"{_number(tick)}</text>")  # fmt: skip
    return out


def _polyline(frame: Frame, line: Line, x_label: str, y_label: str) -> str:
    points = sorted(line.points)
    coords = " ".join(f"{frame.x(x)},{frame.y(y)}" for x, y in points)
    dash = f' stroke-dasharray="{DASH}"' if line.dashed else ""
    dash = ' stroke-dasharray="2 3"' if line.dotted else dash
    what = f"{line.label} (model)" if line.dashed else line.label
    out = [
        f'<polyline class="{line.kind}" points="{coords}" fill="none" '
        f'stroke="{escape(line.colour)}"{dash}><title>{escape(what)}</title></polyline>'
    ]
    out += [_error_bar(frame, line.colour, x, low, high) for x, low, high in line.errors]
    # Markers on the model too: a lone predicted point would otherwise draw nothing at all.
    marks = {} if line.dashed else dict(line.marks)
    for x, y in points:
        tooltip = f"{what}\n{x_label} {_number(x)}: {y:.1f} {y_label}"
        mark = marks.get(x)
        out.append(_ring(frame, line.colour, x, y, mark, f"{tooltip}\n{mark}") if mark
                   else _dot(frame, line, x, y, tooltip))  # fmt: skip
    return "\n".join(out)


def _error_bar(frame: Frame, colour: str, x: float, low: float, high: float) -> str:
    """A vertical bar with caps: the 95 % interval of one measured value."""
    px, top, bottom = frame.x(x), frame.y(high), frame.y(low)
    colour = escape(colour)
    return (
        f'<g class="ci" stroke="{colour}"><title>95 % interval: {low:.1f} to {high:.1f}</title>'
        f'<line x1="{px}" y1="{top}" x2="{px}" y2="{bottom}"/>'
        f'<line x1="{px - 3}" y1="{top}" x2="{px + 3}" y2="{top}"/>'
        f'<line x1="{px - 3}" y1="{bottom}" x2="{px + 3}" y2="{bottom}"/></g>'
    )


def _dot(frame: Frame, line: Line, x: float, y: float, tooltip: str) -> str:
    """Measured points are filled dots, predicted ones small hollow rings."""
    colour = escape(line.colour)
    look = f'class="dot" r="3" fill="{colour}"'
    if line.dashed:
        look = f'class="model-dot" r="2.5" fill="#fff" stroke="{colour}"'
    return (
        f'<circle {look} cx="{frame.x(x)}" cy="{frame.y(y)}">'
        f"<title>{escape(tooltip)}</title></circle>"
    )


def _ring(frame: Frame, colour: str, x: float, y: float, mark: str, tooltip: str) -> str:
    """A measured point with a status of its own (an overloaded step): a larger hollow ring
    in the line's colour, the status its class and the last line of its tooltip."""
    colour = escape(colour)
    return (
        f'<circle class="dot {escape(mark)}" r="4.5" fill="#fff" stroke="{colour}" '
        f'stroke-width="2" cx="{frame.x(x)}" cy="{frame.y(y)}"><title>{escape(tooltip)}</title>'
        "</circle>"
    )


def _legend(labels: list[str], lines: list[Line], top: int) -> list[str]:
    colours = {line.label: line.colour for line in lines if not line.dashed}
    colours |= {line.label: line.colour for line in lines if line.label not in colours}
    out = []
    for i, label in enumerate(labels):
        y = top + 18 * i + 6
        out.append(
            f'<line x1="{LEFT}" y1="{y}" x2="{LEFT + 22}" y2="{y}" '
            f'stroke="{escape(colours[label])}" stroke-width="2.5"/>'
        )
        out.append(f'<text class="tick" x="{LEFT + 28}" y="{y + 4}">{escape(label)}</text>')
    return out


def _no_data(frame: Frame) -> str:
    x, y = (frame.x(0) + frame.x(frame.x_max)) / 2, (frame.y(0) + frame.y(frame.y_max)) / 2
    return f'<text class="label" x="{x}" y="{y}" text-anchor="middle">no finished points</text>'


def _number(value: float) -> str:
    """Tick labels: 2.5 stays 2.5, 40.0 becomes 40, 12000 becomes 12k."""
    if value >= 10_000:
        return f"{value / 1000:g}k"
    return f"{value:g}"


STYLE = """
svg.chart { font: 11px system-ui, sans-serif; background: #fff; }
svg.chart .title { font-size: 13px; font-weight: 600; }
svg.chart .grid { stroke: #e6e6e6; }
svg.chart .axis { stroke: #555; }
svg.chart .tick { fill: #444; }
svg.chart .label { fill: #222; }
svg.chart polyline { stroke-width: 2; stroke-linejoin: round; }
svg.chart polyline.predicted { stroke-width: 1.5; opacity: 0.85; }
svg.chart g.ci line { stroke-width: 1.2; }
"""

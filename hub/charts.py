"""Charts the hub draws itself, pure: data in, SVG text out (horizontal bars, grouped columns, lines), for pages to put
inline. No script and no style attribute (the workspace's CSP): the colours are hub.css's (svg.chart .s1 ... .s6, from
the --chart-1 ... --chart-6 variables). Each chart has a <title> and a <desc> listing its figures, for screen readers;
no data draws a chart that says so. Any text and any number are safe in it: text is escaped (characters XML cannot
hold are dropped) and a number that is not one from 0 to LARGEST counts as missing.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Callable, Sequence
from xml.sax.saxutils import escape, quoteattr

WIDTH = 720
TONES = 6
"""Series take the colours s1 ... s6 in order, then again."""
DESCRIBED = 60
"""At most this many labels are listed in a chart's description."""
LARGEST = 1e15
"""A figure above this is no count the hub keeps: it counts as missing (and keeps the scale's arithmetic finite)."""
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


@dataclass(frozen=True)
class Series:
    """One series: its name (the legend's) and a value per label (None: no figure)."""

    name: str
    values: Sequence[float | None]


Format = Callable[[float], str]


def text(value: object) -> str:
    """Any value as text an SVG may hold."""
    return escape(NOT_XML.sub("", str(value)))


def attr(value: object) -> str:
    return quoteattr(NOT_XML.sub("", str(value)))


def figure(value: object) -> float | None:
    """A finite number from 0 to LARGEST, else None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= LARGEST:
        return None
    return float(value)


def plain(value: float) -> str:
    return f"{value:g}"


def scale(largest: float, maximum: float | None = None) -> tuple[float, float]:
    """The axis' top and the step between its grid lines: ``maximum`` in quarters when given, else a step of 1, 2 or 5
    times a power of ten (never below 1: the charts count things) that reaches ``largest`` in at most five."""
    if maximum:
        return maximum, maximum / 4
    power = 10 ** max(0, math.floor(math.log10(max(largest, 1) / 5)))
    step = next(k * power for k in (1, 2, 5, 10, 20) if k * power * 5 >= largest)
    return step * max(1, math.ceil(largest / step)), step


def largest(data: list[tuple[str, list]]) -> float:
    return max(v for _, values in data for v in values if v is not None)


def cleaned(labels: Sequence[object], series: Sequence[Series]) -> tuple[list[str], list[tuple[str, list]]]:
    rows = [str(label) for label in labels]
    return rows, [(str(s.name), [figure(v) for v in list(s.values)[: len(rows)]] + [None] * (len(rows) - len(s.values)))
                  for s in series]


def has_data(rows: list[str], data: list[tuple[str, list]]) -> bool:
    return bool(rows) and any(v is not None for _, values in data for v in values)


def frame(kind: str, chart_id: str, title: str, desc: str, height: float, body: list[str]) -> str:
    """The <svg> around ``body``: its class, size, title and description."""
    ident = re.sub(r"[^A-Za-z0-9_-]", "-", chart_id) or "chart"
    head = (f'<svg class="{kind} chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height:g}" role="img" '
            f'aria-labelledby="{ident}-title {ident}-desc" data-chart="{ident}">')
    return "\n".join([head, f'<title id="{ident}-title">{text(title)}</title>', f'<desc id="{ident}-desc">{text(desc)}</desc>',
                      *body, "</svg>"])


def describe(rows: list[str], data: list[tuple[str, list]], fmt: Format) -> str:
    shown = [f"{row}: " + ", ".join(f"{name} {'—' if values[i] is None else fmt(values[i])}" for name, values in data)
             for i, row in enumerate(rows[:DESCRIBED])]
    return "; ".join(shown) + ("; …" if len(rows) > DESCRIBED else ".")


def no_data(title: str, message: str, *, chart_id: str = "chart", kind: str = "bars") -> str:
    """A chart that says there is nothing to draw."""
    body = [f'<rect class="empty-box" x="0" y="0" width="{WIDTH}" height="80"/>',
            f'<text class="empty" x="{WIDTH / 2:g}" y="40">{text(message)}</text>']
    return frame(kind + " empty", chart_id, title, message, 80, body)


def legend(data: list[tuple[str, list]], y: float) -> list[str]:
    """The series' names with their colours, in a row from the left (none for a single series)."""
    if len(data) < 2:
        return []
    parts, x = [], 0.0
    for n, (name, _) in enumerate(data):
        parts.append(f'<rect class="s{n % TONES + 1}" x="{x:g}" y="{y:g}" width="12" height="12"/>'
                     f'<text class="key" x="{x + 17:g}" y="{y + 6:g}">{text(name)}</text>')
        x += 30 + 7.5 * min(len(name), 40)
    return parts


def bars(labels: Sequence[object], series: Sequence[Series], *, title: str, empty: str, fmt: Format = plain,
         maximum: float | None = None, chart_id: str = "chart", split: int = 15) -> str:
    """Horizontal bars: a row per label, a bar per series in it, the value at its end; more than ``split`` rows go
    in two panels side by side. ``maximum`` fixes the scale's end (100 for percentages)."""
    rows, data = cleaned(labels, series)
    if not has_data(rows, data):
        return no_data(title, empty, chart_id=chart_id, kind="bars")
    top, _step = scale(largest(data), maximum)
    panels = 2 if len(rows) > split else 1
    per_panel = math.ceil(len(rows) / panels)
    bar, step = 12, 12 * len(data) + 8
    head = 24 if len(data) > 1 else 0
    panel = WIDTH / panels
    label_w, value_w = (150, 62) if panels == 2 else (190, 70)
    track = panel - label_w - value_w
    body = legend(data, 2)
    for i, row in enumerate(rows):
        x, y = (i // per_panel) * panel + label_w, head + (i % per_panel) * step
        body.append(f'<g data-row={attr(row)}><text class="label" x="{x - 8:g}" y="{y + step / 2 - 4:g}">'
                    f'{text(shorten(row, 24 if panels == 2 else 30))}</text>')
        for n, (name, values) in enumerate(data):
            value, top_y = values[i], y + n * bar
            width = min(track, track * (value or 0) / top)
            shown = "—" if value is None else fmt(value)
            body.append(f'<rect class="track" x="{x:g}" y="{top_y:g}" width="{track:g}" height="{bar - 2}"/>'
                        f'<rect class="s{n % TONES + 1}" x="{x:g}" y="{top_y:g}" width="{width:.1f}" height="{bar - 2}">'
                        f'<title>{text(row)} · {text(name)}: {text(shown)}</title></rect>'
                        f'<text class="value" x="{x + track + 6:g}" y="{top_y + bar / 2 - 1:g}">{text(shown)}</text>')
        body.append("</g>")
    return frame("bars", chart_id, title, describe(rows, data, fmt), head + per_panel * step, body)


def shorten(label: str, limit: int) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"


def axes(top: float, step: float, fmt: Format, left: float, y0: float, height: float) -> list[str]:
    """The value axis: a grid line with its figure at every step."""
    parts = []
    for k in range(round(top / step) + 1):
        y = y0 + height - height * k * step / top
        parts.append(f'<line class="grid" x1="{left:g}" x2="{WIDTH}" y1="{y:.1f}" y2="{y:.1f}"/>'
                     f'<text class="tick" x="{left - 6:g}" y="{y:.1f}">{text(fmt(k * step))}</text>')
    return parts


def x_labels(rows: list[str], left: float, group: float, y: float) -> list[str]:
    """The labels under the plot, every one when they fit, else every second or more."""
    every = max(1, math.ceil(len(rows) * 7 * max(len(r) for r in rows) / (WIDTH - left)))
    return [f'<text class="band" x="{left + group * (i + 0.5):g}" y="{y:g}">{text(shorten(row, 12))}</text>'
            for i, row in enumerate(rows) if i % every == 0]


PLOT = {"left": 52, "top": 26, "height": 180, "below": 24}
"""The column and line charts' plot area in SVG units: the value axis' column, the legend's row, the height, the
labels' row."""


def columns(labels: Sequence[object], series: Sequence[Series], *, title: str, empty: str, fmt: Format = plain,
            maximum: float | None = None, chart_id: str = "chart") -> str:
    """Grouped vertical columns: a group per label, a column per series."""
    rows, data = cleaned(labels, series)
    if not has_data(rows, data):
        return no_data(title, empty, chart_id=chart_id, kind="columns")
    top, step = scale(largest(data), maximum)
    left, y0, height = PLOT["left"], PLOT["top"], PLOT["height"]
    group = (WIDTH - left) / len(rows)
    width = min(22.0, group * 0.8 / len(data))
    body = legend(data, 2) + axes(top, step, fmt, left, y0, height)
    for i, row in enumerate(rows):
        start = left + group * i + (group - width * len(data)) / 2
        body.append(f"<g data-row={attr(row)}>")
        for n, (name, values) in enumerate(data):
            h = min(height, height * (values[i] or 0) / top)
            shown = "—" if values[i] is None else fmt(values[i])
            body.append(f'<rect class="s{n % TONES + 1}" x="{start + n * width:.1f}" y="{y0 + height - h:.1f}" '
                        f'width="{width:.1f}" height="{h:.1f}"><title>{text(row)} · {text(name)}: {text(shown)}</title></rect>')
        body.append("</g>")
    body += x_labels(rows, left, group, y0 + height + 14)
    return frame("bars columns", chart_id, title, describe(rows, data, fmt), y0 + height + PLOT["below"], body)


def lines(labels: Sequence[object], series: Sequence[Series], *, title: str, empty: str, fmt: Format = plain,
          maximum: float | None = None, chart_id: str = "chart") -> str:
    """A line per series over the labels (a missing value breaks its line), a dot at each figure."""
    rows, data = cleaned(labels, series)
    if not has_data(rows, data):
        return no_data(title, empty, chart_id=chart_id, kind="lines")
    top, step = scale(largest(data), maximum)
    left, y0, height = PLOT["left"], PLOT["top"], PLOT["height"]
    group = (WIDTH - left) / len(rows)
    body = legend(data, 2) + axes(top, step, fmt, left, y0, height)
    for n, (name, values) in enumerate(data):
        tone = f"s{n % TONES + 1}"
        points = [(left + group * (i + 0.5), y0 + height - min(height, height * v / top), row, v)
                  for i, (row, v) in enumerate(zip(rows, values)) if v is not None]
        body.append(f"<g data-series={attr(name)}>")
        for run in runs(values, points):
            body.append(f'<polyline class="line {tone}" points="{" ".join(f"{x:.1f},{y:.1f}" for x, y, _, _ in run)}"/>')
        body += [f'<circle class="{tone}" cx="{x:.1f}" cy="{y:.1f}" r="3"><title>{text(row)} · {text(name)}: '
                 f'{text(fmt(v))}</title></circle>' for x, y, row, v in points]
        body.append("</g>")
    body += x_labels(rows, left, group, y0 + height + 14)
    return frame("lines", chart_id, title, describe(rows, data, fmt), y0 + height + PLOT["below"], body)


def runs(values: list, points: list) -> list[list]:
    """The points split where a value is missing, runs of two or more (a lone point is its dot only)."""
    result, current, it = [], [], iter(points)
    for value in values:
        if value is None:
            result.append(current)
            current = []
        else:
            current.append(next(it))
    result.append(current)
    return [run for run in result if len(run) > 1]

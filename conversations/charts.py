"""Small SVG charts drawn on the server for the reports page: no script, no library, no CDN.

Every text that comes from data (queue and agent names, labels) is escaped here; the page inserts the
returned SVG as it is. Each chart has a ``<title>`` and ``<desc>`` and the page shows a table of the
same figures beside it, so nothing is only in the picture.
"""

from __future__ import annotations

import math
from html import escape

from django.utils.safestring import SafeString, mark_safe

PALETTE = ("#2563eb", "#16a34a", "#dc2626", "#d97706", "#7c3aed", "#0891b2")
WIDTH, HEIGHT = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 48, 36, 28, 48


def _nice_max(value: float) -> float:
    """The top of the axis: four steps of 1, 2 or 5 times a power of ten, at or above ``value``, so that
    counts get whole-number ticks."""
    needed = max(value, 1) / 4
    power = 1.0
    while power * 10 <= needed:
        power *= 10
    while power > needed * 10:  # below 1: minutes and fractions
        power /= 10
    step = next(size * power for size in (1, 2, 5, 10) if size * power >= needed)
    return 4 * step


def _number(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"


def _empty(series, empty: str) -> list[str]:
    """A line saying there is nothing to draw, when every value is zero or missing."""
    if not empty or any(v for _name, values in series for v in values):
        return []
    x, y = LEFT + (WIDTH - LEFT - RIGHT) / 2, TOP + (HEIGHT - TOP - BOTTOM) / 2
    return [f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="middle" class="chart-empty">{escape(empty)}</text>']


def _frame(title: str, description: str, body: list[str], legend: list[tuple[str, str]]) -> SafeString:
    items = []
    x = LEFT
    for name, colour in legend:
        items.append(f'<rect x="{x}" y="8" width="10" height="10" rx="2" fill="{colour}"/>')
        items.append(f'<text x="{x + 14}" y="17" class="chart-legend">{escape(name)}</text>')
        x += 24 + 7 * len(name)
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" class="chart">'
        f"<title>{escape(title)}</title><desc>{escape(description)}</desc>" + "".join(items) + "".join(body) + "</svg>"
    )
    return mark_safe(svg)  # noqa: S308 - every data text above went through escape()


def _axis(top_value: float) -> list[str]:
    plot_h = HEIGHT - TOP - BOTTOM
    parts = []
    for step in range(5):
        value = top_value * step / 4
        y = HEIGHT - BOTTOM - plot_h * step / 4
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" class="chart-grid"/>')
        parts.append(
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" class="chart-tick">{_number(value)}</text>'
        )
    return parts


def _label_every(count: int, room: float) -> int:
    """Show every n-th category label so that labels do not overlap."""
    return max(1, math.ceil(count * 60 / max(room, 1)))


def bar_chart(
    title: str, labels: list[str], series: list[tuple[str, list[float]]], *, description: str = "", empty: str = ""
) -> SafeString:
    """Grouped bars: one group per label, one bar per series."""
    plot_w = WIDTH - LEFT - RIGHT
    plot_h = HEIGHT - TOP - BOTTOM
    top_value = _nice_max(max((v for _n, values in series for v in values if v is not None), default=0))
    body = _axis(top_value)
    groups = max(len(labels), 1)
    group_w = plot_w / groups
    bar_w = max(2.0, min(28.0, (group_w * 0.8) / max(len(series), 1)))
    every = _label_every(len(labels), plot_w)
    for index, label in enumerate(labels):
        x0 = LEFT + group_w * index + (group_w - bar_w * len(series)) / 2
        for number, (name, values) in enumerate(series):
            value = values[index] or 0
            h = plot_h * value / top_value
            x = x0 + bar_w * number
            y = HEIGHT - BOTTOM - h
            colour = PALETTE[number % len(PALETTE)]
            body.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w - 1:.1f}" height="{h:.1f}" fill="{colour}">'
                f"<title>{escape(label)} · {escape(name)}: {_number(value)}</title></rect>"
            )
        if index % every == 0:
            centre = LEFT + group_w * (index + 0.5)
            body.append(
                f'<text x="{centre:.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle" class="chart-tick">'
                f"{escape(_short(label))}</text>"
            )
    legend = [(name, PALETTE[i % len(PALETTE)]) for i, (name, _v) in enumerate(series)]
    return _frame(title, description or title, body + _empty(series, empty), legend)


def line_chart(
    title: str, labels: list[str], series: list[tuple[str, list[float]]], *, description: str = "", empty: str = ""
) -> SafeString:
    """Lines over days (``labels`` in order)."""
    plot_w = WIDTH - LEFT - RIGHT
    plot_h = HEIGHT - TOP - BOTTOM
    top_value = _nice_max(max((v for _n, values in series for v in values if v is not None), default=0))
    body = _axis(top_value)
    count = max(len(labels), 1)
    step = plot_w / max(count - 1, 1)

    def point(index: int, value: float) -> tuple[float, float]:
        x = LEFT + (step * index if count > 1 else plot_w / 2)
        return x, HEIGHT - BOTTOM - plot_h * (value or 0) / top_value

    for number, (name, values) in enumerate(series):
        colour = PALETTE[number % len(PALETTE)]
        points = [point(i, v) for i, v in enumerate(values)]
        body.append(
            f'<polyline fill="none" stroke="{colour}" stroke-width="2" '
            f'points="{" ".join(f"{x:.1f},{y:.1f}" for x, y in points)}"/>'
        )
        for (x, y), label, value in zip(points, labels, values, strict=False):
            body.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{colour}">'
                f"<title>{escape(label)} · {escape(name)}: {_number(value or 0)}</title></circle>"
            )
    every = _label_every(len(labels), plot_w)
    for index, label in enumerate(labels):
        if index % every == 0:
            x, _y = point(index, 0)
            body.append(
                f'<text x="{x:.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle" class="chart-tick">'
                f"{escape(_short(label))}</text>"
            )
    legend = [(name, PALETTE[i % len(PALETTE)]) for i, (name, _v) in enumerate(series)]
    return _frame(title, description or title, body + _empty(series, empty), legend)


def _short(label: str, limit: int = 14) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"

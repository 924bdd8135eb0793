"""Draw the soak's p99 latency and server memory per minute from a ``chat_benchmark --soak --json`` report.

    python -m bench.soak_chart docs/benchmarks/soak.json -o docs/images/soak.svg

Two panels, one point a minute: the p99 (and the p50) of the messages of that minute, and the server's
resident memory at its end. The memory growth the report states (after the fifth minute) is marked.
"""

from __future__ import annotations

import argparse
import json
from html import escape
from pathlib import Path

WIDTH, LEFT, RIGHT, PANEL_H, TOP = 900, 70, 30, 180, 50


def _panel(y0: float, title: str, series: list[tuple[str, str, list[float]]], unit: str, minutes: int) -> list[str]:
    values = [v for _name, _colour, points in series for v in points if v is not None]
    high = max(values) * 1.15 if values else 1.0
    low = 0.0
    plot_w = WIDTH - LEFT - RIGHT
    parts = [f'<text x="16" y="{y0 - 10}" class="group">{escape(title)}</text>']
    parts.append(f'<rect x="{LEFT}" y="{y0}" width="{plot_w}" height="{PANEL_H}" fill="#f8fafc" stroke="#e2e8f0"/>')
    for k in range(5):
        value = low + (high - low) * k / 4
        y = y0 + PANEL_H - PANEL_H * k / 4
        parts.append(f'<line x1="{LEFT}" x2="{LEFT + plot_w}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e2e8f0"/>')
        parts.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" class="axis" text-anchor="end">{value:,.0f} {unit}</text>')

    def x_of(i: int) -> float:
        return LEFT + (plot_w * (i / max(1, minutes - 1)))

    for i in range(minutes):
        if minutes <= 12 or i % 5 == 4 or i == 0:
            parts.append(
                f'<text x="{x_of(i):.1f}" y="{y0 + PANEL_H + 14}" class="axis" text-anchor="middle">{i + 1}</text>'
            )
    for legend, (name, colour, points) in enumerate(series):
        coords = [
            f"{x_of(i):.1f},{y0 + PANEL_H - PANEL_H * (v - low) / (high - low):.1f}"
            for i, v in enumerate(points)
            if v is not None
        ]
        if coords:
            parts.append(f'<polyline points="{" ".join(coords)}" fill="none" stroke="{colour}" stroke-width="2"/>')
            for point in coords:
                x, y = point.split(",")
                parts.append(f'<circle cx="{x}" cy="{y}" r="2.5" fill="{colour}"/>')
        lx = LEFT + legend * 160
        parts.append(f'<rect x="{lx}" y="{y0 + PANEL_H + 24}" width="12" height="3" fill="{colour}"/>')
        parts.append(f'<text x="{lx + 18}" y="{y0 + PANEL_H + 30}" class="note">{escape(name)}</text>')
    return parts


def render(report: dict) -> str:
    soak = report["soak"]
    minutes = soak["per_minute"]
    n = len(minutes)
    parts = _panel(
        TOP + 30,
        "Latency per minute (customer send to agent receipt)",
        [
            ("p99", "#dc2626", [m["latency_ms"]["p99"] for m in minutes]),
            ("p50", "#2563eb", [m["latency_ms"]["p50"] for m in minutes]),
        ],
        "ms",
        n,
    )
    parts += _panel(
        TOP + 30 + PANEL_H + 90,
        f"Server memory (RSS) at the end of each minute; growth after minute {soak['rss_growth_from_minute']}:"
        f" {soak['rss_growth_pct']}%",
        [("RSS", "#059669", [m["rss_mb"] for m in minutes])],
        "MB",
        n,
    )
    height = TOP + 30 + 2 * (PANEL_H + 90)
    server = report.get("server", {})
    setup = "PostgreSQL + Redis" if server.get("mode") == "production" else "SQLite + in-memory layer"
    title = (
        f"Soak: {n} min, {soak['conversations']} conversations x {soak['rate']} msg/s, 10% of the sockets"
        f" reconnecting a minute ({setup}); {soak['sent']:,} sent, {soak['lost']} lost"
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" '
        'font-family="system-ui, sans-serif">'
        "<style>.title{font-size:15px;font-weight:700;fill:#0f172a}.group{font-size:13px;font-weight:600;"
        "fill:#0f172a}.note{font-size:12px;fill:#475569}.axis{font-size:11px;fill:#64748b}</style>"
        f'<rect width="{WIDTH}" height="{height}" fill="#ffffff"/>'
        f'<text x="16" y="28" class="title">{escape(title)}</text>' + "".join(parts) + "</svg>\n"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report", type=Path)
    parser.add_argument("-o", "--output", type=Path, required=True)
    args = parser.parse_args()
    args.output.write_text(render(json.loads(args.report.read_text(encoding="utf-8"))), encoding="utf-8")


if __name__ == "__main__":
    main()

"""Draw docs/images/performance.svg from ``chat_benchmark --json`` reports.

    python -m bench.chart docs/benchmarks/embedded.json \\
        docs/benchmarks/production-1.json docs/benchmarks/production-2.json -o docs/images/performance.svg

For each report: two bars (Parley's full relay and the bare group relay on the
same channel layer, in messages per second, closed loop), labelled with the
figure; beside them the full relay's p99 latency in the paced phase.
"""

from __future__ import annotations

import argparse
import json
from html import escape
from pathlib import Path

BARS = (
    ("Parley relay (store + route + deliver)", "#2563eb", lambda r: r["relay"]["msgs_per_s"]),
    ("bare group relay (same layer)", "#94a3b8", lambda r: r["anchor"]["group_relay"]["msgs_per_s"]),
)


def label(report: dict) -> str:
    server = report["server"]
    processes = server["processes"]
    mode = "SQLite + in-memory layer" if server["mode"] == "embedded" else "PostgreSQL + Redis"
    return f"{mode}, {processes} process{'es' if processes > 1 else ''}"


def render(reports: list[dict]) -> str:
    width, left, bar_h, gap, group_gap = 900, 300, 18, 4, 30
    top = 60
    scale_max = max(fn(r) for r in reports for _n, _c, fn in BARS)
    plot_w = width - left - 170
    y = top
    parts = []
    for report in reports:
        parts.append(f'<text x="16" y="{y + 14}" class="group">{escape(label(report))}</text>')
        p99 = report["relay"]["latency_ms"]["p99"]
        offered = report["relay"]["paced"]["offered_msgs_per_s"]
        parts.append(f'<text x="16" y="{y + 32}" class="note">p99 {p99:,.0f} ms at {offered:.0f} msg/s offered</text>')
        for _name, colour, fn in BARS:
            value = fn(report)
            w = max(1.0, plot_w * value / scale_max)
            parts.append(f'<rect x="{left}" y="{y}" width="{w:.1f}" height="{bar_h}" fill="{colour}" rx="3"/>')
            parts.append(f'<text x="{left + w + 6:.1f}" y="{y + 13}" class="value">{value:,.0f} msg/s</text>')
            y += bar_h + gap
        y += group_gap
    legend_y = y
    for i, (name, colour, _fn) in enumerate(BARS):
        x = 16 + i * 290
        parts.append(f'<rect x="{x}" y="{legend_y}" width="12" height="12" fill="{colour}" rx="2"/>')
        parts.append(f'<text x="{x + 18}" y="{legend_y + 11}" class="note">{escape(name)}</text>')
    height = legend_y + 30
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        'font-family="system-ui, sans-serif">'
        "<style>.title{font-size:16px;font-weight:700;fill:#0f172a}.group{font-size:13px;font-weight:600;"
        "fill:#0f172a}.note{font-size:12px;fill:#475569}.value{font-size:12px;fill:#0f172a}</style>"
        f'<rect width="{width}" height="{height}" fill="#ffffff"/>'
        '<text x="16" y="30" class="title">Messages per second, closed loop, 200 conversations, '
        "2 cores for client and server</text>" + "".join(parts) + "</svg>\n"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("reports", nargs="+", type=Path)
    parser.add_argument("-o", "--output", type=Path, required=True)
    args = parser.parse_args()
    reports = [json.loads(path.read_text(encoding="utf-8")) for path in args.reports]
    args.output.write_text(render(reports), encoding="utf-8")


if __name__ == "__main__":
    main()

"""The reports' SVG charts (conversations/charts.py)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from conversations import charts


def test_names_are_escaped_and_the_svg_is_well_formed():
    svg = charts.bar_chart("By queue", ["<script>alert(1)</script>", "Billing & Co"], [("Created", [3, 1])])
    assert "<script>" not in svg
    assert "&lt;script&gt;" in svg and "Billing &amp; Co" in svg
    root = ET.fromstring(svg)  # noqa: S314 - our own output
    assert root.tag.endswith("svg") and root.find("{http://www.w3.org/2000/svg}title").text == "By queue"


def test_counts_get_whole_number_ticks():
    svg = charts.bar_chart("Few", ["a"], [("n", [1])])
    ticks = re.findall(r'class="chart-tick">([^<]+)</text>', svg)
    assert ticks[:5] == ["0", "1", "2", "3", "4"]
    big = charts.line_chart("Many", ["d1", "d2"], [("n", [0, 170])])
    assert re.findall(r'class="chart-tick">([^<]+)</text>', big)[:5] == ["0", "50", "100", "150", "200"]


def test_a_chart_without_data_says_so():
    svg = charts.line_chart("Empty", ["d1", "d2"], [("n", [0, 0])], empty="No data in this range.")
    assert "No data in this range." in svg
    assert "No data" not in charts.line_chart("Some", ["d1"], [("n", [2])], empty="No data in this range.")

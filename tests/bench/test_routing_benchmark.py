"""The routing benchmark command, run with tiny numbers (docs/performance.md has real figures)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_benchmark(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.test_settings"}
    return subprocess.run(
        [sys.executable, "manage.py", "routing_benchmark", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=100,
    )


def test_benchmark_prints_cost_per_assignment_at_each_queue_length():
    done = run_benchmark("--conversations", "60", "--agents", "6", "--lengths", "60,20", "--batch", "8")
    assert done.returncode == 0, done.stderr
    rows = [line.split() for line in done.stdout.splitlines() if line.split() and line.split()[0].isdigit()]
    assert [(row[0], row[1]) for row in rows] == [("60", "8"), ("20", "8")]
    for row in rows:
        assert 10 <= float(row[4]) <= 30  # database queries per assignment, the same at both lengths
        assert float(row[5]) >= 0  # milliseconds inside the database per assignment: a figure, not asserted
    assert rows[0][4] == rows[1][4]
    assert rows[0][8] == "60" and rows[1][8] == "20"  # a full position round tells every queued customer


def test_benchmark_refuses_impossible_numbers():
    done = run_benchmark("--conversations", "10", "--lengths", "50")
    assert done.returncode != 0 and "between 1 and --conversations" in done.stderr

"""The supervisor statistics benchmark, run with tiny numbers (docs/performance.md has the real figures)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_benchmark(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.test_settings"}
    return subprocess.run(
        [sys.executable, "manage.py", "supervisor_benchmark", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=100,
    )


def test_benchmark_prints_a_rounds_cost_and_one_computation_for_any_number_of_supervisors():
    done = run_benchmark("--agents", "12", "--queues", "3", "--conversations", "60", "--rounds", "2")
    assert done.returncode == 0, done.stderr
    round_line = next(line for line in done.stdout.splitlines() if line.startswith("stats round:"))
    assert re.search(r", 6 queries, frame \d+ KiB \(3 queues, 12 agents\)", round_line), round_line
    hubs = re.findall(r"hub round with +(\d+) supervisor sockets: (\d+) computation, (\d+) frames sent", done.stdout)
    assert hubs == [("1", "1", "1"), ("5", "1", "5"), ("50", "1", "50")]


def test_benchmark_refuses_impossible_numbers():
    done = run_benchmark("--agents", "0")
    assert done.returncode != 0 and "at least 1" in done.stderr

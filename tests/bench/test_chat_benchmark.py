"""``chat_benchmark`` with tiny numbers: it runs its own server and writes the report other tools read
(docs/performance.md has the real figures; nothing here asserts a speed)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_chat_benchmark_reports_every_figure_and_loses_nothing(tmp_path):
    out = tmp_path / "report.json"
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(DEBUG="true", SECRET_KEY="benchmark-smoke-test-key")
    done = subprocess.run(
        [sys.executable, "manage.py", "chat_benchmark", "--conversations", "6", "--rate", "2", "--seconds", "2"]
        + ["--saturate-seconds", "1", "--long-list", "60", "--json", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "relay / group relay" in done.stdout
    report = json.loads(out.read_text())
    relay = report["relay"]
    assert relay["paced"]["lost"] == 0 and relay["paced"]["acks"] == relay["paced"]["sent"] > 0
    assert relay["msgs_per_s"] > 0
    assert set(relay["latency_ms"]) >= {"p50", "p95", "p99"}
    assert relay["latency_ms"]["p50"] <= relay["latency_ms"]["p99"]
    assert report["connections"] == 6 + report["params"]["agents"]
    assert report["server"]["rss_mb"] > 0
    # the messages' own statements: BEGIN, the UPDATE that takes the seq, the INSERT (SQLite)
    assert 2.5 <= report["queries_per_message"] <= 4
    for name in ("group_relay", "echo"):
        assert report["anchor"][name]["msgs_per_s"] > 0 and report["anchor"][name]["paced"]["lost"] == 0
    assert report["relay_vs_group_relay"] == round(
        relay["msgs_per_s"] / report["anchor"]["group_relay"]["msgs_per_s"], 3
    )
    assert relay["saturated"]["cores"]["client"] > 0
    # the closed loops took turns: three rounds of each side, whose messages add up to the figure
    for part in (relay, report["anchor"]["group_relay"], report["anchor"]["echo"]):
        assert len(part["saturated"]["rounds_msgs_per_s"]) == 3
        assert part["saturated"]["completed"] == round(part["msgs_per_s"] * 1)
    # an agent with 60 waiting conversations: each welcome shows the newest 50 of them and counts all 60
    lists = report["long_list"]
    assert lists["waiting"] == 60 and lists["welcomes"] == 10
    assert lists["conversations_in_welcome"] == 50 and lists["conversations_total"] == 60
    # the session, its user, the socket's row and the welcome's dozen, not one per conversation (the
    # server's timer sweeps may add theirs to a connect's count: the fewest of the ten is the connect's)
    assert 0 < lists["queries_per_connect"]["min"] <= 25
    assert 0 < lists["welcome_ms"]["median"] <= lists["welcome_ms"]["max"]
    assert "long list (60 waiting)" in done.stdout

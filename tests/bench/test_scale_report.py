"""The report contract of ``chat_benchmark --soak`` (a real soak takes minutes: docs/performance.md has its
figures; nothing here asserts a speed)."""

from __future__ import annotations

from bench import scale


def minute(n: int, *, rss: float, p99: float, sent: int = 12000, lost: int = 0) -> dict:
    return {
        "minute": n,
        "sent": sent,
        "delivered": sent - lost,
        "lost": lost,
        "errors": {},
        "latency_ms": {"p50": 2.0, "p95": 4.0, "p99": p99, "max": p99 * 2, "count": sent - lost},
        "reconnected": 21,
        "rss_mb": rss,
        "server_cpu_ms_per_message": 1.5,
    }


def test_the_soak_summary_measures_memory_growth_after_the_fifth_minute_and_adds_up_the_losses():
    minutes = [minute(i + 1, rss=100 + 10 * i if i < 5 else 140 + (i - 4), p99=5 + i) for i in range(10)]
    minutes[7]["lost"] = 3
    summary = scale.soak_summary(minutes, 90.0, 200, 1.0)
    assert summary["minutes"] == 10 and summary["sent"] == 120000 and summary["lost"] == 3
    assert summary["rss_growth_from_minute"] == 5
    assert summary["rss_growth_pct"] == round((145 - 140) * 100 / 140, 2)  # minute 5 -> minute 10
    assert summary["p99_ms_max"] == 14 and summary["p99_ms_median"] == 9.5
    assert summary["reconnected"] == 210
    table = scale.soak_table(summary)
    assert table.count("\n") == 11  # a header, ten minutes, the summary line
    assert "3 lost" in table and "RSS growth after minute 5: 3.57%" in table


def test_a_soak_shorter_than_five_minutes_measures_growth_from_its_last_minute_but_one():
    summary = scale.soak_summary([minute(1, rss=100, p99=5), minute(2, rss=101, p99=6)], 95.0, 10, 1.0)
    assert summary["rss_growth_from_minute"] == 2 and summary["rss_growth_pct"] == 0.0


def test_the_soak_chart_draws_a_point_a_minute_for_latency_and_memory():
    from bench import soak_chart

    minutes = [minute(i + 1, rss=100 + i, p99=5 + i) for i in range(6)]
    report = {"soak": scale.soak_summary(minutes, 99.0, 200, 1.0), "server": {"mode": "embedded"}}
    svg = soak_chart.render(report)
    assert svg.startswith("<svg") and svg.count("<polyline") == 3  # p99, p50, RSS
    assert svg.count("<circle") == 18 and "0 lost" in svg


def test_a_traced_soak_lists_where_the_memory_it_still_holds_was_allocated():
    summary = scale.soak_summary([minute(i + 1, rss=100 + i, p99=5) for i in range(6)], 99.0, 10, 1.0)
    summary["tracemalloc"] = {
        "from_minute": 2,
        "total_kb": 2048.0,
        "by_line": [{"where": f"conversations/x.py:{n}", "kb": 100.0 - n, "blocks": 10 * n} for n in range(20)],
    }
    table = scale.soak_table(summary)
    assert "allocated since the end of minute 2 and still held: 2048.0 KiB" in table
    assert "conversations/x.py:0" in table and "conversations/x.py:14" in table
    assert "conversations/x.py:15" not in table  # the 15 largest lines

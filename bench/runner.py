"""One benchmark run: set up, full relay, anchors, optional probes; the report."""

from __future__ import annotations

import asyncio
import os
import platform
import secrets
import statistics
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from admin_center.demo_keys import generate_key_pair

from . import load, scale


@dataclass
class Options:
    conversations: int = 200
    rate: float = 1.0
    seconds: float = 30.0
    saturate_seconds: float = 10.0
    rounds: int = 3
    agents: int = 0
    history: int = 0
    probe_history: int = 0
    idle: int = 0
    idle_hold: float = 5.0
    idle_tracemalloc: bool = False
    soak: bool = False
    soak_minutes: int = 30
    soak_trace_from: int = 0
    second_wave: bool = False
    webhook_only: bool = False
    pick_queue: bool = False
    pick_open: int = 2000
    pick_agents: int = 200
    long_list: int = 0


Setup = Callable[[str, dict], dict]


def machine() -> dict:
    model = ""
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def per_message(queries_before: int | None, queries_after: int | None, messages: int) -> float | None:
    if queries_before is None or queries_after is None or not messages:
        return None
    return round((queries_after - queries_before) / messages, 2)


def _cpu_ms(before: list[dict] | None, after: list[dict] | None, messages: int) -> float | None:
    """Server CPU time (all processes) per message between two stats readings."""
    if not before or not after or not messages:
        return None
    spent = sum(b["cpu_s"] for b in after) - sum(a["cpu_s"] for a in before)
    return round(spent * 1000 / messages, 3)


async def _closed_loop(side, urls: list[str], n: int, seconds: float) -> dict:
    """``load.saturated_phase`` plus the CPU the server processes and this client spent in it, in cores
    (CPU seconds per second): on a machine where both share the cores, this shows which side ran out."""
    before, own_before = await load.server_stats(urls), sum(os.times()[:2])
    started = time.perf_counter()
    result = await load.saturated_phase(side, n, seconds)
    wall = time.perf_counter() - started
    after, own_after = await load.server_stats(urls), sum(os.times()[:2])
    server = sum(s["cpu_s"] for s in after) - sum(s["cpu_s"] for s in before) if before and after else None
    # with SQLite, messages that arrive together are stored in one transaction (conversations/group_commit.py)
    result["queries_per_message"] = per_message(
        load.total_queries(before), load.total_queries(after), side.tracker.acks
    )
    result["cores"] = {
        "server": None if server is None else round(server / wall, 2),
        "client": round((own_after - own_before) / wall, 2),
        "machine": os.cpu_count(),
    }
    return result


async def _closed_loops(sides: dict, urls: list[str], n: int, seconds: float, rounds: int) -> dict[str, dict]:
    """The closed loops of all ``sides`` in turns: ``rounds`` rounds of ``seconds / rounds`` each. The
    speed of a shared machine drifts during a run (the bare anchors moved by a factor of two within one
    day here); in turns, the drift falls on every side alike, which is what the ratio between them needs."""
    parts: dict[str, list[dict]] = {name: [] for name in sides}
    for _ in range(max(1, rounds)):
        for name, side in sides.items():
            parts[name].append(await _closed_loop(side, urls, n, seconds / max(1, rounds)))
    return {name: _combined(rounds_of_one, seconds) for name, rounds_of_one in parts.items()}


def _combined(parts: list[dict], seconds: float) -> dict:
    completed = sum(p["completed"] for p in parts)
    queries = [(p["queries_per_message"], p["completed"]) for p in parts if p.get("queries_per_message") is not None]
    cores = [p["cores"] for p in parts]
    return {
        "msgs_per_s": round(completed / seconds, 1),
        "completed": completed,
        "timed_out": sum(p["timed_out"] for p in parts),
        "rounds_msgs_per_s": [p["msgs_per_s"] for p in parts],
        "latency_ms": {
            key: statistics.median(p["latency_ms"][key] for p in parts if p["latency_ms"].get(key) is not None)
            for key in ("p50", "p95", "p99")
            if any(p["latency_ms"].get(key) is not None for p in parts)
        },
        "errors": {k: sum(p["errors"].get(k, 0) for p in parts) for k in {k for p in parts for k in p["errors"]}},
        "queries_per_message": round(sum(q * c for q, c in queries) / max(1, sum(c for _, c in queries)), 2)
        if queries
        else None,
        "cores": {
            "server": None
            if any(c["server"] is None for c in cores)
            else round(statistics.mean(c["server"] for c in cores), 2),
            "client": round(statistics.mean(c["client"] for c in cores), 2),
            "machine": cores[0]["machine"],
        },
    }


async def _timed(coro) -> tuple[float, object]:
    started = time.perf_counter()
    result = await coro
    return time.perf_counter() - started, result


async def history_probe(side: load.ParleySide, setup: Setup, length: int, samples: int = 20) -> dict:
    """Cost of ``welcome`` (with its latest 50 messages) and of ``history`` pages in a conversation of
    ``length`` messages against a short one. Both are filled first and then measured in turns, sample by
    sample, so that the machine's drift and the database's state (its write-ahead log, its caches) are
    the same for both."""
    url = side.urls[0]
    lengths = {"short": 200, "long": length}
    last_seqs = {}
    for name, count in lengths.items():
        subject = f"bench-{name}"
        conn, welcome = await side.open_customer(subject, url)
        if welcome["conversation"] is None or welcome["conversation"]["state"] != "active":
            await conn.send({"type": "send", "client_id": f"{side.run}-{subject}", "text": "Hello"})
            await conn.expect("state", timeout=60, state="active")
        await conn.close()
        filled = await asyncio.to_thread(setup, "fill_history", {"subjects": [subject], "count": count})
        last_seqs[name] = filled[subject]

    welcome_times: dict[str, list[float]] = {name: [] for name in lengths}
    for _ in range(samples):
        for name in lengths:
            elapsed, (conn, welcome) = await _timed(side.open_customer(f"bench-{name}", url))
            assert welcome["conversation"]["last_seq"] >= last_seqs[name]  # noqa: S101 - the probe measured what it meant to
            welcome_times[name].append(elapsed)
            await conn.close()

    conns = {name: (await side.open_customer(f"bench-{name}", url))[0] for name in lengths}
    pages = {name: {"newest": last + 1, "middle": last // 2, "oldest": 51} for name, last in last_seqs.items()}
    page_times = {name: {page: [] for page in pages[name]} for name in lengths}
    for _ in range(samples):
        for page in ("newest", "middle", "oldest"):
            for name in lengths:
                elapsed, _ = await _timed(_history(conns[name], pages[name][page]))
                page_times[name][page].append(elapsed)

    # The queries, counted apart from the timing (one conversation at a time, the sockets' closing included).
    queries = {}
    for name in lengths:
        before = load.total_queries(await load.server_stats([url]))
        for _ in range(5):
            conn, _ = await side.open_customer(f"bench-{name}", url)
            await conn.close()
        await asyncio.sleep(0.5)  # the last close is handled
        after_welcomes = load.total_queries(await load.server_stats([url]))
        for page in pages[name].values():
            await _history(conns[name], page)
        after_pages = load.total_queries(await load.server_stats([url]))
        queries[name] = (per_message(before, after_welcomes, 5), per_message(after_welcomes, after_pages, 3))
    for conn in conns.values():
        await conn.close()
    return {
        name: {
            "messages": last_seqs[name],
            "welcome_ms_median": round(statistics.median(welcome_times[name]) * 1000, 2),
            "queries_per_welcome": queries[name][0],  # connect, hello, close
            "history_ms_median": {k: round(statistics.median(v) * 1000, 2) for k, v in page_times[name].items()},
            "queries_per_history_page": queries[name][1],
        }
        for name in lengths
    }


async def _history(conn: load.Conn, before_seq: int) -> dict:
    await conn.send({"type": "history", "before_seq": before_seq, "limit": 50})
    frame = await conn.expect("history")
    if len(frame["messages"]) != 50 or frame["messages"][-1]["seq"] != before_seq - 1:
        raise RuntimeError(f"history before {before_seq} answered {len(frame['messages'])} messages")
    return frame


async def idle_probe(side: load.ParleySide, count: int, hold: float, *, tracemalloc: bool = False) -> dict:
    """``count`` widgets that said hello and then stay idle, on the first process. With ``tracemalloc``
    the server traces its allocations meanwhile and reports what the widgets hold, by line and by file
    (the trace's own memory inflates RSS then: the KiB per connection come from a run without it)."""
    url = side.urls[0]
    if tracemalloc:
        await load.server_trace(url, "start")
    stats_before = await load.server_stats([url])
    started = time.perf_counter()

    async def one(i: int) -> load.Conn:
        conn, _ = await side.open_customer(f"bench-idle-{i}", url)
        return conn

    # tracing slows the server several times over: fewer handshakes at once keep them within its timeouts
    conns = await load.gather_limited([one(i) for i in range(count)], limit=2 if tracemalloc else 50)
    opened_in = time.perf_counter() - started
    await asyncio.sleep(hold)
    stats_after = await load.server_stats([url])
    held = sum(1 for c in conns if not c.closed)
    trace = await load.server_trace(url, "report") if tracemalloc else None
    await asyncio.gather(*(c.close() for c in conns))
    result = {
        "connections": count,
        "held_after_s": hold,
        "still_open": held,
        "server_sockets": stats_after[0]["parley_sockets"] if stats_after else None,
        "open_all_s": round(opened_in, 2),
    }
    if trace is not None:
        result["tracemalloc"] = {**trace, "kb_per_connection": round(trace.get("total_kb", 0) / count, 2)}
    if stats_before and stats_after and stats_before[0]["rss_kb"] and stats_after[0]["rss_kb"]:
        grown = stats_after[0]["rss_kb"] - stats_before[0]["rss_kb"]
        result.update(
            {
                "rss_before_mb": round(stats_before[0]["rss_kb"] / 1024, 1),
                "rss_after_mb": round(stats_after[0]["rss_kb"] / 1024, 1),
                "kb_per_connection": round(grown / count, 1),
            }
        )
    return result


async def run(urls: list[str], setup: Setup, options: Options, log: Callable[[str], None]) -> dict:
    run_id = uuid.uuid4().hex[:6]
    n = options.conversations
    agents = options.agents or max(2, -(-n // 20))
    private_pem, public_pem = generate_key_pair()
    password = secrets.token_urlsafe(18)
    started_at = datetime.now(UTC)
    report: dict = {
        "started_at": started_at.isoformat().replace("+00:00", "Z"),
        "machine": machine(),
        "params": {
            "urls": urls,
            "conversations": n,
            "agents": agents,
            "rate": options.rate,
            "seconds": options.seconds,
            "saturate_seconds": options.saturate_seconds,
            "rounds": options.rounds,
            "history": options.history,
        },
    }
    info = await asyncio.to_thread(setup, "prepare", {"agents": agents, "public_pem": public_pem, "password": password})
    if await load.server_stats(urls) is None:
        raise RuntimeError("the server has no benchmark routes: start it with PARLEY_BENCHMARK_ROUTES=true")

    log(f"connecting {agents} agents and {n} customers")
    side = load.ParleySide(urls, info["widget"], private_pem, run_id)
    await load.stall_probe(urls, "start")  # before the first message: it times every group commit
    await side.connect_agents(info["agents"], password)
    await side.connect_customers(n)
    report["connections"] = len(side.agents) + len(side.customers)
    if options.history:
        log(f"adding {options.history} earlier messages to each conversation")
        await asyncio.to_thread(
            setup, "fill_history", {"subjects": [f"bench-c{i}" for i in range(n)], "count": options.history}
        )

    if options.soak:
        log(f"soak: {options.soak_minutes} min at {n} x {options.rate} msg/s, 10% of the sockets reconnecting a minute")
        report["soak"] = await scale.soak(
            side, urls, n, options.rate, options.soak_minutes, log, trace_from=options.soak_trace_from
        )
        await side.close()
        report["server"] = {"processes": len(urls)}
        report["duration_s"] = round((datetime.now(UTC) - started_at).total_seconds(), 1)
        return report

    log(f"relay: {n} conversations x {options.rate} msg/s for {options.seconds} s")
    stats_before = await load.server_stats(urls)
    await load.stall_probe(urls, "start")
    engines_before = load.engine_cpu_s()
    relay_paced = await load.paced_phase(side, n, options.rate, options.seconds)
    engines_after = load.engine_cpu_s()
    stats_after = await load.server_stats(urls)
    relay_paced["engine_cpu_ms_per_message"] = {
        name: round((engines_after[name] - engines_before[name]) * 1000 / max(1, relay_paced["acks"]), 3)
        for name in engines_before
    }
    relay_paced["stall_probe"] = await load.stall_probe(urls, "report")
    queries = per_message(load.total_queries(stats_before), load.total_queries(stats_after), relay_paced["acks"])
    report["queries_per_message"] = queries
    report["server"] = {
        "processes": len(urls),
        "process_ids": [s["process"] for s in stats_after or []],
        "rss_mb": load.total_rss_mb(stats_after),
        "rss_mb_each": [round(s["rss_kb"] / 1024, 1) for s in stats_after or [] if s.get("rss_kb")],
        # Server CPU per relayed message in the paced phase: robust when other programs share the CPUs.
        "cpu_ms_per_message": _cpu_ms(stats_before, stats_after, relay_paced["acks"]),
    }
    anchor_sides = {"group_relay": load.GroupRelayAnchor(urls, run_id), "echo": load.EchoAnchor(urls, run_id)}
    anchors = {}
    for name, anchor in anchor_sides.items():
        log(f"anchor {name}: paced")
        await anchor.connect(n)
        before = await load.server_stats(urls)
        paced = await load.paced_phase(anchor, n, options.rate, options.seconds)
        after = await load.server_stats(urls)
        cpu_ms = _cpu_ms(before, after, paced["sent"])
        anchors[name] = {"latency_ms": paced["latency_ms"], "cpu_ms_per_message": cpu_ms, "paced": paced}

    log(f"closed loops: relay, group relay, echo in turns, {options.rounds} rounds, {options.saturate_seconds} s each")
    loops = await _closed_loops({"relay": side, **anchor_sides}, urls, n, options.saturate_seconds, options.rounds)
    report["relay"] = {
        "msgs_per_s": loops["relay"]["msgs_per_s"],
        "latency_ms": relay_paced["latency_ms"],
        "paced": relay_paced,
        "saturated": loops["relay"],
    }
    for name, anchor in anchor_sides.items():
        anchors[name] = {"msgs_per_s": loops[name]["msgs_per_s"], **anchors[name], "saturated": loops[name]}
        await anchor.close()
    report["anchor"] = anchors
    group = anchors["group_relay"]["msgs_per_s"]
    report["relay_vs_group_relay"] = round(report["relay"]["msgs_per_s"] / group, 3) if group else None

    if options.second_wave:
        report["second_wave"] = await scale.second_wave(side, urls, setup, n, options, log, closed_loop=_closed_loop)

    if options.probe_history:
        log(f"history probe: {options.probe_history} messages")
        report["history_probe"] = await history_probe(side, setup, options.probe_history)
    await side.close()

    if options.long_list:
        report["long_list"] = await scale.long_list_probe(urls, setup, log, waiting=options.long_list)
    if options.pick_queue:
        report["pick_queue"] = await scale.pick_queue_probe(
            urls, setup, private_pem, run_id, log, open_count=options.pick_open, agents=options.pick_agents
        )

    if options.idle:
        log(f"idle widgets: {options.idle}")
        report["idle"] = await idle_probe(side, options.idle, options.idle_hold, tracemalloc=options.idle_tracemalloc)
    report["duration_s"] = round((datetime.now(UTC) - started_at).total_seconds(), 1)
    return report


def _fmt(value) -> str:
    return "-" if value is None else str(value)


def table(report: dict) -> str:
    if "relay" not in report:  # a soak
        return scale.soak_table(report["soak"])
    relay, anchors = report["relay"], report["anchor"]
    rows = [
        ("", "msgs/s (closed loop)", "p50 ms", "p95 ms", "p99 ms", "lost"),
    ]
    for name, part in (("Parley relay", relay), *((f"anchor {k}", v) for k, v in anchors.items())):
        latency = part["latency_ms"]
        rows.append(
            (
                name,
                _fmt(part["msgs_per_s"]),
                _fmt(latency["p50"]),
                _fmt(latency["p95"]),
                _fmt(latency["p99"]),
                _fmt(part["paced"]["lost"]),
            )
        )
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    params = report["params"]
    lines += [
        "",
        f"conversations {params['conversations']} at {params['rate']} msg/s for {params['seconds']} s"
        f" (offered {relay['paced']['offered_msgs_per_s']} msg/s); connections {report['connections']}",
        f"relay / group relay: {_fmt(report['relay_vs_group_relay'])}",
        f"queries per message: {_fmt(report['queries_per_message'])} paced,"
        f" {_fmt(relay['saturated'].get('queries_per_message'))} closed loop"
        + (f" (history {params['history']} per conversation)" if params["history"] else ""),
        f"server RSS: {_fmt(report['server']['rss_mb'])} MB in {report['server']['processes']} process(es);"
        f" server CPU per message {_fmt(report['server']['cpu_ms_per_message'])} ms",
    ]
    cores = relay["saturated"].get("cores")
    if cores:
        lines.append(
            f"closed loop CPU: server {_fmt(cores['server'])} cores, this client {_fmt(cores['client'])} cores"
            f" (machine: {_fmt(cores['machine'])})"
        )
    if "history_probe" in report:
        for name, part in report["history_probe"].items():
            lines.append(
                f"history probe {name} ({part['messages']} messages): welcome {part['welcome_ms_median']} ms,"
                f" {part['queries_per_welcome']} queries; history pages {part['history_ms_median']} ms,"
                f" {part['queries_per_history_page']} queries"
            )
    engines = relay["paced"].get("engine_cpu_ms_per_message")
    if engines:
        lines.append(
            "paced phase, CPU per message of this machine's "
            + ", ".join(f"{name} processes {value} ms" for name, value in engines.items())
        )
    for i, probe in enumerate(relay["paced"].get("stall_probe") or []):
        lines.append(
            f"paced phase, process {i + 1}: {probe['stalls_over_20ms']} event-loop stalls over 20 ms"
            f" (longest {probe['stall_ms_longest'][:3]} ms; {probe['stalls_with_gc']} during a collection,"
            f" {probe['stalls_with_sweep']} during a timer sweep); collections {probe['gc_collections']}"
            f" longest {probe['gc_ms_longest'][:3]} ms; sweeps longest {probe['sweep_ms_longest'][:3]} ms;"
            f" {probe['groups_over_20ms']} of {probe['groups']} group commits over 20 ms"
            f" (longest {probe['group_ms_longest'][:3]} ms, {probe['slow_groups_with_sweep']} during a sweep)"
        )
    if "second_wave" in report:
        lines.append(scale.second_wave_line(report["second_wave"]))
    if "long_list" in report:
        lines.append(scale.long_list_line(report["long_list"]))
    if "pick_queue" in report:
        lines.append(scale.pick_queue_line(report["pick_queue"]))
    if "idle" in report:
        idle = report["idle"]
        lines.append(
            f"idle widgets: {idle['still_open']}/{idle['connections']} open after {idle['held_after_s']} s,"
            f" {_fmt(idle.get('kb_per_connection'))} KiB each (RSS {_fmt(idle.get('rss_before_mb'))}"
            f" -> {_fmt(idle.get('rss_after_mb'))} MB)"
        )
    return "\n".join(lines)

"""The scale phases of ``chat_benchmark`` (docs/performance.md, issue 19): the soak, the relay with the
second wave switched on, and a big pick queue. Each prints figures; none asserts a duration."""

from __future__ import annotations

import asyncio
import contextlib
import json
import statistics
import time
from collections.abc import Callable

from . import load

Log = Callable[[str], None]


def _cpu_s(stats: list[dict] | None) -> float | None:
    return None if not stats else sum(s["cpu_s"] for s in stats)


# --- soak ------------------------------------------------------------------------------------------


async def _reconnect_customer(side: load.ParleySide, i: int, busy: dict[int, asyncio.Future]) -> None:
    """Close customer ``i``'s socket and open it again (a page reload); its sends wait meanwhile."""
    future = asyncio.get_running_loop().create_future()
    busy[i] = future
    try:
        old = side.customers[i]
        await old.close()
        conn, _welcome = await side.open_customer(f"bench-c{i}", old.url, side._customer_frame)
        side.customers[i] = conn
    finally:
        del busy[i]
        future.set_result(None)


async def _reconnect_agent(side: load.ParleySide, j: int) -> None:
    """A new socket for agent ``j`` first, then the old one closes (a second tab, then the first closed):
    the agent is never without a socket, as a workspace that reconnects resyncs what it missed."""
    old = side.agents[j]
    conn = await load.Conn.open(old.url, side._agent_frame, cookie=old.cookie)
    conn.url, conn.cookie = old.url, old.cookie
    await conn.expect("welcome")
    side.agents[j] = conn
    await old.close()


class _SoakSide:
    """``side``'s sends, waiting while the customer's socket is being reopened."""

    def __init__(self, side: load.ParleySide) -> None:
        self.side = side
        self.tracker = side.tracker
        self.busy: dict[int, asyncio.Future] = {}

    async def send(self, i: int, k: int, future=None) -> None:
        waiting = self.busy.get(i)
        if waiting is not None:
            await waiting
        await self.side.send(i, k, future)


async def soak(
    side: load.ParleySide, urls: list[str], n: int, rate: float, minutes: int, log: Log, *, trace_from: int = 0
) -> dict:
    """``minutes`` minutes at ``n`` conversations x ``rate`` msg/s; every minute 10% of the sockets (customers
    and agents) reconnect at a point spread over the minute. Per minute: messages sent, delivered and lost,
    the latency percentiles and the server's memory. ``trace_from`` (a minute, 1 or more): the first
    process traces its allocations from the end of that minute to the end of the soak and reports what it
    still holds of them (where the growth goes; the trace slows the server)."""
    soak_side = _SoakSide(side)
    per_minute = []
    customers = len(side.customers)
    agents = len(side.agents)
    rss_start = load.total_rss_mb(await load.server_stats(urls))
    for minute in range(minutes):
        count_c = max(1, customers // 10)
        count_a = max(1, agents // 10) if agents else 0
        chosen_c = [(minute * count_c + x) % customers for x in range(count_c)]
        chosen_a = [(minute * count_a + x) % agents for x in range(count_a)]

        async def churn(chosen_c=chosen_c, chosen_a=chosen_a) -> int:
            done = 0
            slots = len(chosen_c) + len(chosen_a)
            for i in chosen_c + [-1 - j for j in chosen_a]:
                await asyncio.sleep(55 / max(1, slots))  # spread over the minute, done before it ends
                with contextlib.suppress(Exception):
                    if i >= 0:
                        await _reconnect_customer(side, i, soak_side.busy)
                    else:
                        await _reconnect_agent(side, -1 - i)
                    done += 1
            return done

        before = await load.server_stats(urls)
        churn_task = asyncio.create_task(churn())
        paced = await load.paced_phase(soak_side, n, rate, 60)
        reconnected = await churn_task
        after = await load.server_stats(urls)
        cpu = _cpu_s(after) - _cpu_s(before) if before and after else None
        row = {
            "minute": minute + 1,
            "sent": paced["sent"],
            "delivered": paced["delivered"],
            "lost": paced["lost"],
            "errors": paced["errors"],
            "latency_ms": paced["latency_ms"],
            "reconnected": reconnected,
            "rss_mb": load.total_rss_mb(after),
            "server_cpu_ms_per_message": round(cpu * 1000 / max(1, paced["sent"]), 3) if cpu is not None else None,
        }
        per_minute.append(row)
        log(
            f"soak minute {minute + 1}/{minutes}: sent {row['sent']}, lost {row['lost']}, "
            f"p99 {row['latency_ms']['p99']} ms, RSS {row['rss_mb']} MB, reconnected {reconnected}"
        )
        if trace_from and minute + 1 == trace_from:
            await load.server_trace(urls[0], "start")
    summary = soak_summary(per_minute, rss_start, n, rate)
    if trace_from and trace_from < minutes:
        summary["tracemalloc"] = await load.server_trace(urls[0], "report")
        summary["tracemalloc"]["from_minute"] = trace_from
    return summary


def soak_summary(per_minute: list[dict], rss_start: float | None, n: int, rate: float) -> dict:
    """The soak's figures from its minutes: nothing lost, RSS growth after the first five minutes
    (from the end of minute 5, or of the first minute in a shorter soak), p99 per minute."""
    base_index = min(4, len(per_minute) - 1)
    base = per_minute[base_index]["rss_mb"] if per_minute else None
    last = per_minute[-1]["rss_mb"] if per_minute else None
    p99s = [m["latency_ms"]["p99"] for m in per_minute if m["latency_ms"]["p99"] is not None]
    return {
        "conversations": n,
        "rate": rate,
        "minutes": len(per_minute),
        "sent": sum(m["sent"] for m in per_minute),
        "lost": sum(m["lost"] for m in per_minute),
        "errors": sum(sum(m["errors"].values()) for m in per_minute),
        "reconnected": sum(m["reconnected"] for m in per_minute),
        "rss_start_mb": rss_start,
        "rss_growth_from_minute": base_index + 1,
        "rss_growth_pct": round((last - base) * 100 / base, 2) if base and last else None,
        "p99_ms_median": statistics.median(p99s) if p99s else None,
        "p99_ms_max": max(p99s) if p99s else None,
        "per_minute": per_minute,
    }


def soak_table(soak_report: dict) -> str:
    lines = ["minute  sent   lost  p50 ms  p99 ms  max ms  RSS MB  reconnected"]
    for m in soak_report["per_minute"]:
        lat = m["latency_ms"]
        lines.append(
            f"{m['minute']:>6}  {m['sent']:>5}  {m['lost']:>4}  {lat['p50']!s:>6}  {lat['p99']!s:>6}"
            f"  {lat['max']!s:>6}  {m['rss_mb']!s:>6}  {m['reconnected']:>11}"
        )
    lines.append(
        f"soak: {soak_report['minutes']} min at {soak_report['conversations']} x {soak_report['rate']} msg/s:"
        f" {soak_report['sent']} sent, {soak_report['lost']} lost, {soak_report['errors']} errors,"
        f" {soak_report['reconnected']} reconnects; RSS growth after minute {soak_report['rss_growth_from_minute']}:"
        f" {soak_report['rss_growth_pct']}%; p99 per minute median {soak_report['p99_ms_median']} ms,"
        f" max {soak_report['p99_ms_max']} ms"
    )
    trace = soak_report.get("tracemalloc")
    if trace:
        lines.append(
            f"allocated since the end of minute {trace['from_minute']} and still held: {trace.get('total_kb')} KiB;"
            " the largest, by line:"
        )
        lines += [f"  {row['kb']:>9} KiB {row['blocks']:>8} blocks  {row['where']}" for row in trace["by_line"][:15]]
    return "\n".join(lines)


# --- the second wave on the hot path -----------------------------------------------------------------


class WebhookReceiver:
    """A loopback HTTP server that answers every POST with 204 and counts them."""

    def __init__(self) -> None:
        self.received = 0
        self.server: asyncio.Server | None = None
        self.port = 0
        self.writers: set[asyncio.StreamWriter] = set()  # the open connections (the server keeps them alive)

    async def start(self) -> WebhookReceiver:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writers.add(writer)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                if length:
                    await reader.readexactly(length)
                self.received += 1
                writer.write(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            self.writers.discard(writer)
            writer.close()

    async def stop(self) -> None:
        for writer in list(self.writers):  # kept-alive connections end first: their handlers finish, not cancelled
            writer.close()
        await asyncio.sleep(0.1)
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()


class SecondWave:
    """While on: the webhook endpoint enabled, ``supervisors`` dashboard sockets open, and every agent
    writing a note in one of its conversations every ``note_every`` seconds."""

    def __init__(self, side: load.ParleySide, urls, setup, *, supervisors: int = 5, note_every: float | None = 2.0):
        self.side = side
        self.urls = urls
        self.setup = setup
        self.supervisors = supervisors
        self.note_every = note_every
        self.receiver = WebhookReceiver()
        self.sockets: list[load.Conn] = []
        self.stats_frames = 0
        self.notes_acked = 0
        self.notes_sent = 0
        self.note_task: asyncio.Task | None = None
        self.cookies: list[str] = []
        self.conversations: list[list[str]] = []

    def describe(self) -> str:
        parts = ["webhook on message.created"]
        if self.supervisors:
            parts.append(f"{self.supervisors} supervisors")
        if self.note_every:
            parts.append("notes")
        return ", ".join(parts)

    def _supervisor_frame(self, conn, raw: str) -> bool:
        if raw.startswith('{"type":"stats"'):
            self.stats_frames += 1
            return True
        return raw.startswith('{"type":"message"') or raw.startswith('{"type":"note"')

    async def on(self) -> None:
        if not self.receiver.port:
            await self.receiver.start()
        info = await asyncio.to_thread(
            self.setup,
            "second_wave_prepare",
            {"webhook_url": f"http://127.0.0.1:{self.receiver.port}/hook", "supervisors": self.supervisors},
        )
        self.cookies = info["supervisor_cookies"]
        self.conversations = info["agent_conversations"]
        self.sockets = []
        for i, cookie in enumerate(self.cookies):
            url = self.urls[i % len(self.urls)]
            conn = await load.Conn.open(load.ws_base(url) + "/ws/supervisor/", self._supervisor_frame, cookie=cookie)
            await conn.expect("welcome")
            self.sockets.append(conn)
        if self.note_every:
            self.note_task = asyncio.create_task(self._notes())
        await asyncio.sleep(info["cache_seconds"] + 0.5)  # every process sees the endpoint

    async def _notes(self) -> None:
        agents = [(conn, ids) for conn, ids in zip(self.side.agents, self.conversations, strict=False) if ids]
        if not agents:
            return
        k = 0
        while True:
            for conn, ids in agents:
                conversation_id = ids[k % len(ids)]
                with contextlib.suppress(Exception):
                    await conn.send(
                        {
                            "type": "note",
                            "conversation_id": conversation_id,
                            "client_id": f"n{time.time_ns()}",
                            "text": "Checked the order: shipped yesterday.",
                        }  # fmt: skip
                    )
                    self.notes_sent += 1
                await asyncio.sleep(self.note_every / len(agents))
            k += 1

    async def off(self) -> dict:
        if self.note_task is not None:
            self.note_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.note_task
            self.note_task = None
        await asyncio.gather(*(c.close() for c in self.sockets))
        self.sockets = []
        finished = await asyncio.to_thread(self.setup, "second_wave_finish", {})
        await asyncio.sleep(finished["cache_seconds"] + 0.5)  # every process forgets the endpoint
        return finished


def _mean_queries(parts: list[dict]) -> float | None:
    values = [p["queries_per_message"] for p in parts if p["queries_per_message"] is not None]
    return round(statistics.mean(values), 2) if values else None


async def second_wave(side: load.ParleySide, urls, setup, n: int, options, log: Log, *, closed_loop) -> dict:
    """The relay's closed loop without and with the second wave, in turns (``options.rounds``), and the
    paced latency and queries per message with it on. ``closed_loop(side, urls, n, seconds)``: one
    closed loop with its CPU figures (``bench.runner``)."""
    _closed_loop = closed_loop

    if options.webhook_only:
        wave = SecondWave(side, urls, setup, supervisors=0, note_every=None)
    else:
        wave = SecondWave(side, urls, setup)
    seconds = options.saturate_seconds / max(1, options.rounds)
    without, with_wave, posted_per_s = [], [], []
    finished = {}
    for r in range(max(1, options.rounds)):
        log(f"second wave: round {r + 1}, relay without")
        without.append(await _closed_loop(side, urls, n, seconds))
        await wave.on()
        log(f"second wave: round {r + 1}, relay with {wave.describe()}")
        posts_before = wave.receiver.received
        with_wave.append(await _closed_loop(side, urls, n, seconds))
        # the deliveries that reached the receiver while the relay ran (the dispatcher keeps up or lags)
        posted_per_s.append((wave.receiver.received - posts_before) / seconds)
        if r == options.rounds - 1:
            before = await load.server_stats(urls)
            paced = await load.paced_phase(side, n, options.rate, min(options.seconds, 20))
            after = await load.server_stats(urls)
        finished = await wave.off()
    await wave.receiver.stop()
    off_rate = sum(p["completed"] for p in without) / (seconds * len(without))
    on_rate = sum(p["completed"] for p in with_wave) / (seconds * len(with_wave))
    queries = None
    if before and after and paced["acks"]:
        queries = round((load.total_queries(after) - load.total_queries(before)) / paced["acks"], 2)
    return {
        "relay_without_msgs_per_s": round(off_rate, 1),
        "relay_with_msgs_per_s": round(on_rate, 1),
        "ratio": round(on_rate / off_rate, 3) if off_rate else None,
        "rounds_without": [p["msgs_per_s"] for p in without],
        "rounds_with": [p["msgs_per_s"] for p in with_wave],
        "paced_with": {
            "latency_ms": paced["latency_ms"],
            "lost": paced["lost"],
            "queries_per_message": queries,
            "cpu_ms_per_message": round((_cpu_s(after) - _cpu_s(before)) * 1000 / max(1, paced["acks"]), 3)
            if before and after
            else None,
        },
        "queries_per_message_closed_loop": {"without": _mean_queries(without), "with": _mean_queries(with_wave)},
        "parts": wave.describe(),
        "webhook_posts_per_s_during_relay": round(statistics.mean(posted_per_s), 1),
        "supervisors": wave.supervisors,
        "stats_frames": wave.stats_frames,
        "notes_sent": wave.notes_sent,
        "webhook_rows": finished.get("deliveries"),
        "webhook_delivered": finished.get("delivered"),
        "webhook_posts_received": wave.receiver.received,
    }


# --- a big pick queue ------------------------------------------------------------------------------


class _QueueWatcher:
    """Every ``queue`` frame an agent socket gets: when, how big, and its ``total``."""

    def __init__(self) -> None:
        self.frames: dict[int, list[tuple[float, int, int]]] = {}
        self.changed = asyncio.Event()

    def handler(self, index: int):
        self.frames[index] = []

        def hot(conn, raw: str) -> bool:
            if raw.startswith('{"type":"queue"'):
                at = raw.rfind('"total":')
                total = int(raw[at + 8 :].rstrip("}").split(",")[0]) if at >= 0 else -1
                self.frames[index].append((time.perf_counter(), len(raw.encode()), total))
                self.changed.set()
                return True
            return False

        return hot

    def all_at(self, total: int) -> bool:
        return all(frames and frames[-1][2] == total for frames in self.frames.values())


async def pick_queue_probe(
    urls: list[str], setup, private_pem: str, run: str, log: Log, *, open_count: int, agents: int, new: int = 10
) -> dict:
    """``open_count`` open pick conversations and ``agents`` agents in their queue, all connected to the
    first process: the time and size of each agent's ``welcome``, then ``new`` conversations one by one,
    each awaited until every agent's queue frame counts it. The server's CPU per new conversation (the
    idle CPU of as long subtracted), the queue frames each agent got per second and their size."""
    url = urls[0]
    log(f"pick queue: {open_count} open conversations, {agents} agents")
    info = await asyncio.to_thread(setup, "pick_queue_prepare", {"open": open_count, "agents": agents})
    watcher = _QueueWatcher()
    welcome_ms: list[float] = []
    welcome_bytes: list[int] = []

    async def one(i: int, cookie: str) -> load.Conn:
        started = time.perf_counter()
        conn = await load.Conn.open(load.ws_base(url) + "/ws/agent/", watcher.handler(i), cookie=cookie)
        welcome = await conn.expect("welcome")
        welcome_ms.append((time.perf_counter() - started) * 1000)
        welcome_bytes.append(len(json.dumps(welcome, ensure_ascii=False, separators=(",", ":")).encode()))
        return conn

    conns = await load.gather_limited([one(i, c) for i, c in enumerate(info["cookies"])], limit=10)
    # a few more, one at a time: welcome without the others' connects around it
    for i in range(10):
        conn = await one(agents + i, info["cookies"][i % len(info["cookies"])])
        conns.append(conn)
    lone_welcome_ms = welcome_ms[-10:]
    await asyncio.sleep(2)
    idle_before = await load.server_stats([url])
    idle_started = time.perf_counter()
    await asyncio.sleep(5)
    idle_after = await load.server_stats([url])
    idle_cpu_per_s = (_cpu_s(idle_after) - _cpu_s(idle_before)) / (time.perf_counter() - idle_started)

    side = load.ParleySide([url], info["widget"], private_pem, run)
    customers = []
    total = info["open"]
    for frames in watcher.frames.values():
        frames.clear()  # the frames of the connects before: not the new conversations' news
    stats_before = await load.server_stats([url])
    started = time.perf_counter()
    round_ms = []
    for k in range(new):
        began = time.perf_counter()
        conn, _ = await side.open_customer(f"bench-pick-new-{run}-{k}", url)
        await conn.send({"type": "send", "client_id": f"{run}-pick-{k}", "text": "Can someone help me?"})
        customers.append(conn)
        total += 1
        deadline = time.monotonic() + 30
        while not watcher.all_at(total) and time.monotonic() < deadline:
            watcher.changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(watcher.changed.wait(), 1)
        round_ms.append((time.perf_counter() - began) * 1000)
        await asyncio.sleep(max(0.0, 1.2 - (time.perf_counter() - began)))
    elapsed = time.perf_counter() - started
    stats_after = await load.server_stats([url])
    spent = _cpu_s(stats_after) - _cpu_s(stats_before)
    cpu_ms = (spent - idle_cpu_per_s * elapsed) * 1000 / new
    gaps = []
    most_per_second = 0
    sizes = []
    for frames in watcher.frames.values():
        times = [t for t, _size, _total in frames]
        sizes += [size for _t, size, _total in frames]
        gaps += [b - a for a, b in zip(times, times[1:], strict=False)]
        for i, t in enumerate(times):
            most_per_second = max(most_per_second, sum(1 for u in times[i:] if u - t < 1.0))
    reached = sum(1 for frames in watcher.frames.values() if frames and frames[-1][2] == total)
    await asyncio.gather(*(c.close() for c in conns + customers))
    return {
        "open": info["open"],
        "agents": agents,
        "agent_sockets": len(conns),
        "welcome_ms": {
            "median": round(statistics.median(welcome_ms), 1),
            "p95": round(sorted(welcome_ms)[int(0.95 * (len(welcome_ms) - 1))], 1),
            "max": round(max(welcome_ms), 1),
            "alone_median": round(statistics.median(lone_welcome_ms), 1),
        },
        "welcome_bytes_max": max(welcome_bytes),
        "new_conversations": new,
        "server_cpu_ms_per_new_conversation": round(cpu_ms, 2),
        "server_cpu_ms_per_new_conversation_raw": round(spent * 1000 / new, 2),
        "idle_cpu_ms_per_s": round(idle_cpu_per_s * 1000, 2),
        "until_all_agents_knew_ms_median": round(statistics.median(round_ms), 1),
        "queue_frames": len(sizes),
        "queue_frames_per_agent_socket_per_new": round(len(sizes) / (len(conns) * new), 2),
        "most_queue_frames_in_one_second": most_per_second,
        "shortest_gap_between_queue_frames_ms": round(min(gaps) * 1000, 1) if gaps else None,
        "queue_frame_bytes_max": max(sizes) if sizes else None,
        "agents_that_saw_the_last_total": reached,
    }


async def long_list_probe(urls: list[str], setup, log: Log, *, waiting: int, times: int = 10) -> dict:
    """An agent with ``waiting`` waiting persistent conversations connects ``times`` times, one at a time,
    to the first process: each ``welcome``'s time (from the socket's opening request), size, and the
    queries the server ran from the opening request to the ``welcome`` (the session and its user, the
    socket's own row, the ``welcome``; nothing else runs meanwhile)."""
    url = urls[0]
    log(f"long list: an agent with {waiting} waiting conversations connects {times} times")
    info = await asyncio.to_thread(setup, "long_list_prepare", {"waiting": waiting})
    welcome_ms, welcome_bytes, queries = [], [], []
    for _ in range(times):
        before = await load.server_stats([url])
        started = time.perf_counter()
        conn = await load.Conn.open(load.ws_base(url) + "/ws/agent/", cookie=info["cookie"])
        welcome = await conn.expect("welcome")
        welcome_ms.append((time.perf_counter() - started) * 1000)
        welcome_bytes.append(len(json.dumps(welcome, ensure_ascii=False, separators=(",", ":")).encode()))
        after = await load.server_stats([url])
        if before and after:
            queries.append(load.total_queries(after) - load.total_queries(before))
        await conn.close()
        await asyncio.sleep(0.2)  # the close's own queries land before the next connect's count starts
    return {
        "waiting": info["waiting"],
        "welcomes": times,
        "welcome_ms": {
            "median": round(statistics.median(welcome_ms), 1),
            "max": round(max(welcome_ms), 1),
        },
        "welcome_bytes": max(welcome_bytes),
        "queries_per_connect": {"min": min(queries), "max": max(queries)} if queries else None,
        "conversations_in_welcome": len(welcome["conversations"]),
        "conversations_total": welcome["conversations_total"],
    }


def long_list_line(probe: dict) -> str:
    queries = probe["queries_per_connect"]
    counted = f", {queries['min']}-{queries['max']} queries from the opening request to welcome" if queries else ""
    return (
        f"long list ({probe['waiting']} waiting): welcome median {probe['welcome_ms']['median']} ms"
        f" (max {probe['welcome_ms']['max']} ms of {probe['welcomes']}), {probe['welcome_bytes']} bytes,"
        f" {probe['conversations_in_welcome']} conversations of {probe['conversations_total']}{counted}"
    )


def pick_queue_line(probe: dict) -> str:
    return (
        f"pick queue ({probe['open']} open, {probe['agents']} agents):"
        f" welcome median {probe['welcome_ms']['median']} ms"
        f" (alone {probe['welcome_ms']['alone_median']} ms, max {probe['welcome_ms']['max']} ms,"
        f" {probe['welcome_bytes_max']} bytes); a new conversation costs the server"
        f" {probe['server_cpu_ms_per_new_conversation']} ms CPU; {probe['queue_frames_per_agent_socket_per_new']}"
        f" queue frames per socket per new conversation, at most {probe['most_queue_frames_in_one_second']} in a"
        f" second, largest {probe['queue_frame_bytes_max']} bytes"
    )


def second_wave_line(wave: dict) -> str:
    paced = wave["paced_with"]
    return (
        f"second wave ({wave.get('parts', 'webhook, supervisors, notes')}): relay"
        f" {wave['relay_with_msgs_per_s']} msg/s against {wave['relay_without_msgs_per_s']} without,"
        f" {wave['ratio']}; paced p99 {paced['latency_ms']['p99']} ms, {paced['queries_per_message']} queries"
        f" per message, lost {paced['lost']}; {wave['webhook_posts_received']} webhook POSTs"
        f" ({wave.get('webhook_posts_per_s_during_relay')}/s during the closed loops),"
        f" {wave['stats_frames']} stats frames, {wave['notes_sent']} notes"
    )

"""The benchmark client: simulated customers and agents over real WebSockets.

One asyncio process plays every side. Latency is measured on one clock:
from just before a customer's ``send`` frame is written to the moment the
agent's socket has read the matching ``message`` frame (matched by
``client_id``). The anchors carry the same frames the same way through the
benchmark-only routes (``bench/consumers.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import math
import time
from collections import Counter
from collections.abc import Awaitable, Callable

import jwt
from websockets.asyncio.client import connect

from admin_center.demo_keys import signing_key

from .signin import sign_in

TEXT = "Hello, I have a question about my order number 12345, can you help?"
OPEN_TIMEOUT = 30


def percentiles(values: list[float]) -> dict:
    """Nearest-rank percentiles in milliseconds (values in seconds)."""
    if not values:
        return {"p50": None, "p95": None, "p99": None, "max": None, "count": 0}
    ordered = sorted(values)

    def rank(q: float) -> float:
        return round(ordered[max(0, math.ceil(q * len(ordered)) - 1)] * 1000, 2)

    return {"p50": rank(0.50), "p95": rank(0.95), "p99": rank(0.99), "max": rank(1.0), "count": len(ordered)}


def ws_base(url: str) -> str:
    return "ws" + url.removeprefix("http").rstrip("/")


def bench_headers(url: str) -> dict[str, str]:
    """The benchmark routes (``/ws/bench/``) need the benchmark token (bench/consumers.py)."""
    from .server import BENCHMARK_TOKEN

    return {"Authorization": f"Bearer {BENCHMARK_TOKEN}"} if "/ws/bench/" in url else {}


class Conn:
    """A WebSocket whose reader task gives each frame to ``hot`` (the measured
    path) and keeps the rest for ``expect``."""

    def __init__(self, ws, hot: Callable[[Conn, str], bool] | None, *, parse: bool = True) -> None:
        self.ws = ws
        self.hot = hot
        self.parse = parse
        self.inbox: list[dict] = []
        self.arrived = asyncio.Event()
        self.closed = False
        self.url = ""  # what the benchmark opened it with (bench/scale.py reopens sockets)
        self.cookie: str | None = None
        self.reader = asyncio.get_running_loop().create_task(self._read())

    @classmethod
    async def open(cls, url: str, hot=None, *, cookie: str | None = None, parse: bool = True) -> Conn:
        headers = {**({"Cookie": cookie} if cookie else {}), **bench_headers(url)} or None
        ws = await connect(
            url, additional_headers=headers, open_timeout=OPEN_TIMEOUT, max_queue=None, ping_interval=None
        )
        return cls(ws, hot, parse=parse)

    async def _read(self) -> None:
        try:
            async for raw in self.ws:
                if self.hot is not None and self.hot(self, raw):
                    continue
                if self.parse:
                    self.inbox.append(json.loads(raw))
                    self.arrived.set()
        except Exception:  # noqa: S110 - a closed socket ends its reader; senders notice on their side
            pass
        finally:
            self.closed = True
            self.arrived.set()

    async def send(self, data: dict | str) -> None:
        await self.ws.send(data if isinstance(data, str) else json.dumps(data))

    async def expect(self, kind: str, timeout: float = 30, **match) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            for i, frame in enumerate(self.inbox):
                if frame.get("type") == kind and all(frame.get(k) == v for k, v in match.items()):
                    return self.inbox.pop(i)
            if self.closed:
                raise RuntimeError(f"socket closed while waiting for {kind!r}")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise RuntimeError(f"no {kind!r} {match} within {timeout} s; got {self.inbox[-5:]}")
            self.arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.arrived.wait(), remaining)

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.ws.close()
        self.reader.cancel()


async def gather_limited(coros, limit: int = 50) -> list:
    semaphore = asyncio.Semaphore(limit)

    async def run(coro):
        async with semaphore:
            return await coro

    return await asyncio.gather(*(run(c) for c in coros))


class Tracker:
    """Messages in flight: client_id -> (time sent, future or None)."""

    def __init__(self) -> None:
        self.pending: dict[str, tuple[float, asyncio.Future | None]] = {}
        self.latencies: list[float] = []
        self.errors: Counter[str] = Counter()
        self.acks = 0
        self.phase = 0

    def reset(self) -> None:
        """A new phase: fresh figures and fresh client ids (a repeated client_id is not relayed again)."""
        self.phase += 1
        self.pending.clear()
        self.latencies = []
        self.errors = Counter()
        self.acks = 0

    def sent(self, key: str, future: asyncio.Future | None = None) -> None:
        self.pending[key] = (time.perf_counter(), future)

    def delivered(self, key: str) -> None:
        item = self.pending.pop(key, None)
        if item is None:
            return
        self.latencies.append(time.perf_counter() - item[0])
        if item[1] is not None and not item[1].done():
            item[1].set_result(True)

    def failed(self, key: str, code: str) -> None:
        self.errors[code] += 1
        item = self.pending.pop(key, None)
        if item is not None and item[1] is not None and not item[1].done():
            item[1].set_result(False)


# --- load shapes ---------------------------------------------------------------------


async def paced(send: Callable[[int, int], Awaitable[None]], n: int, rate: float, seconds: float) -> int:
    """Each of ``n`` senders sends ``rate`` messages a second for ``seconds``,
    their start times spread evenly over one interval. Returns frames sent."""
    loop = asyncio.get_running_loop()
    start = loop.time() + 0.2
    end = start + seconds
    interval = 1 / rate
    counter = itertools.count()

    async def one(i: int) -> None:
        k = 0
        at = start + interval * i / n
        while at < end:
            delay = at - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            await send(i, k)
            next(counter)
            k += 1
            at += interval

    await asyncio.gather(*(one(i) for i in range(n)))
    return next(counter)


async def closed_loop(send: Callable[[int, int, asyncio.Future], Awaitable[None]], n: int, seconds: float) -> dict:
    """Each of ``n`` senders keeps exactly one message in flight for
    ``seconds``: the throughput the server sustains at this concurrency."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    end = start + seconds
    done = itertools.count()
    lost = itertools.count()

    async def one(i: int) -> None:
        k = 0
        while loop.time() < end:
            future = loop.create_future()
            await send(i, k, future)
            k += 1
            try:
                ok = await asyncio.wait_for(future, 10)
            except TimeoutError:
                ok = False
                next(lost)
            if ok and loop.time() <= end:
                next(done)
            elif not ok:
                await asyncio.sleep(0.1)  # refused (rate_limited, unavailable): back off a little

    await asyncio.gather(*(one(i) for i in range(n)))
    completed = next(done)
    return {"msgs_per_s": round(completed / seconds, 1), "completed": completed, "timed_out": next(lost)}


async def drain(tracker: Tracker, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while tracker.pending and time.monotonic() < deadline:
        await asyncio.sleep(0.05)


# --- the server's own figures ------------------------------------------------------------


async def server_stats(urls: list[str]) -> list[dict] | None:
    """Each process's pid, memory, queries and sockets (benchmark route); None without it."""
    stats = []
    for url in urls:
        try:
            stats_url = ws_base(url) + "/ws/bench/stats/"
            async with connect(stats_url, additional_headers=bench_headers(stats_url), open_timeout=10) as ws:
                await ws.send("{}")
                stats.append(json.loads(await asyncio.wait_for(ws.recv(), 10)))
        except Exception:
            return None
    return stats


async def server_command(url: str, request: dict) -> dict:
    """One request to the stats route of the process at ``url`` (bench/consumers.py)."""
    stats_url = ws_base(url) + "/ws/bench/stats/"
    async with connect(stats_url, additional_headers=bench_headers(stats_url), open_timeout=30) as ws:
        await ws.send(json.dumps(request))
        return json.loads(await asyncio.wait_for(ws.recv(), 300))


async def server_trace(url: str, command: str) -> dict:
    """Start (``"start"``) or read and stop (``"report"``) the allocation trace of the process at ``url``."""
    return await server_command(url, {"tracemalloc": command})


async def stall_probe(urls: list[str], command: str) -> list[dict]:
    """Start (or restart) / read the stall probe of every process (event-loop stalls, collections, sweeps)."""
    return [await server_command(url, {"stalls": command}) for url in urls]


def engine_cpu_s(names=("postgres", "redis-server")) -> dict[str, float]:
    """CPU seconds used so far by every process of this machine named in ``names`` (from /proc): what the
    database and the channel layer spend per message, when they run here. Other users of the same
    PostgreSQL or Redis count too."""
    import os

    ticks = os.sysconf("SC_CLK_TCK")
    used = dict.fromkeys(names, 0.0)
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as stat:
                text = stat.read()
        except OSError:
            continue
        name = text[text.index("(") + 1 : text.rindex(")")]
        if name in used:
            fields = text[text.rindex(")") + 2 :].split()
            used[name] += (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
    return used


def total_queries(stats: list[dict] | None) -> int | None:
    return None if stats is None else sum(s["queries"] for s in stats)


def total_rss_mb(stats: list[dict] | None) -> float | None:
    if not stats or any(s.get("rss_kb") is None for s in stats):
        return None
    return round(sum(s["rss_kb"] for s in stats) / 1024, 1)


def customer_token(private_pem: str, subject: str) -> str:
    now = int(time.time())
    return jwt.encode(
        {"sub": subject, "iat": now, "exp": now + 6 * 3600, "name": f"Customer {subject}"},
        signing_key(private_pem),
        algorithm="RS256",
    )


# --- the full Parley relay --------------------------------------------------------------------


class ParleySide:
    """Agents signed in and available; customers with an active conversation each."""

    def __init__(self, urls: list[str], widget: str, private_pem: str, run: str) -> None:
        self.urls = urls
        self.widget = widget
        self.private_pem = private_pem
        self.run = run
        self.tracker = Tracker()
        self.agents: list[Conn] = []
        self.customers: list[Conn] = []

    def _agent_frame(self, conn: Conn, raw: str) -> bool:
        if raw.startswith('{"type":"message"'):
            frame = json.loads(raw)
            client_id = frame["message"].get("client_id")
            if client_id:
                self.tracker.delivered(client_id)
            return True
        return False

    def _customer_frame(self, conn: Conn, raw: str) -> bool:
        if raw.startswith('{"type":"ack"'):
            self.tracker.acks += 1
            return True
        if raw.startswith('{"type":"error"'):
            frame = json.loads(raw)
            if frame.get("client_id"):
                self.tracker.failed(frame["client_id"], frame.get("code", "error"))
                return True
        return raw.startswith('{"type":"message"')  # agents' replies: none in this benchmark

    async def connect_agents(self, usernames: list[str], password: str) -> None:
        async def one(i: int, username: str) -> Conn:
            url = self.urls[i % len(self.urls)]
            cookie = await asyncio.to_thread(sign_in, url, username, password)
            conn = await Conn.open(ws_base(url) + "/ws/agent/", self._agent_frame, cookie=cookie)
            conn.url, conn.cookie = ws_base(url) + "/ws/agent/", cookie  # the soak reopens it (bench/scale.py)
            await conn.expect("welcome")
            await conn.send({"type": "presence", "status": "available", "req": "p"})
            await conn.expect("ok", req="p")
            return conn

        self.agents = await gather_limited([one(i, u) for i, u in enumerate(usernames)], limit=4)

    async def open_customer(self, subject: str, url: str, hot=None) -> tuple[Conn, dict]:
        token = customer_token(self.private_pem, subject)
        conn = await Conn.open(f"{ws_base(url)}/ws/widget/{self.widget}/", hot)
        conn.url = url
        await conn.send({"type": "hello", "token": token})
        welcome = await conn.expect("welcome")
        return conn, welcome

    async def connect_customers(self, n: int) -> None:
        async def one(i: int) -> Conn:
            conn, welcome = await self.open_customer(f"bench-c{i}", self.urls[i % len(self.urls)], self._customer_frame)
            conversation = welcome["conversation"]
            if conversation is None or conversation["state"] != "active":
                await conn.send({"type": "send", "client_id": f"{self.run}-open-{i}", "text": "Hello"})
                await conn.expect("state", timeout=60, state="active")
            return conn

        self.customers = await gather_limited([one(i) for i in range(n)], limit=50)

    async def send(self, i: int, k: int, future: asyncio.Future | None = None) -> None:
        client_id = f"{self.run}{self.tracker.phase}-{i}-{k}"
        self.tracker.sent(client_id, future)
        await self.customers[i].send({"type": "send", "client_id": client_id, "text": TEXT})

    async def close(self) -> None:
        await asyncio.gather(*(c.close() for c in self.customers + self.agents))


# --- anchors ---------------------------------------------------------------------------------------


class GroupRelayAnchor:
    """Per conversation a "customer" and an "agent" socket in one bare relay room."""

    def __init__(self, urls: list[str], run: str) -> None:
        self.urls = urls
        self.run = run
        self.tracker = Tracker()
        self.senders: list[Conn] = []
        self.receivers: list[Conn] = []

    def _receiver_frame(self, conn: Conn, raw: str) -> bool:
        self.tracker.delivered(json.loads(raw)["client_id"])
        return True

    def _sender_frame(self, conn: Conn, raw: str) -> bool:
        self.tracker.acks += 1  # the sender's own copy, Parley's ack: counted, not parsed (nor is the ack)
        return True

    async def connect(self, n: int) -> None:
        async def one(i: int) -> tuple[Conn, Conn]:
            # The agent side sits on another process where there are several, as in Parley.
            room = f"{ws_base(self.urls[i % len(self.urls)])}/ws/bench/relay/{self.run}-{i}/"
            other = f"{ws_base(self.urls[(i + 1) % len(self.urls)])}/ws/bench/relay/{self.run}-{i}/"
            receiver = await Conn.open(other, self._receiver_frame)
            sender = await Conn.open(room, self._sender_frame)
            return sender, receiver

        pairs = await gather_limited([one(i) for i in range(n)], limit=50)
        self.senders = [p[0] for p in pairs]
        self.receivers = [p[1] for p in pairs]
        await asyncio.sleep(0.5)  # group subscriptions settle (pub/sub layer)

    async def send(self, i: int, k: int, future: asyncio.Future | None = None) -> None:
        client_id = f"{self.run}{self.tracker.phase}-{i}-{k}"
        self.tracker.sent(client_id, future)
        await self.senders[i].send({"type": "send", "client_id": client_id, "text": TEXT})

    async def close(self) -> None:
        await asyncio.gather(*(c.close() for c in self.senders + self.receivers))


class EchoAnchor:
    def __init__(self, urls: list[str], run: str) -> None:
        self.urls = urls
        self.run = run
        self.tracker = Tracker()
        self.sockets: list[Conn] = []

    def _frame(self, conn: Conn, raw: str) -> bool:
        self.tracker.delivered(json.loads(raw)["client_id"])
        return True

    async def connect(self, n: int) -> None:
        self.sockets = await gather_limited(
            [Conn.open(ws_base(self.urls[i % len(self.urls)]) + "/ws/bench/echo/", self._frame) for i in range(n)]
        )

    async def send(self, i: int, k: int, future: asyncio.Future | None = None) -> None:
        client_id = f"{self.run}{self.tracker.phase}-{i}-{k}"
        self.tracker.sent(client_id, future)
        await self.sockets[i].send({"type": "send", "client_id": client_id, "text": TEXT})

    async def close(self) -> None:
        await asyncio.gather(*(c.close() for c in self.sockets))


async def paced_phase(side, n: int, rate: float, seconds: float) -> dict:
    """Latency at the offered rate."""
    tracker = side.tracker
    tracker.reset()
    started = time.perf_counter()
    sent = await paced(side.send, n, rate, seconds)
    elapsed = time.perf_counter() - started
    await drain(tracker)
    return {
        "sent": sent,
        "delivered": len(tracker.latencies),
        "lost": len(tracker.pending),
        "errors": dict(tracker.errors),
        "offered_msgs_per_s": round(sent / elapsed, 1),
        "latency_ms": percentiles(tracker.latencies),
        "acks": tracker.acks,
    }


async def saturated_phase(side, n: int, seconds: float) -> dict:
    """Throughput with one message in flight per conversation."""
    tracker = side.tracker
    tracker.reset()
    result = await closed_loop(side.send, n, seconds)
    await drain(tracker)
    result["latency_ms"] = percentiles(tracker.latencies)
    result["errors"] = dict(tracker.errors)
    return result

"""Benchmark-only WebSocket routes (docs/performance.md), mounted by
``config/asgi.py`` only when ``PARLEY_BENCHMARK_ROUTES`` is true.

- ``/ws/bench/echo/``: a bare Channels consumer that sends every text frame
  back: the ceiling of the server and the client without any channel layer.
- ``/ws/bench/relay/<room>/``: a bare group relay: every text frame goes
  through the channel layer's ``group_send`` to every socket of the room,
  the sender included. This is what Parley's relay costs without the
  database and the protocol: the anchor for "relay vs bare relay".
- ``/ws/bench/stats/``: answers any frame with this process's figures
  (a random process id, resident memory, CPU time, database queries so far, Parley sockets
  held), so
  that ``chat_benchmark`` can count queries per relayed message and memory
  per connection in every server process.

Every route answers only a loopback client (``127.0.0.1`` / ``::1`` as daphne sees it) that sends
``Authorization: Bearer <PARLEY_BENCHMARK_TOKEN>``; with no token set they answer nobody. Others get
HTTP 403 at the handshake. The stats name each process by a random id, never by its pid.

Importing this module starts counting the database queries of the process
(a wrapper on every new database connection); that is why it is imported
only with the setting on.
"""

from __future__ import annotations

import asyncio
import gc
import hmac
import itertools
import json
import os
import time
import tracemalloc
import uuid

from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.db.backends.signals import connection_created
from django.urls import path, re_path

from conversations import group_commit, timers

_queries = itertools.count()  # next() is atomic under the GIL: database threads may count at once
_counted = [0]


def _count_query(execute, sql, params, many, context):
    _counted[0] = next(_queries) + 1
    return execute(sql, params, many, context)


def _wrap_connection(sender, connection, **kwargs) -> None:
    if _count_query not in connection.execute_wrappers:
        connection.execute_wrappers.append(_count_query)


connection_created.connect(_wrap_connection, dispatch_uid="parley-benchmark-query-counter")


def rss_kb() -> int | None:
    """Resident memory of this process from /proc (Linux), in KiB."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


# Names this process in the stats (the benchmark tells processes apart) without revealing its pid.
PROCESS_ID = uuid.uuid4().hex[:12]
LOOPBACK = frozenset({"127.0.0.1", "::1", "::ffff:127.0.0.1"})


def admitted(scope) -> bool:
    """A loopback client with the benchmark token (``PARLEY_BENCHMARK_TOKEN``; empty: nobody)."""
    token = settings.PARLEY_BENCHMARK_TOKEN
    client = scope.get("client") or ("", 0)
    if not token or client[0] not in LOOPBACK:
        return False
    headers = dict(scope.get("headers") or [])
    given = headers.get(b"authorization", b"").decode("latin-1")
    return hmac.compare_digest(given.encode(), f"Bearer {token}".encode())


class GatedConsumer(AsyncWebsocketConsumer):
    """Refuses (HTTP 403) every client ``admitted`` does not let in."""

    async def connect(self) -> None:
        if not admitted(self.scope):
            await self.close()
            return
        await self.accept()


class EchoConsumer(GatedConsumer):
    async def receive(self, text_data=None, bytes_data=None) -> None:
        await self.send(text_data=text_data, bytes_data=bytes_data)


class GroupRelayConsumer(GatedConsumer):
    group: str | None = None

    async def connect(self) -> None:
        if not admitted(self.scope):
            await self.close()
            return
        self.group = "bench." + self.scope["url_route"]["kwargs"]["room"]
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def disconnect(self, code) -> None:
        if self.group is not None:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive(self, text_data=None, bytes_data=None) -> None:
        if text_data is not None:
            await self.channel_layer.group_send(self.group, {"type": "bench.relay", "text": text_data})

    async def bench_relay(self, event) -> None:
        await self.send(text_data=event["text"])


_traced: list = []  # the tracemalloc snapshot taken when the trace started


def _trace(command: str) -> dict:
    """``{"tracemalloc": "start"}``: trace this process's allocations from now on (the allocating line);
    ``"report"``: what was allocated since then and is still held, by line and by file, then stop."""
    if command == "start":
        tracemalloc.start(1)
        _traced[:] = [tracemalloc.take_snapshot()]
        return {"tracing": True}
    if command != "report" or not _traced:
        return {"tracing": False}
    snapshot = tracemalloc.take_snapshot()
    ignore = [tracemalloc.Filter(False, tracemalloc.__file__)]
    before = _traced[0].filter_traces(ignore)
    after = snapshot.filter_traces(ignore)
    by_line = after.compare_to(before, "lineno")
    by_file = after.compare_to(before, "filename")
    tracemalloc.stop()
    _traced.clear()

    def rows(stats, limit):
        return [
            {"where": str(stat.traceback[0]), "kb": round(stat.size_diff / 1024, 1), "blocks": stat.count_diff}
            for stat in sorted(stats, key=lambda stat: -stat.size_diff)[:limit]
        ]

    return {
        "total_kb": round(sum(stat.size_diff for stat in by_file) / 1024, 1),
        "by_line": rows(by_line, 40),
        "by_file": rows(by_file, 30),
    }


class StallProbe:
    """Where a latency tail comes from (``{"stalls": "start"}`` / ``"report"``): the event loop's stalls
    over 20 ms (a task that checks every 5 ms), the garbage collector's pauses (``gc.callbacks``), the timer
    sweeps (``conversations.timers``) and the database time of each group commit over 20 ms. The report
    says which stalls a collection or a sweep overlapped."""

    SLOW = 0.020

    def __init__(self) -> None:
        self.task: asyncio.Task | None = None
        self.reset()

    def reset(self) -> None:
        self.stalls: list[tuple[float, float]] = []  # (end, length)
        self.gcs: list[tuple[float, int, float]] = []  # (end, generation, length)
        self.sweeps: list[tuple[float, float]] = []
        self.groups: list[tuple[float, int, float]] = []  # (end, calls, length), the slow ones
        self.group_count = 0
        self._gc_started = 0.0

    def start(self) -> None:
        self.reset()
        if self.task is not None:
            return
        self.task = asyncio.get_running_loop().create_task(self._watch())
        gc.callbacks.append(self._gc)
        run_once = timers._run_once

        async def timed_run_once():
            started = time.perf_counter()
            try:
                await run_once()
            finally:
                self.sweeps.append((time.perf_counter(), time.perf_counter() - started))

        timers._run_once = timed_run_once
        run_together = group_commit.run_together

        def timed_run_together(calls):
            started = time.perf_counter()
            try:
                return run_together(calls)
            finally:
                length = time.perf_counter() - started
                self.group_count += 1
                if length > self.SLOW:
                    self.groups.append((time.perf_counter(), len(calls), length))

        group_commit.run_together = timed_run_together

    async def _watch(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            began = loop.time()
            await asyncio.sleep(0.005)
            lag = loop.time() - began - 0.005
            if lag > self.SLOW:
                self.stalls.append((time.perf_counter(), lag))

    def _gc(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._gc_started = time.perf_counter()
        else:
            self.gcs.append((time.perf_counter(), info["generation"], time.perf_counter() - self._gc_started))

    def report(self) -> dict:
        def overlaps(end: float, length: float, spans) -> bool:
            return any(e - span_length <= end and e >= end - length for e, *_rest, span_length in spans)

        stalls = sorted(self.stalls, key=lambda stall: -stall[1])
        return {
            "stalls_over_20ms": len(self.stalls),
            "stall_ms_longest": [round(length * 1000, 1) for _end, length in stalls[:10]],
            "stalls_with_gc": sum(1 for end, length in self.stalls if overlaps(end, length, self.gcs)),
            "stalls_with_sweep": sum(1 for end, length in self.stalls if overlaps(end, length, self.sweeps)),
            "gc_collections": {g: sum(1 for _e, gen, _l in self.gcs if gen == g) for g in (0, 1, 2)},
            "gc_ms_longest": sorted((round(length * 1000, 1) for _e, _g, length in self.gcs), reverse=True)[:5],
            "sweeps": len(self.sweeps),
            "sweep_ms_longest": sorted((round(length * 1000, 1) for _e, length in self.sweeps), reverse=True)[:5],
            "groups": self.group_count,
            "groups_over_20ms": len(self.groups),
            "group_ms_longest": sorted((round(length * 1000, 1) for _e, _c, length in self.groups), reverse=True)[:10],
            "slow_groups_with_sweep": sum(1 for end, _c, length in self.groups if overlaps(end, length, self.sweeps)),
        }


_stall_probe = StallProbe()


class StatsConsumer(GatedConsumer):
    async def receive(self, text_data=None, bytes_data=None) -> None:
        request = json.loads(text_data) if text_data and text_data.startswith("{") else {}
        command = request.get("tracemalloc")
        if command:
            await self.send(text_data=json.dumps(_trace(command)))
            return
        if request.get("stalls") == "start":
            _stall_probe.start()
            await self.send(text_data=json.dumps({"probing": True}))
            return
        if request.get("stalls") == "report":
            await self.send(text_data=json.dumps(_stall_probe.report()))
            return
        await self.send(
            text_data=json.dumps(
                {
                    "process": PROCESS_ID,
                    "rss_kb": rss_kb(),
                    "cpu_s": round(sum(os.times()[:2]), 3),
                    "queries": _counted[0],
                    "parley_sockets": len(timers.local_channels),
                }
            )
        )


websocket_urlpatterns = [
    path("ws/bench/echo/", EchoConsumer.as_asgi()),
    re_path(r"^ws/bench/relay/(?P<room>[A-Za-z0-9_-]{1,60})/$", GroupRelayConsumer.as_asgi()),
    path("ws/bench/stats/", StatsConsumer.as_asgi()),
]

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

import hmac
import itertools
import json
import os
import tracemalloc
import uuid

from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.db.backends.signals import connection_created
from django.urls import path, re_path

from conversations import timers

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
    """``{"tracemalloc": "start"}``: trace this process's allocations from now on (25 frames deep);
    ``"report"``: what was allocated since then and is still held, by line and by file, then stop."""
    if command == "start":
        tracemalloc.start(25)
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


class StatsConsumer(GatedConsumer):
    async def receive(self, text_data=None, bytes_data=None) -> None:
        command = json.loads(text_data or "{}").get("tracemalloc") if text_data else None
        if command:
            await self.send(text_data=json.dumps(_trace(command)))
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

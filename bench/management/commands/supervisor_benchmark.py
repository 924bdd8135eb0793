"""What one round of the supervisor dashboard's live statistics costs (docs/performance.md).

    python manage.py supervisor_benchmark            # 500 agents, 50 queues, 10,000 conversations
    python manage.py supervisor_benchmark --agents 100 --queues 10 --conversations 2000 --rounds 5

In a throw-away database (yours is not touched) it creates the queues, the agents (each a member of two
queues, a mix of presences, capacity partly used), the non-closed conversations spread over the queues and
states (open, active, waiting, some offered), and as many closed ones. Then it times ``--rounds`` rounds of
``live_stats.snapshot``: the median and 95th percentile of the wall time; the command's own CPU time,
which a busy machine does not inflate (SQLite's work is in it, PostgreSQL's is not); the database queries
per round; the size of the ``stats`` frame. Last, one round of the process's ``StatsHub`` with 1, 5 and
50 supervisor sockets: the figures are computed once per round however many supervisors watch.
"""

from __future__ import annotations

import asyncio
import os
import random
import statistics
import time
from datetime import timedelta
from unittest import mock

from asgiref.sync import sync_to_async
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

HELP = (
    "Measure one round of the supervisor dashboard's statistics in a throw-away database: time, queries "
    "and frame size with N agents, M queues and K conversations, and that a round is computed once for any "
    "number of supervisors. Your own database is not touched."
)


class Command(BaseCommand):
    help = HELP

    def add_arguments(self, parser):
        parser.add_argument("--agents", type=int, default=500, help="agents (500)")
        parser.add_argument("--queues", type=int, default=50, help="queues (50)")
        parser.add_argument("--conversations", type=int, default=10_000, help="non-closed conversations (10000)")
        parser.add_argument("--rounds", type=int, default=20, help="rounds timed (20)")
        parser.add_argument("--seed", type=int, default=16, help="random seed of the data (16)")
        parser.add_argument(
            "--watch-url",
            help="Instead: hold --supervisors supervisor sockets on this running server (same DATABASE_URL), "
            "each watching its busiest conversations, for --seconds, while chat_benchmark --url measures the relay.",
        )
        parser.add_argument("--supervisors", type=int, default=5, help="supervisor sockets with --watch-url (5)")
        parser.add_argument("--seconds", type=float, default=120.0, help="how long to hold them (120)")

    def handle(self, *args, **options):
        if options["watch_url"]:
            frames = asyncio.run(_watch(options["watch_url"].rstrip("/"), options["supervisors"], options["seconds"]))
            self.stdout.write(f"{options['supervisors']} supervisor sockets received {frames} frames")
            return
        agents, queues, total, rounds = (
            options["agents"],
            options["queues"],
            options["conversations"],
            options["rounds"],
        )
        if min(agents, queues, rounds) < 1 or total < 0:
            raise CommandError("--agents, --queues and --rounds must be at least 1, --conversations at least 0.")
        old_name = connection.settings_dict["NAME"]
        if connection.vendor != "sqlite":
            connection.settings_dict.setdefault("TEST", {})["NAME"] = f"parley_benchmark_{os.getpid()}"
        started = time.perf_counter()
        connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
        try:
            random.seed(options["seed"])
            _populate(agents, queues, total)
            self._measure(agents, queues, total, rounds)
        finally:
            connection.creation.destroy_test_db(old_name, verbosity=0)
        self.stdout.write(f"total {time.perf_counter() - started:.1f} s")

    def _measure(self, agents: int, queues: int, total: int, rounds: int) -> None:
        from conversations import events, live_stats

        self.stdout.write(
            f"{connection.vendor}: {agents} agents, {queues} queues, {total} non-closed conversations "
            f"(and {total} closed); {rounds} rounds"
        )
        live_stats.snapshot()  # warm the caches, as a running server has them
        times, cpu, queries = [], [], []
        for _ in range(rounds):
            with CaptureQueriesContext(connection) as captured:
                began, began_cpu = time.perf_counter(), time.process_time()
                figures = live_stats.snapshot()
                times.append((time.perf_counter() - began) * 1000)
                cpu.append((time.process_time() - began_cpu) * 1000)
            queries.append(len(captured.captured_queries))
        frame = events.encode({"type": "stats", **figures})
        times.sort()
        p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
        self.stdout.write(
            f"stats round: median {statistics.median(times):.1f} ms, p95 {p95:.1f} ms, "
            f"this process's CPU median {statistics.median(cpu):.1f} ms, "
            f"{max(queries)} queries, frame {len(frame.encode()) / 1024:.0f} KiB "
            f"({len(figures['queues'])} queues, {len(figures['agents'])} agents)"
        )
        for sockets in (1, 5, 50):
            computed, sent, elapsed = asyncio.run(_hub_round(sockets))
            self.stdout.write(
                f"hub round with {sockets:>2} supervisor sockets: {computed} computation, "
                f"{sent} frames sent, {elapsed:.1f} ms"
            )


class _Socket:
    """Stands in for a supervisor socket: counts what the hub sends."""

    def __init__(self) -> None:
        self.frames = 0

    async def send(self, text_data: str) -> None:
        self.frames += 1


def _one_database_thread(func):
    """The hub's ``db()`` for this command: one database thread whose connection the command closes
    afterwards (a server uses its pool of database threads), so that the throw-away database can be
    dropped."""
    return sync_to_async(func, thread_sensitive=True)


async def _hub_round(count: int) -> tuple[int, int, float]:
    from conversations.consumers import supervisor

    hub = supervisor.StatsHub()
    sockets = [_Socket() for _ in range(count)]
    hub.sockets.update(sockets)
    with mock.patch.object(supervisor, "db", _one_database_thread):
        began = time.perf_counter()
        await hub.round()
        elapsed = (time.perf_counter() - began) * 1000
    await sync_to_async(connections.close_all, thread_sensitive=True)()
    return hub.rounds, sum(socket.frames for socket in sockets), elapsed


def _populate(agents: int, queues: int, total: int) -> None:
    from admin_center.models import ChatWidget, Workstream
    from conversations.models import Conversation, Customer, Mode, Offer, State
    from routing.models import AgentProfile, Presence, Queue

    queue_rows = Queue.objects.bulk_create([Queue(name=f"Queue {n:02d}") for n in range(queues)])
    workstreams = [
        Workstream.objects.create(name=f"Workstream {n:02d}", capacity_units=20, queue=queue)
        for n, queue in enumerate(queue_rows)
    ]
    widgets = [
        ChatWidget.objects.create(public_id=f"bench-{n}", name=f"Widget {n}", workstream=workstream)
        for n, workstream in enumerate(workstreams)
    ]
    password = make_password(None)
    users = get_user_model().objects.bulk_create(
        [get_user_model()(username=f"bench{i}", password=password) for i in range(agents)], batch_size=1000
    )
    presences = [Presence.AVAILABLE, Presence.AVAILABLE, Presence.BUSY, Presence.AWAY, Presence.OFFLINE]
    profiles = AgentProfile.objects.bulk_create(
        [
            AgentProfile(user=user, display_name=f"Agent {i:03d}", capacity=100, presence=random.choice(presences))
            for i, user in enumerate(users)
        ],
        batch_size=1000,
    )
    Queue.members.through.objects.bulk_create(
        [
            Queue.members.through(queue=queue_rows[(i + k) % queues], agentprofile=profile)
            for i, profile in enumerate(profiles)
            for k in range(min(2, queues))
        ],
        batch_size=2000,
    )
    customers = Customer.objects.bulk_create(
        [Customer(name=f"Customer {i}") for i in range(2 * total)], batch_size=2000
    )
    now = timezone.now()
    states = [State.OPEN, State.ACTIVE, State.ACTIVE, State.WAITING, State.WAITING]
    rows = []
    for i, customer in enumerate(customers):
        n = i % queues
        state = State.CLOSED if i >= total else random.choice(states)
        agent = None if state in (State.OPEN, State.CLOSED) else random.choice(profiles)
        moment = now - timedelta(seconds=random.randint(1, 3600))
        rows.append(
            Conversation(
                workstream=workstreams[n],
                widget=widgets[n],
                queue=queue_rows[n],
                customer=customer,
                mode=Mode.LIVE,
                state=state,
                agent=agent,
                capacity_units=20 if agent else 0,
                created_at=moment,
                updated_at=moment,
                queued_at=moment,
                closed_at=now if state == State.CLOSED else None,
            )  # fmt: skip
        )
    conversations = Conversation.objects.bulk_create(rows, batch_size=2000)
    opened = [c for c in conversations if c.state == State.OPEN]
    Offer.objects.bulk_create(
        [
            Offer(
                conversation=c, agent=random.choice(profiles), capacity_units=20, expires_at=now + timedelta(minutes=2)
            )
            for c in opened[: len(opened) // 10]
        ],
        batch_size=2000,
    )


def _supervisors(count: int) -> list[tuple[str, str]]:
    """``count`` supervisors in the server's database (made or refreshed), as (username, password)."""
    from django.contrib.auth.models import Permission

    permission = Permission.objects.get(codename="supervise", content_type__app_label="routing")
    made = []
    for n in range(count):
        username, password = f"bench-supervisor-{n}", f"bench-supervisor-pw-{n}"
        user, _ = get_user_model().objects.get_or_create(username=username)
        user.set_password(password)
        user.save()
        user.user_permissions.add(permission)
        made.append((username, password))
    return made


def _busiest(limit: int) -> list[str]:
    from conversations.models import Conversation, State

    rows = Conversation.objects.filter(state=State.ACTIVE).order_by("-last_seq").values_list("id", flat=True)
    return [str(pk) for pk in rows[:limit]]


async def _watch(url: str, count: int, seconds: float) -> int:
    """Hold ``count`` supervisor sockets for ``seconds``; each watches the 10 busiest active conversations
    (looked up again every 5 s). Returns how many frames they received."""
    import json

    from websockets.asyncio.client import connect

    from bench.signin import sign_in

    accounts = await sync_to_async(_supervisors)(count)
    received = 0
    deadline = time.monotonic() + seconds

    async def hold(username: str, password: str) -> None:
        nonlocal received
        cookie = await asyncio.to_thread(sign_in, url, username, password)
        ws_url = url.replace("http", "ws", 1) + "/ws/supervisor/"
        async with connect(ws_url, origin=url, additional_headers={"Cookie": cookie}, max_size=None) as socket:
            watched: set[str] = set()
            next_lookup = 0.0
            while (left := deadline - time.monotonic()) > 0:
                if time.monotonic() >= next_lookup:
                    for conversation_id in set(await sync_to_async(_busiest)(10)) - watched:
                        await socket.send(json.dumps({"type": "watch", "conversation_id": conversation_id}))
                        watched.add(conversation_id)
                    next_lookup = time.monotonic() + 5
                try:
                    await asyncio.wait_for(socket.recv(), timeout=min(left, 1))
                    received += 1
                except TimeoutError:
                    continue

    await asyncio.gather(*(hold(username, password) for username, password in accounts))
    await sync_to_async(connections.close_all, thread_sensitive=True)()
    return received

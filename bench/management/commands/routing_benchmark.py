"""How much one push assignment costs as the queue grows (docs/performance.md)."""

from __future__ import annotations

import math
import os
import statistics
import time
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

HELP = (
    "Measure push routing in a throw-away database: queue N live conversations for M agents, then at "
    "several queue lengths time a batch of assignments (milliseconds and database queries per assignment) "
    "and one queue-position round. Your own database is not touched."
)


class Command(BaseCommand):
    help = HELP

    def add_arguments(self, parser):
        parser.add_argument("--conversations", type=int, default=10_000, help="queued conversations (10000)")
        parser.add_argument("--agents", type=int, default=500, help="agents in the queue (500)")
        parser.add_argument(
            "--lengths",
            default="10000,1000,100",
            help="queue lengths to measure at, comma-separated, each at most --conversations",
        )
        parser.add_argument("--batch", type=int, default=200, help="assignments measured at each length (200)")
        parser.add_argument(
            "--method", choices=["highest_capacity", "round_robin"], default="highest_capacity", help="assignment"
        )

    def handle(self, *args, **options):
        total, agents, batch = options["conversations"], options["agents"], options["batch"]
        try:
            lengths = sorted({int(part) for part in options["lengths"].split(",") if part.strip()}, reverse=True)
        except ValueError:
            raise CommandError("--lengths takes whole numbers separated by commas.") from None
        if not lengths or lengths[0] > total or lengths[-1] < 1:
            raise CommandError("Each queue length must be between 1 and --conversations.")
        if agents < 1 or batch < 1 or math.ceil(batch / 2) > agents:
            raise CommandError("Need at least one agent per two assignments of a batch.")

        old_name = connection.settings_dict["NAME"]
        if connection.vendor != "sqlite":
            connection.settings_dict.setdefault("TEST", {})["NAME"] = f"parley_benchmark_{os.getpid()}"
        started = time.perf_counter()
        connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
        try:
            self._run(total, agents, batch, lengths, options["method"])
        finally:
            connection.creation.destroy_test_db(old_name, verbosity=0)
        self.stdout.write(f"total {time.perf_counter() - started:.1f} s")

    def _run(self, total: int, agents: int, batch: int, lengths: list[int], method: str) -> None:
        from conversations.actions import queueing
        from conversations.actions.assignment import assign_oldest
        from conversations.models import State
        from routing import estimates

        queue, agent_ids = _populate(total + 1, agents, method)
        # One assignment before measuring loads what a server process caches on its first one (the webhook
        # subscriptions, for instance): every row measures the same steady state. It takes the extra
        # conversation, so ``total`` stay queued.
        _prepare(queue, agent_ids, total + 1, 1)
        if not assign_oldest(queue):
            raise CommandError("Nothing was assigned; the benchmark set-up is wrong.")
        self.stdout.write(
            f"{connection.vendor}: {total} queued live conversations, {agents} agents, {method}, "
            f"{batch} assignments per row, 50 capacity units of 100 per agent; times in ms;"
            " queries and db ms (time inside the database driver) per assignment"
        )
        self.stdout.write(
            f"{'queue length':>12} {'assigned':>8} {'median ms':>10} {'p95 ms':>8} {'queries':>8}"
            f" {'db ms':>6} {'front round ms':>15} {'full round ms':>14} {'told':>6}"
        )
        intervals = estimates.POSITION_ROUND_SECONDS, estimates.FULL_ROUND_SECONDS
        try:
            for length in lengths:
                _prepare(queue, agent_ids, length, batch)
                front_ms, _ = _timed(lambda: queueing.announce_positions(queue.pk, limit=estimates.FRONT))
                full_ms, told = _timed(lambda: queueing.announce_positions(queue.pk))
                # Rounds are measured above; during the batch they are held as
                # they are between two rounds of a busy queue.
                estimates.POSITION_ROUND_SECONDS = estimates.FULL_ROUND_SECONDS = 3600
                queueing.queue_moved(queue.pk)
                connection.queries_log.clear()
                times = []
                with CaptureQueriesContext(connection) as queries:
                    while len(times) < batch:
                        elapsed, assigned = _timed(lambda: assign_oldest(queue))
                        if not assigned:
                            break
                        times.append(elapsed)
                estimates.POSITION_ROUND_SECONDS, estimates.FULL_ROUND_SECONDS = intervals
                estimates.forget_rounds()
                if not times:
                    raise CommandError("Nothing was assigned; the benchmark set-up is wrong.")
                open_now = queue.conversations.filter(state=State.OPEN).count()
                if open_now != length - len(times):
                    raise CommandError("An assignment did not take exactly one conversation off the queue.")
                times.sort()
                db_ms = 1000 * sum(float(query["time"]) for query in queries.captured_queries)
                self.stdout.write(
                    f"{length:>12} {len(times):>8} {statistics.median(times):>10.2f}"
                    f" {times[math.ceil(0.95 * len(times)) - 1]:>8.2f} {len(queries) / len(times):>8.1f}"
                    f" {db_ms / len(times):>6.2f} {front_ms:>15.1f} {full_ms:>14.1f} {told:>6}"
                )
        finally:
            estimates.POSITION_ROUND_SECONDS, estimates.FULL_ROUND_SECONDS = intervals
            estimates.forget_rounds()


def _timed(call):
    """(milliseconds, result) of one call."""
    started = time.perf_counter()
    result = call()
    return (time.perf_counter() - started) * 1000, result


def _populate(total: int, agents: int, method: str):
    from admin_center.models import ChatWidget, Workstream
    from conversations.models import Conversation, Customer, Mode, State
    from routing.models import AgentProfile, Queue

    queue = Queue.objects.create(name="Benchmark", assignment_method=method)
    workstream = Workstream.objects.create(name="Benchmark", capacity_units=50, queue=queue)
    widget = ChatWidget.objects.create(public_id="benchmark", name="Benchmark", workstream=workstream)
    password = make_password(None)
    users = get_user_model().objects.bulk_create(
        [get_user_model()(username=f"bench{i}", password=password) for i in range(agents)]
    )
    profiles = AgentProfile.objects.bulk_create(
        [AgentProfile(user=user, display_name=f"Agent {i}", capacity=100) for i, user in enumerate(users)]
    )
    Queue.members.through.objects.bulk_create(
        [Queue.members.through(queue=queue, agentprofile=profile) for profile in profiles]
    )
    customers = Customer.objects.bulk_create([Customer(name=f"Customer {i}") for i in range(total)], batch_size=2000)
    start = timezone.now() - timedelta(hours=3)
    Conversation.objects.bulk_create(
        [
            Conversation(
                workstream=workstream,
                widget=widget,
                queue=queue,
                customer=customer,
                mode=Mode.LIVE,
                state=State.OPEN,
                created_at=start + timedelta(milliseconds=i),
                updated_at=start + timedelta(milliseconds=i),
                queued_at=start + timedelta(milliseconds=i),
            )
            for i, customer in enumerate(customers)
        ],
        batch_size=2000,
    )
    return queue, [profile.pk for profile in profiles]


def _prepare(queue, agent_ids: list[int], length: int, batch: int) -> None:
    """Set the stage for one row (data preparation, not domain actions): the
    queue holds ``length`` conversations, earlier assignments are gone, and
    exactly enough agents are available for ``batch`` assignments."""
    from conversations.models import Conversation, State
    from routing.models import AgentProfile, Presence

    now = timezone.now()
    Conversation.objects.filter(queue=queue, state=State.ACTIVE).update(state=State.CLOSED, closed_at=now)
    surplus = queue.conversations.filter(state=State.OPEN).count() - length
    if surplus > 0:
        oldest = queue.conversations.filter(state=State.OPEN).order_by("queued_at", "id")[:surplus]
        Conversation.objects.filter(pk__in=list(oldest.values_list("pk", flat=True))).update(
            state=State.CLOSED, closed_at=now
        )
    AgentProfile.objects.filter(pk__in=agent_ids).update(used_capacity=0, presence=Presence.OFFLINE)
    available = agent_ids[: math.ceil(min(batch, length) / 2)]
    AgentProfile.objects.filter(pk__in=available).update(presence=Presence.AVAILABLE)

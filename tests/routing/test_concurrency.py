"""Assignment from several OS processes at once against PostgreSQL.

Four worker processes (concurrency_worker.py) start at the same instant and
interleave push dispatch, ends that free capacity, and picks of the same pick
conversations. For the duration a database CHECK constraint makes any
over-capacity assignment fail loudly; afterwards the test checks that no
conversation was assigned twice, that each pick conversation has exactly one
winner, that the capacity bookkeeping matches the conversations, and that
nobody was left idle while work was queued.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection

from conversations.actions import assignment, messages
from conversations.models import Conversation, ConversationEvent, Customer, State
from routing.models import AgentProfile, Presence
from tests import factories

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.production, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
WORKERS = 4
PUSH_CONVERSATIONS = 160
PICK_CONVERSATIONS = 24
CHECK = "routing_test_never_over_capacity"


def _database_url() -> str:
    db = connection.settings_dict
    password = f":{quote(db['PASSWORD'])}" if db.get("PASSWORD") else ""
    return f"postgres://{quote(db['USER'])}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _queue(widget, n: int) -> list[str]:
    ids = []
    for i in range(n):
        customer = Customer.objects.create(name=f"Customer {widget.pk}-{i}")
        _message, conversation, _ = messages.customer_message(customer, widget, client_id="c", text="hello")
        ids.append(str(conversation.pk))
    return ids


@pytest.fixture
def over_capacity_fails():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (DATABASE_URL=postgres://...): SQLite serialises all writes in one process")
    with connection.cursor() as cursor:
        cursor.execute(
            f"ALTER TABLE routing_agentprofile ADD CONSTRAINT {CHECK} CHECK (used_capacity <= capacity)"  # noqa: S608
        )
    yield
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE routing_agentprofile DROP CONSTRAINT IF EXISTS {CHECK}")


def test_several_processes_never_over_capacity_never_assign_twice_and_one_pick_wins(over_capacity_fails):
    push = factories.make_setup(capacity_units=25)
    pick = factories.make_setup(distribution="pick", capacity_units=10)
    push_agents = [factories.make_agent(capacity=100, queues=[push.workstream.queue]) for _ in range(8)]
    pickers = [factories.make_agent(capacity=10_000, queues=[pick.workstream.queue]) for _ in range(WORKERS)]
    _queue(push, PUSH_CONVERSATIONS)
    pick_ids = _queue(pick, PICK_CONVERSATIONS)
    AgentProfile.objects.filter(pk__in=[a.pk for a in push_agents]).update(presence=Presence.AVAILABLE)

    start_at = time.time() + 3
    env = {**os.environ, "DATABASE_URL": _database_url(), "DJANGO_SETTINGS_MODULE": "config.test_settings"}
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.routing.concurrency_worker", json.dumps(spec)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for spec in (
            {
                "seed": n,
                "start_at": start_at,
                "steps": 90,
                "push_queue": push.workstream.queue_id,
                "push_agents": [a.pk for a in push_agents],
                "picker": pickers[n].pk,
                "pick_conversations": pick_ids,
            }
            for n in range(WORKERS)
        )
    ]
    reports = []
    for worker in workers:
        out, err = worker.communicate(timeout=100)
        assert worker.returncode == 0, err
        reports.append(json.loads(out.strip().splitlines()[-1]))

    assert [r["errors"] for r in reports] == [[]] * WORKERS
    assert sum(r["ended"] for r in reports) > 0 and sum(r["routed"] for r in reports) > 0

    # Exactly one winner per pick conversation, and it is the recorded agent.
    winners = Counter(cid for r in reports for cid in r["picked"])
    assert sorted(winners) == sorted(pick_ids) and set(winners.values()) == {1}
    for n, report in enumerate(reports):
        assert set(Conversation.objects.filter(pk__in=report["picked"]).values_list("agent_id", flat=True)) <= {
            pickers[n].pk
        }
    assert sum(r["pick_refused"] for r in reports) == PICK_CONVERSATIONS * (WORKERS - 1)

    # Never assigned twice; capacity bookkeeping exact.
    activations = Counter(
        ConversationEvent.objects.filter(to_state=State.ACTIVE).values_list("conversation_id", flat=True)
    )
    assert activations and set(activations.values()) == {1}
    for agent in AgentProfile.objects.all():
        held = Conversation.objects.filter(agent=agent, state__in=[State.ACTIVE, State.WRAP_UP])
        assert agent.used_capacity == sum(c.capacity_units for c in held) <= agent.capacity

    # Work left queued only because nobody has room.
    assignment.dispatch(None)
    if Conversation.objects.filter(queue=push.workstream.queue, state=State.OPEN).exists():
        assert all(a.free_capacity < 25 for a in AgentProfile.objects.filter(pk__in=[a.pk for a in push_agents]))


def test_worker_module_runs_in_this_process_too():
    """The worker's own logic, single process (SQLite or PostgreSQL): it routes, ends and picks."""
    from tests.routing import concurrency_worker

    push = factories.make_setup(capacity_units=50)
    pick = factories.make_setup(distribution="pick", capacity_units=10)
    alice = factories.make_agent("alice", capacity=100, queues=[push.workstream.queue])
    bob = factories.make_agent("bob", queues=[pick.workstream.queue])
    _queue(push, 4)
    pick_ids = _queue(pick, 2)
    AgentProfile.objects.filter(pk=alice.pk).update(presence=Presence.AVAILABLE)
    report = concurrency_worker.main(
        {
            "seed": uuid.uuid4().int % 1000,
            "start_at": 0,
            "steps": 12,
            "push_queue": push.workstream.queue_id,
            "push_agents": [alice.pk],
            "picker": bob.pk,
            "pick_conversations": pick_ids,
        }
    )
    assert report["errors"] == [] and sorted(report["picked"]) == sorted(pick_ids)
    assert Conversation.objects.filter(agent=alice).exists()

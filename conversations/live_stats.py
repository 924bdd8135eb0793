"""The supervisor dashboard's live figures (../shared/PROTOCOL.md "Supervisor socket"): QueueStats and
AgentStats, computed by a fixed number of aggregate queries whatever the number of queues, agents and
conversations (six: the queues, conversations by queue and state, members by queue and presence, the
agents, conversations by agent and state, pending offers by agent). The conversation and offer queries
name the queues and agents they count, so that the database reads its indexes alone (a range per queue
or agent and state) rather than every conversation's row.

Each server process computes them at most once a second for all of its supervisor sockets together
(``conversations/consumers/supervisor.py``), so the cost does not grow with the number of supervisors.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from django.db.models import Count, Min
from django.utils import timezone

from routing.models import AgentProfile, Presence, Queue

from .models import Conversation, Offer, State

LIVE_STATES = (State.OPEN, State.ACTIVE, State.WAITING)


def queue_stats(now: datetime | None = None) -> list[dict]:
    now = now or timezone.now()
    by_queue: dict[int, dict] = defaultdict(dict)
    queues = list(Queue.objects.order_by("name").values_list("id", "name"))
    # Naming the queues lets the database read the (queue, state, queued_at) index alone, a range per
    # queue and state, instead of visiting every conversation's row.
    rows = (
        Conversation.objects.filter(queue_id__in=Queue.objects.values("id"), state__in=LIVE_STATES)
        .order_by()
        .values_list("queue_id", "state")
        .annotate(count=Count("queue_id"), oldest=Min("queued_at"))
    )
    for queue_id, state, count, oldest in rows:
        by_queue[queue_id][state] = (count, oldest)
    presence: dict[int, dict[str, int]] = defaultdict(dict)
    members = (
        Queue.members.through.objects.order_by()
        .values_list("queue_id", "agentprofile__presence")
        .annotate(count=Count("id"))
    )
    for queue_id, status, count in members:
        presence[queue_id][status] = count
    stats = []
    for queue_id, name in queues:
        states = by_queue.get(queue_id, {})
        open_count, oldest = states.get(State.OPEN, (0, None))
        members_by_presence = presence.get(queue_id, {})
        stats.append(
            {
                "id": str(queue_id),
                "name": name,
                "open": open_count,
                "longest_wait_seconds": max(0, int((now - oldest).total_seconds())) if oldest else 0,
                "active": states.get(State.ACTIVE, (0, None))[0],
                "waiting": states.get(State.WAITING, (0, None))[0],
                "agents_available": members_by_presence.get(Presence.AVAILABLE, 0),
                "agents_online": sum(n for status, n in members_by_presence.items() if status != Presence.OFFLINE),
            }
        )
    return stats


def agent_stats() -> list[dict]:
    agents = list(
        AgentProfile.objects.order_by("display_name", "id").values_list(
            "id", "display_name", "presence", "capacity", "used_capacity"
        )
    )
    assigned: dict[int, dict[str, int]] = defaultdict(dict)
    # As for the queues: the (agent, state) index alone, a range per agent and state.
    rows = (
        Conversation.objects.filter(
            agent_id__in=AgentProfile.objects.values("id"), state__in=(State.ACTIVE, State.WAITING)
        )
        .order_by()
        .values_list("agent_id", "state")
        .annotate(count=Count("agent_id"))
    )
    for agent_id, state, count in rows:
        assigned[agent_id][state] = count
    offered = dict(
        Offer.objects.filter(agent_id__in=AgentProfile.objects.values("id"), status=Offer.Status.PENDING)
        .order_by()
        .values_list("agent_id")
        .annotate(count=Count("agent_id"))
    )
    return [
        {
            "id": str(agent_id),
            "name": name,
            "presence": presence,
            "capacity": {"total": capacity, "used": used},
            "active": assigned.get(agent_id, {}).get(State.ACTIVE, 0),
            "waiting": assigned.get(agent_id, {}).get(State.WAITING, 0),
            "offered": offered.get(agent_id, 0),
        }
        for agent_id, name, presence, capacity, used in agents
    ]


def snapshot(now: datetime | None = None) -> dict:
    """``{"queues": [QueueStats], "agents": [AgentStats]}``."""
    return {"queues": queue_stats(now), "agents": agent_stats()}

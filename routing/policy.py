"""Who may take what, decided without touching conversations (../PROTOCOL.md "Routing rules"; the rules
in words: docs/routing.md): operating hours, free capacity, the eligible agents of a queue in the order of
its assignment method. The locking entry points that act on these decisions are
``conversations.actions.assignment``.
"""

from __future__ import annotations

from datetime import datetime

from django.db.models import F
from django.utils import timezone

from .models import AgentProfile, Presence, Queue


def queue_is_open(queue: Queue, at: datetime | None = None) -> bool:
    hours = queue.operating_hours
    return hours is None or hours.is_open(at or timezone.now())


def next_opening(queue: Queue, at: datetime | None = None) -> datetime | None:
    """When the queue's operating hours open next; None while they are open or when they never open."""
    hours = queue.operating_hours
    at = at or timezone.now()
    if hours is None or hours.is_open(at):
        return None
    return hours.next_opening(at)


def can_take(agent: AgentProfile, units: int) -> bool:
    """Whether ``agent`` (its row read under lock) has room for a conversation needing ``units``."""
    return agent.free_capacity >= units


def eligible_agents(queue: Queue, units: int):
    """Members who may take a conversation needing ``units``, best first."""
    agents = (
        AgentProfile.objects.with_free_capacity()
        .filter(queues=queue, presence=Presence.AVAILABLE, user__is_active=True)
        .filter(free__gte=units)
    )
    longest_idle = F("last_assigned_at").asc(nulls_first=True)
    if queue.assignment_method == Queue.AssignmentMethod.HIGHEST_CAPACITY:
        return agents.order_by(F("free").desc(), longest_idle, "id")
    return agents.order_by(longest_idle, "id")

"""``used_capacity`` checked against the conversations (``manage.py check_capacity [--fix]``).

The column is kept in the same transaction as every state change that moves it; a bug, a crash between
processes or a hand edit of the database can still leave it off. This recomputes it from the
conversations that hold capacity (``transitions.HOLDS_CAPACITY``) and, when asked, repairs it."""

from __future__ import annotations

import logging

from django.db import transaction
from django.db.models import Sum

from routing.models import AgentProfile

from ..models import Conversation
from .assignment import dispatch_for_agent
from .changes import announce_capacity
from .transitions import HOLDS_CAPACITY

logger = logging.getLogger("parley.routing")


def held_capacity(agent_id) -> int:
    """The capacity units the agent's conversations hold now."""
    total = Conversation.objects.filter(agent_id=agent_id, state__in=HOLDS_CAPACITY).aggregate(
        total=Sum("capacity_units")
    )["total"]
    return total or 0


def check_capacity(*, fix: bool = False) -> list[dict]:
    """Every agent whose ``used_capacity`` differs from what their conversations hold:
    ``{"agent_id", "agent", "stored", "held"}``. With ``fix`` the column is set to what is held (the agent's
    row locked first, so no state change runs between the count and the repair), the workspace hears the
    new figures and an agent with room again gets work."""
    drift = []
    for agent_id in list(AgentProfile.objects.order_by("pk").values_list("pk", flat=True)):
        with transaction.atomic():
            agent = AgentProfile.objects.select_for_update().filter(pk=agent_id).first()
            if agent is None:
                continue
            held = held_capacity(agent_id)
            if held == agent.used_capacity:
                continue
            drift.append(
                {"agent_id": agent_id, "agent": agent.display_name, "stored": agent.used_capacity, "held": held}
            )
            if fix:
                AgentProfile.objects.filter(pk=agent_id).update(used_capacity=held)
                announce_capacity(agent_id)
                logger.warning("used capacity of agent %s repaired: %s -> %s", agent_id, agent.used_capacity, held)
        if fix and held < agent.used_capacity:
            dispatch_for_agent(agent_id)
    return drift

"""Routing's side of offers (a workstream with ``auto_accept`` off): choosing the agent, making the offer
and leaving offered conversations out of the queue head. ``assignment`` calls these inside its
transaction; the agent's side (accept, decline, expiry) is ``offers``."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import F
from django.utils import timezone

from routing.models import AgentProfile

from .. import events
from ..models import Conversation, Offer
from .changes import announce_capacity
from .payloads import offer_frame

# --- routing's side -------------------------------------------------------------------------------


def make_offer(conversation: Conversation, agent: AgentProfile, *, now: datetime | None = None) -> Offer:
    """Offer ``conversation`` (open, locked, no pending offer) to ``agent`` (locked, eligible): reserve
    the capacity units and send the agent ``offer``. Call inside routing's transaction."""
    now = now or timezone.now()
    workstream = conversation.workstream
    units = workstream.capacity_units
    offer = Offer.objects.create(
        conversation=conversation,
        agent=agent,
        capacity_units=units,
        created_at=now,
        expires_at=now + timedelta(seconds=workstream.offer_timeout_seconds),
    )
    if units:
        AgentProfile.objects.filter(pk=agent.pk).update(used_capacity=F("used_capacity") + units, last_assigned_at=now)
        announce_capacity(agent.pk)
    else:
        AgentProfile.objects.filter(pk=agent.pk).update(last_assigned_at=now)
    agent.last_assigned_at = now
    events.to_agent(agent.pk, offer_frame(offer, conversation))
    events.offer_timer(agent.pk, offer.pk, offer.expires_at.timestamp())
    events.stats_changed()
    return offer


def choose_agent(eligible, conversation_id) -> AgentProfile | None:
    """The first of ``eligible`` (routing's ordered, unlocked queryset) who has not been offered this
    conversation before; an agent who has, only when nobody else is eligible. Locks the agent's row."""
    offered_before = Offer.objects.filter(conversation_id=conversation_id).values("agent_id")
    agent = eligible.exclude(pk__in=offered_before).select_for_update(of=("self",)).first()
    if agent is None:
        agent = eligible.select_for_update(of=("self",)).first()
    return agent


def pending_conversations():
    """Conversations with a pending offer (routing's queue head leaves them out)."""
    return Offer.objects.filter(status=Offer.Status.PENDING).values("conversation_id")

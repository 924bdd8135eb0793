"""Offers: push distribution that asks the agent first (a workstream with ``auto_accept`` off).

Routing offers the oldest open conversation to the agent it chose (``make_offer``, inside routing's
transaction with the conversation and the agent locked). The offer reserves the workstream's capacity
units on the agent (``AgentProfile.used_capacity``), so routing never offers or assigns past capacity,
and the conversation stays ``open`` without being offered to anyone else. Then one of:

- ``accept``: the reservation becomes the active conversation's capacity; ``assigned`` follows;
- ``decline``: the reservation is freed and routing offers the conversation to another agent;
- expiry after the workstream's ``offer_timeout_seconds``: like a decline, the agent gets
  ``offer_withdrawn``, and an agent who lets ``MISSED_OFFERS_BEFORE_AWAY`` offers expire in a row is set
  ``away`` and told why (a ``presence`` frame with ``reason: "offers_expired"``);
- the conversation leaves ``open`` some other way (the customer ends it, a supervisor assigns it, a
  timer closes it): the state change withdraws the offer, frees the reservation and tells the agent
  (``changes.change_state``).

Every change locks the conversation first, then the offer, then the agent (the order routing and every
other action use), and re-checks the offer's status under those locks: an accept racing the expiry, or
two sockets of one agent, change it once. Expiry is checked against ``expires_at`` at the moment of the
accept, so an accept after the deadline is ``expired`` even before the timer sweep has run.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from routing.models import AgentProfile, Presence

from .. import events
from ..errors import EXPIRED, NOT_ALLOWED, NOT_FOUND, ServiceError
from ..models import Conversation, Offer
from .access import parse_id
from .assignment import dispatch
from .changes import activate, announce_capacity
from .transitions import agent_actor, guard

logger = logging.getLogger("parley.offers")

MISSED_OFFERS_BEFORE_AWAY = 3


# --- the agent's side -----------------------------------------------------------------------------


def _lock_conversation(conversation_id) -> Conversation:
    conversation = (
        Conversation.objects.select_for_update(of=("self",))
        .select_related("workstream", "customer", "agent", "widget", "queue")
        .filter(pk=parse_id(conversation_id))
        .first()
    )
    if conversation is None:
        raise ServiceError(NOT_FOUND, "No such conversation.")
    return conversation


def _latest_offer_to(conversation: Conversation, agent: AgentProfile) -> Offer:
    offer = (
        Offer.objects.select_for_update()
        .filter(conversation=conversation, agent_id=agent.pk)
        .order_by("-created_at", "-id")
        .first()
    )
    if offer is None:
        raise ServiceError(NOT_ALLOWED, "This conversation has not been offered to you.")
    return offer


def accept(agent: AgentProfile, conversation_id) -> Conversation:
    """The offered agent takes the conversation: open -> active and theirs. ``expired`` after the
    deadline; accepting an offer already accepted (a second socket, a resent frame) changes nothing."""
    now = timezone.now()
    with transaction.atomic():
        conversation = _lock_conversation(conversation_id)
        offer = _latest_offer_to(conversation, agent)
        if offer.status == Offer.Status.ACCEPTED and conversation.agent_id == agent.pk:
            return conversation
        late = offer.status == Offer.Status.PENDING and offer.expires_at <= now
        if not late:
            _require_pending(offer)
            guard("accept", conversation)
            locked = AgentProfile.objects.select_for_update().get(pk=agent.pk)
            _resolve(offer, Offer.Status.ACCEPTED, now)
            AgentProfile.objects.filter(pk=locked.pk).update(
                used_capacity=F("used_capacity") - offer.capacity_units, missed_offers=0
            )
            locked.used_capacity -= offer.capacity_units
            activate(conversation, locked, actor=agent_actor(locked), reason="offer_accepted")
            events.stats_changed()
            return conversation
    expire(offer.pk, now=now)
    raise ServiceError(EXPIRED, "The offer has expired.")


def decline(agent: AgentProfile, conversation_id) -> Offer:
    """The offered agent says no: the reservation is freed and routing offers the conversation to
    another agent (this one again only when nobody else can take it)."""
    now = timezone.now()
    with transaction.atomic():
        conversation = _lock_conversation(conversation_id)
        offer = _latest_offer_to(conversation, agent)
        late = offer.status == Offer.Status.PENDING and offer.expires_at <= now
        if not late:
            _require_pending(offer)
            AgentProfile.objects.select_for_update().filter(pk=agent.pk).first()
            _resolve(offer, Offer.Status.DECLINED, now)
            _release(offer, missed_offers=0)
            events.stats_changed()
    if late:
        expire(offer.pk, now=now)
        raise ServiceError(EXPIRED, "The offer has expired.")
    _route_again(conversation)
    return offer


def _require_pending(offer: Offer) -> None:
    if offer.status == Offer.Status.EXPIRED:
        raise ServiceError(EXPIRED, "The offer has expired.")
    if offer.status != Offer.Status.PENDING:
        raise ServiceError(NOT_ALLOWED, f"This offer is {offer.status} already.")


def _resolve(offer: Offer, status: str, now: datetime) -> None:
    offer.status = status
    offer.resolved_at = now
    offer.save(update_fields=["status", "resolved_at"])


def _release(offer: Offer, **agent_fields) -> None:
    """Free the offer's reservation on its agent (the agent's row locked by the caller or not yet)."""
    updates = dict(agent_fields)
    if offer.capacity_units:
        updates["used_capacity"] = F("used_capacity") - offer.capacity_units
    if updates:
        AgentProfile.objects.filter(pk=offer.agent_id).update(**updates)
    if offer.capacity_units:
        announce_capacity(offer.agent_id)


def _route_again(conversation: Conversation) -> None:
    """After the commit: the conversation to the next agent, and the freed capacity to the queues."""
    transaction.on_commit(lambda: dispatch([conversation.queue_id]), robust=True)


# --- time-outs and withdrawals ------------------------------------------------------------------


def expire(offer_id, *, now: datetime | None = None) -> bool:
    """A pending offer past its deadline expires (re-checked under the locks): the reservation is
    freed, the agent gets ``offer_withdrawn``, and routing offers the conversation again. The agent's
    ``MISSED_OFFERS_BEFORE_AWAY``-th expiry in a row sets them ``away``. False when there was nothing to do."""
    now = now or timezone.now()
    conversation_id = Offer.objects.filter(pk=offer_id).values_list("conversation_id", flat=True).first()
    if conversation_id is None:
        return False
    with transaction.atomic():
        conversation = (
            Conversation.objects.select_for_update(of=("self",)).select_related("queue").filter(pk=conversation_id)
        ).first()
        offer = Offer.objects.select_for_update().filter(pk=offer_id).first()
        if conversation is None or offer is None:
            return False
        if offer.status != Offer.Status.PENDING or offer.expires_at > now:
            return False
        agent = AgentProfile.objects.select_for_update().get(pk=offer.agent_id)
        _resolve(offer, Offer.Status.EXPIRED, now)
        missed = agent.missed_offers + 1
        set_away = missed >= MISSED_OFFERS_BEFORE_AWAY and agent.presence == Presence.AVAILABLE
        fields = {"missed_offers": 0 if set_away else missed}
        if set_away:
            fields.update(presence=Presence.AWAY, presence_changed_at=now)
        _release(offer, **fields)
        events.to_agent(
            agent.pk,
            {"type": "offer_withdrawn", "conversation_id": str(conversation.pk), "reason": "expired"},
        )
        if set_away:
            events.to_agent(
                agent.pk,
                {"type": "presence", "status": Presence.AWAY, "reason": "offers_expired", "missed_offers": missed},
            )
            logger.info("agent %s set away after %s offers expired in a row", agent.pk, missed)
        events.stats_changed()
    _route_again(conversation)
    return True


def expire_due(now: datetime | None = None) -> int:
    """The timers' part: every pending offer past its deadline (each in its own transaction)."""
    now = now or timezone.now()
    due = Offer.objects.filter(status=Offer.Status.PENDING, expires_at__lte=now).values_list("pk", flat=True)
    return sum(expire(offer_id, now=now) for offer_id in list(due))

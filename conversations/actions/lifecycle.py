"""The moves of an assigned conversation: the agent sets it aside, resumes, ends and closes it; a live-chat
customer ends it; the timers close or end it. Each checks the table (``transitions.guard``), changes the
state through ``changes.change_state`` and routes again when capacity was freed."""

from __future__ import annotations

from django.db import transaction

from routing.models import AgentProfile

from ..errors import NOT_ALLOWED, NOT_FOUND, ServiceError
from ..models import Conversation, Customer, State
from . import access, ratings
from .assignment import after_capacity_freed
from .changes import change_state, end_conversation
from .transitions import SYSTEM, TABLE, agent_actor, customer_actor, guard


def set_waiting(agent: AgentProfile, conversation_id) -> Conversation:
    """The agent's ✖: active -> waiting (persistent chat only); frees capacity."""
    with transaction.atomic():
        conversation = access.access_conversation_for_agent(agent, conversation_id, lock=True)
        guard("set_waiting", conversation)
        change_state(conversation, State.WAITING, agent_actor(agent), "set_aside")
    after_capacity_freed(conversation)
    return conversation


def resume(agent: AgentProfile, conversation_id) -> Conversation:
    """waiting -> active, always allowed to the assigned agent, even past capacity."""
    with transaction.atomic():
        conversation = access.access_conversation_for_agent(agent, conversation_id, lock=True)
        guard("resume", conversation)
        change_state(conversation, State.ACTIVE, agent_actor(agent), "resumed")
    return conversation


def end(agent: AgentProfile, conversation_id) -> Conversation:
    """active|waiting -> wrap-up, or closed where the workstream has no wrap-up."""
    with transaction.atomic():
        conversation = access.access_conversation_for_agent(agent, conversation_id, lock=True)
        guard("end", conversation)
        end_conversation(conversation, agent_actor(agent), "agent_ended")
        ratings.ask_for_rating(conversation)
    after_capacity_freed(conversation)
    return conversation


def close(agent: AgentProfile, conversation_id) -> Conversation:
    """wrap-up -> closed."""
    with transaction.atomic():
        conversation = access.access_conversation_for_agent(agent, conversation_id, lock=True)
        guard("close", conversation)
        change_state(conversation, State.CLOSED, agent_actor(agent), "agent_closed")
    after_capacity_freed(conversation)
    return conversation


def customer_end(customer: Customer, widget) -> Conversation:
    """The customer's end: live chat only (persistent chat is ended by agents)."""
    workstream = widget.workstream
    if workstream.mode != TABLE["customer_end"].mode:
        raise ServiceError(NOT_ALLOWED, TABLE["customer_end"].mode_refusal)
    with transaction.atomic():
        conversation = access.current_conversation(customer, workstream, lock=True)
        if conversation is None:
            raise ServiceError(NOT_FOUND, TABLE["customer_end"].refusal)
        guard("customer_end", conversation)
        end_conversation(conversation, customer_actor(customer), "customer_ended")
    after_capacity_freed(conversation)
    return conversation


def close_by_system(conversation_id, reason: str, **still) -> bool:
    """Timers and erasure: close a conversation if it still qualifies (re-checked under lock; ``still``:
    further conditions of the caller, as field lookups, re-checked with them)."""
    with transaction.atomic():
        conversation = (
            access.conversations()
            .select_for_update(of=("self",), skip_locked=True)
            .filter(pk=conversation_id, state__in=TABLE["system_close"].starts, **still)
            .first()
        )
        if conversation is None:
            return False
        change_state(conversation, State.CLOSED, SYSTEM, reason)
    after_capacity_freed(conversation)
    return True


def end_by_system(conversation_id, reason: str) -> bool:
    """Live chat whose customer stayed away past the grace period."""
    with transaction.atomic():
        conversation = (
            access.conversations()
            .select_for_update(of=("self",), skip_locked=True)
            .filter(pk=conversation_id, state__in=TABLE["system_end"].starts)
            .first()
        )
        if conversation is None:
            return False
        end_conversation(conversation, SYSTEM, reason)
    after_capacity_freed(conversation)
    return True

"""Permission-checked lookups (Zulip's ``access_*_by_*``): the conversation an agent may act on, the one a
customer is in. Consumers and views never look conversations up themselves."""

from __future__ import annotations

import uuid

from ..errors import NOT_ALLOWED, NOT_FOUND, ServiceError
from ..models import CURRENT_STATES, Conversation, Customer, State


def conversations():
    """Conversations with what summaries and announcements read of them."""
    return Conversation.objects.select_related("workstream", "customer", "agent", "widget", "queue")


def parse_id(conversation_id) -> uuid.UUID:
    try:
        return uuid.UUID(str(conversation_id))
    except (ValueError, TypeError, AttributeError):
        raise ServiceError(NOT_FOUND, "No such conversation.") from None


def access_conversation_for_agent(agent, conversation_id, *, lock: bool = False) -> Conversation:
    """The agent's conversation, or ``not_found`` / ``not_allowed``."""
    query = conversations()
    if lock:
        query = query.select_for_update(of=("self",))
    conversation = query.filter(pk=parse_id(conversation_id)).first()
    if conversation is None:
        raise ServiceError(NOT_FOUND, "No such conversation.")
    if conversation.agent_id != agent.id:
        raise ServiceError(NOT_ALLOWED, "This conversation is not assigned to you.")
    return conversation


def current_conversation(customer: Customer, workstream, *, lock: bool = False) -> Conversation | None:
    """The customer's open, active or waiting conversation in ``workstream``, with what summaries read.
    A narrow query finds it by the (customer, workstream, state) index, then the joined query reads that
    row. Asked at once, SQLite's planner joined the customer first and then read every conversation of
    the workstream through the workstream's index: 9.8-15.2 ms with 20,000 conversations in it, 0.77 ms
    now (docs/performance.md, "Measured on 2026-12-01, 15:40 to 17:00 UTC")."""
    pk = (
        Conversation.objects.filter(customer=customer, workstream=workstream, state__in=CURRENT_STATES)
        .order_by("pk")
        .values_list("pk", flat=True)
        .first()
    )
    if pk is None:
        return None
    query = conversations()
    if lock:
        query = query.select_for_update(of=("self",))
    # the state again: it may have changed between the two reads (under the lock, it holds)
    return query.filter(pk=pk, state__in=CURRENT_STATES).first()


def current_for_message(customer: Customer, workstream) -> Conversation | None:
    """``current_conversation(..., lock=True)`` for the hot path of a customer's message: one
    row lock on the conversation alone, without the joins that building the full query costs."""
    rows = list(
        Conversation.objects.select_for_update()
        .filter(customer=customer, workstream=workstream, state__in=CURRENT_STATES)
        .order_by()[:1]
    )
    if not rows:
        return None
    conversation = rows[0]
    conversation.customer = customer
    conversation.workstream = workstream
    return conversation


def customer_readable_conversation(customer: Customer, workstream, known_id=None) -> Conversation | None:
    """The conversation a customer socket reads (``sync``/``history``): the
    current one, else the one this socket was in (so that the rest of a
    conversation that just ended can still be fetched)."""
    conversation = current_conversation(customer, workstream)
    if conversation is None and known_id is not None:
        conversation = conversations().filter(pk=known_id, customer=customer, workstream=workstream).first()
    return conversation


def agent_conversations(agent) -> list[Conversation]:
    return list(conversations().filter(agent=agent).exclude(state=State.CLOSED).order_by("-updated_at"))

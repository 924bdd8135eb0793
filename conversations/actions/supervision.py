"""What a supervisor does (``routing.supervise``, docs/security.md): watch any conversation read-only,
set an agent's presence (an agent who left for lunch while available), and transfer or assign any
non-closed conversation (``conversations.actions.transfer.transfer(..., supervisor=True)``).

Every action loads the acting user again and checks the permission, so a supervisor whose permission
was taken away cannot act from a socket opened before.
"""

from __future__ import annotations

import logging

from django.contrib.auth import get_user_model

from routing.models import AgentProfile

from ..errors import BAD_REQUEST, NOT_ALLOWED, NOT_FOUND, ServiceError
from ..models import Conversation
from ..serializers import conversation_summary, iso, message_dict
from .access import parse_id
from .payloads import agent_summary, latest_messages
from .sessions import check_presence, set_presence
from .transfer import transfer as transfer_conversation

logger = logging.getLogger("parley.supervision")

PERMISSION = "routing.supervise"


def is_supervisor(user) -> bool:
    return bool(user is not None and user.is_authenticated and user.is_active and user.has_perm(PERMISSION))


def access_supervisor(user_id) -> object:
    """The acting user, loaded again, or ``not_allowed`` when they may no longer supervise."""
    user = get_user_model().objects.filter(pk=user_id).first()
    if not is_supervisor(user):
        raise ServiceError(NOT_ALLOWED, "You do not have the supervisor permission.")
    return user


def supervisor_name(user) -> str:
    profile = AgentProfile.objects.filter(user=user).values_list("display_name", flat=True).first()
    return profile or user.get_full_name() or user.get_username()


def _conversation(conversation_id) -> Conversation:
    conversation = (
        Conversation.objects.select_related("workstream", "customer", "agent", "widget", "queue")
        .filter(pk=parse_id(conversation_id))
        .first()
    )
    if conversation is None:
        raise ServiceError(NOT_FOUND, "No such conversation.")
    return conversation


def watch(user_id, conversation_id) -> dict:
    """The ``conversation`` answer to ``watch``: what the agent's ``open`` shows, read-only."""
    access_supervisor(user_id)
    conversation = _conversation(conversation_id)
    messages, has_more = latest_messages(conversation)
    summary = agent_summary(conversation)
    summary["queue"] = {"id": str(conversation.queue_id), "name": conversation.queue.name}
    summary["messages"] = [message_dict(m) for m in messages]
    summary["has_more"] = has_more
    return {"type": "conversation", "conversation": summary}


def set_agent_presence(user_id, agent_id, status: str) -> AgentProfile:
    """A supervisor sets an agent's presence (``sessions.set_presence``); the agent's workspace shows
    it and who set it, and an agent made available gets work."""
    user = access_supervisor(user_id)
    status = check_presence(status)
    try:
        agent = AgentProfile.objects.filter(pk=int(agent_id)).first()
    except (TypeError, ValueError):
        agent = None
    if agent is None:
        raise ServiceError(NOT_FOUND, "No such agent.")
    set_presence(agent, status, by=supervisor_name(user))
    logger.info("supervisor %s set agent %s %s", user.pk, agent.pk, status)
    return agent


def transfer(user_id, conversation_id, to, note: str | None = None) -> Conversation:
    """A supervisor's transfer: any non-closed conversation, to an agent or a queue (an open one:
    assigning it). The rules are the transfer action's (``conversations.actions.transfer``)."""
    user = access_supervisor(user_id)
    return transfer_conversation(conversation_id, to, by=user, note=note, supervisor=True)


def conversation_list(user_id, *, queue_id=None, agent_id=None, limit: int = 100) -> dict:
    """The non-closed conversations of one queue or one agent, longest waiting first (the dashboard's
    lists, from which a supervisor watches or transfers one)."""
    access_supervisor(user_id)
    query = Conversation.objects.exclude(state="closed").select_related("workstream", "customer", "agent", "queue")
    try:
        if queue_id is not None:
            query = query.filter(queue_id=int(queue_id))
        elif agent_id is not None:
            query = query.filter(agent_id=int(agent_id))
        else:
            raise ServiceError(BAD_REQUEST, "Name a queue or an agent.")
    except (TypeError, ValueError):
        raise ServiceError(BAD_REQUEST, "'queue' and 'agent' are ids.") from None
    rows = list(query.order_by("queued_at", "id")[: limit + 1])
    items = []
    for conversation in rows[:limit]:
        summary = conversation_summary(conversation)
        summary["queue"] = {"id": str(conversation.queue_id), "name": conversation.queue.name}
        summary["queued_at"] = iso(conversation.queued_at)
        items.append(summary)
    return {"items": items, "has_more": len(rows) > limit}

"""A customer's earlier conversations, shown by the widget above the current one with dividers."""

from __future__ import annotations

from ..errors import ServiceError
from ..models import CURRENT_STATES, Conversation, Customer
from ..serializers import iso, message_dict
from . import files
from .access import parse_id as _parse_id

PAGE = 3
MESSAGES_PER_CONVERSATION = 200


def earlier_conversations(customer: Customer, widget, before=None) -> dict:
    """The customer's ended conversations of this widget's workstream, newest first, ``PAGE`` at a time
    (``before``: the id of the oldest one the widget shows already), each with its messages."""
    query = (
        Conversation.objects.filter(customer=customer, workstream_id=widget.workstream_id)
        .exclude(state__in=CURRENT_STATES)
        .select_related("agent", "rating")
        .order_by("-created_at", "-id")
    )
    if before is not None:
        if not isinstance(before, str):
            raise ServiceError("bad_request", "'before' must be a conversation id.")
        anchor = query.filter(pk=_parse_id(before)).first()
        if anchor is None:
            raise ServiceError("not_found", "No such conversation.")
        query = query.filter(created_at__lt=anchor.created_at)
    rows = list(query[: PAGE + 1])
    return {
        "type": "earlier_conversations",
        "conversations": [_earlier(conversation) for conversation in rows[:PAGE]],
        "has_more": len(rows) > PAGE,
    }


def _earlier(conversation: Conversation) -> dict:
    newest = list(conversation.messages.order_by("-seq")[: MESSAGES_PER_CONVERSATION + 1])
    messages = files.load_attachments(newest[:MESSAGES_PER_CONVERSATION][::-1])
    rating = getattr(conversation, "rating", None)  # the reverse one-to-one raises AttributeError when absent
    return {
        "id": str(conversation.id),
        "state": conversation.state,
        "created_at": iso(conversation.created_at),
        "ended_at": iso(conversation.wrap_up_started_at or conversation.closed_at),
        "agent": {"name": conversation.agent.display_name} if conversation.agent_id else None,
        "rating": {"score": rating.score} if rating else None,
        "messages": [message_dict(m) for m in messages],
        "has_more": len(newest) > MESSAGES_PER_CONVERSATION,
    }

"""What an agent reads of a conversation through the socket (``open``, ``sync``, ``history``): its own
agent and its consultants read the same messages; ``open`` adds the internal notes and the consultants
(../shared/PROTOCOL.md "Agent socket, additions")."""

from __future__ import annotations

from django.conf import settings

from routing.models import AgentProfile

from ..errors import NOT_FOUND, ServiceError
from ..serializers import conversation_summary, iso, message_dict
from . import access, consult, notes, payloads


def open_frame(agent: AgentProfile, conversation_id) -> dict:
    """The answer to ``open``: the summary with the latest messages, every note and the consultants.
    A consultant's summary says ``consulting`` and lists the frames a consultant may send."""
    conversation = consult.readable_conversation(agent, conversation_id)
    frame = payloads.conversation_frame(conversation, agent.id)
    summary = frame["conversation"]
    if conversation.agent_id != agent.id:
        summary["consulting"] = True
        summary["allowed_actions"] = consult.consultant_actions(conversation)
    summary["notes"] = notes.notes_of(conversation)
    summary["consultants"] = consult.consultants_of(conversation)
    # also beside the conversation, where a client reading the frame's top level looks for them
    frame["notes"] = summary["notes"]
    frame["consultants"] = summary["consultants"]
    return frame


def page_frame(agent: AgentProfile, kind: str, conversation_id, cursor: int, limit: int) -> dict:
    """``sync`` / ``history`` for the agent of the conversation or a consultant."""
    conversation = consult.readable_conversation(agent, conversation_id)
    return payloads.page_frame(kind, conversation, cursor, limit)


def customer_panel(agent: AgentProfile, conversation_id) -> dict:
    """The workspace's customer panel, for the conversation's agent and its consultants: who the customer
    is, what the website signed about them (``context``), their survey answers with the survey's labels
    (``pre_chat``), this conversation, and their earlier conversations (closed ones too, newest first)."""
    conversation = consult.readable_conversation(agent, conversation_id)
    data = payloads.panel_for(conversation, agent)
    data["context"] = conversation.context or {}
    labels = {
        field.get("name"): field.get("label")
        for field in ((conversation.widget.pre_chat if conversation.widget_id else None) or [])
        if isinstance(field, dict)
    }
    data["pre_chat"] = [
        {"name": name, "label": labels.get(name) or name, "value": value}
        for name, value in (conversation.pre_chat or {}).items()
    ]
    return data


def earlier_conversation(agent: AgentProfile, conversation_id, other_id) -> dict:
    """One earlier conversation of the same customer, read-only, for the customer panel: its summary, its
    latest messages (at most ``PARLEY_SYNC_PAGE_MAX``) and its notes. Only for the agent (or a consultant)
    of ``conversation_id``, and only conversations of that conversation's customer in the agent's queues."""
    conversation = consult.readable_conversation(agent, conversation_id)
    other = (
        access.conversations()
        .filter(pk=access.parse_id(other_id), customer_id=conversation.customer_id, queue__members=agent)
        .first()
    )
    if other is None:
        raise ServiceError(NOT_FOUND, "No such conversation of this customer.")
    messages, has_more = payloads.latest_messages(other, settings.PARLEY_SYNC_PAGE_MAX)
    summary = conversation_summary(other)
    summary["queue"] = {"id": str(other.queue_id), "name": other.queue.name}
    summary["closed_at"] = iso(other.closed_at)
    summary["messages"] = [message_dict(m) for m in messages]
    summary["has_more"] = has_more
    summary["notes"] = notes.notes_of(other)
    return {"type": "conversation", "conversation": summary}

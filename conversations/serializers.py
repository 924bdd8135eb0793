"""Wire shapes of the shared objects (../PROTOCOL.md "Shared objects")."""

from __future__ import annotations

from datetime import UTC, datetime

from .models import Conversation, Message


def iso(moment: datetime | None) -> str | None:
    """ISO 8601 in UTC with a ``Z`` suffix and milliseconds."""
    return None if moment is None else _iso_utc(moment)


def _iso_utc(moment: datetime) -> str:
    if moment.utcoffset():  # the database and timezone.now() give UTC already; a naive time is taken as UTC
        moment = moment.astimezone(UTC)
    return moment.replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"


def message_dict(message: Message) -> dict:
    return {
        "id": str(message.id),
        "conversation_id": str(message.conversation_id),
        "seq": message.seq,
        "sender": {"role": message.sender_role, "name": message.sender_name},
        "text": message.text,
        "sent_at": _iso_utc(message.sent_at),
        "client_id": message.client_id,
    }


def conversation_summary(conversation: Conversation) -> dict:
    """The conversation summary; expects workstream, customer and agent loaded."""
    workstream = conversation.workstream
    agent = conversation.agent
    return {
        "id": str(conversation.id),
        "state": conversation.state,
        "mode": conversation.mode,
        "workstream": {"id": str(workstream.id), "name": workstream.name, "distribution": workstream.distribution},
        "customer": {"id": str(conversation.customer_id), "name": conversation.customer.display_name},
        "agent": {"id": str(agent.id), "name": agent.display_name} if agent else None,
        "last_seq": conversation.last_seq,
        "created_at": _iso_utc(conversation.created_at),
        "updated_at": _iso_utc(conversation.updated_at),
    }

"""The webhook events of conversations: what the actions call, inside the transaction of the change.

Each function returns at once when no enabled endpoint subscribes to its event (``subscriptions``:
no query, no payload built). ``transaction_for`` gives the hot path of messages, which runs in autocommit,
a transaction of its own only when someone subscribes, so that the message and its outbox row commit
together; without subscribers nothing extra happens.
"""

from __future__ import annotations

import contextlib

from django.db import connection, transaction

from ..serializers import integration_summary, message_dict
from .outbox import emit
from .subscriptions import subscribed

CONVERSATION_CREATED = "conversation.created"
STATE_CHANGED = "conversation.state_changed"
MESSAGE_CREATED = "message.created"
CONVERSATION_RATED = "conversation.rated"


def transaction_for(event_type: str):
    """A transaction around a change that would otherwise commit alone, when ``event_type`` has
    subscribers; the caller's transaction (a group commit, an action's ``atomic``) serves otherwise."""
    if connection.in_atomic_block or not subscribed(event_type):
        return contextlib.nullcontext()
    return transaction.atomic()


def conversation_created(conversation) -> None:
    if subscribed(CONVERSATION_CREATED):
        emit(CONVERSATION_CREATED, conversation, {"conversation": integration_summary(conversation)})


def state_changed(conversation, frm: str, to: str, reason: str) -> None:
    if subscribed(STATE_CHANGED):
        data = {"conversation": integration_summary(conversation), "from": frm, "to": to, "reason": reason}
        emit(STATE_CHANGED, conversation, data)


def message_created(conversation, message) -> None:
    """A customer's or an agent's message (notes are not messages and never come here)."""
    if subscribed(MESSAGE_CREATED):
        emit(MESSAGE_CREATED, conversation, {"message": message_dict(message)})

"""One customer's data: export it, erase it, and forget old conversations.

Used by the management commands ``export_customer`` / ``erase_customer``, by
the admin center's actions on customers, and by the timer sweep
(``apply_retention``). Erasing goes through the actions for anything
still running: a conversation that is not closed is closed first (freeing
the agent's capacity and telling every socket), then the rows are deleted.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from .. import events
from ..models import Attachment, Connection, Conversation, ConversationEvent, Customer, Message, Rating, State
from ..serializers import iso
from ..webhooks import outbox as webhook_outbox
from . import access, files
from .assignment import after_capacity_freed
from .changes import change_state
from .transitions import SYSTEM

logger = logging.getLogger("parley.privacy")

EXPORT_FORMAT = "parley-customer-export/1"


def export_customer(customer: Customer) -> dict:
    """Everything Parley stores about one customer, as JSON-ready data:
    the profile, every conversation with its messages and its transitions."""
    conversations = (
        Conversation.objects.filter(customer=customer)
        .select_related("workstream", "agent", "widget")
        .order_by("created_at", "id")
    )
    authentication = customer.authentication if customer.authentication_id else None
    return {
        "format": EXPORT_FORMAT,
        "exported_at": iso(timezone.now()),
        "customer": {
            "id": str(customer.id),
            "authentication": authentication.name if authentication else None,
            "subject": customer.subject,
            "name": customer.name,
            "email": customer.email,
            "username": customer.username,
            "created_at": iso(customer.created_at),
            "last_seen_at": iso(customer.last_seen_at),
        },
        "conversations": [_conversation_export(conversation) for conversation in conversations],
    }


def _conversation_export(conversation: Conversation) -> dict:
    return {
        "id": str(conversation.id),
        "workstream": conversation.workstream.name,
        "widget": conversation.widget.public_id if conversation.widget_id else None,
        "mode": conversation.mode,
        "state": conversation.state,
        "agent": conversation.agent.display_name if conversation.agent_id else None,
        "created_at": iso(conversation.created_at),
        "assigned_at": iso(conversation.assigned_at),
        "closed_at": iso(conversation.closed_at),
        "pre_chat": conversation.pre_chat,
        "rating": Rating.objects.filter(conversation=conversation).values("score", "comment").first(),
        "messages": [
            {
                "seq": message.seq,
                "sender": {"role": message.sender_role, "name": message.sender_name},
                "text": message.text,
                "sent_at": iso(message.sent_at),
                "attachments": [
                    {"name": a.name, "size": a.size, "content_type": a.content_type} for a in message.attachment_list
                ],
            }
            for message in files.load_attachments(list(conversation.messages.order_by("seq")))
        ],
        "events": [
            {
                "from": event.from_state,
                "to": event.to_state,
                "actor": {"role": event.actor_role, "name": event.actor_name},
                "reason": event.reason,
                "at": iso(event.created_at),
            }
            for event in conversation.events.order_by("created_at", "id")
        ],
    }


def erase_customer(customer: Customer) -> dict:
    """Delete one customer and everything stored about them, in one transaction.

    The customer's row and every one of their conversations are locked first (waiting for any action
    that holds them: never skipped, so no conversation is deleted in the middle of a change). Conversations
    that are still running are closed through ``change_state`` (so agents get their capacity back and see
    the state change, and their queues are routed after the commit), the customer's open sockets are told
    to close (code 4403, after the commit), then the customer and everything that hangs on them are
    deleted: conversations, messages, notes, transitions, connections, ratings, survey answers, uploaded
    files (their stored files go once the deletion is committed) and pending webhook deliveries. Nothing
    about the customer is written to any log but their id, after success. Returns how many rows of each
    kind were deleted."""
    with transaction.atomic():
        locked = Customer.objects.select_for_update().filter(pk=customer.pk).first()
        if locked is None:
            return {"customers": 0}
        conversations = list(
            access.conversations().select_for_update(of=("self",)).filter(customer_id=locked.pk).order_by("pk")
        )
        for conversation in conversations:
            if conversation.state != State.CLOSED:
                change_state(conversation, State.CLOSED, SYSTEM, "customer_erased")
                after_capacity_freed(conversation)
        conversation_ids = [conversation.pk for conversation in conversations]
        counts = {
            "conversations": len(conversation_ids),
            "messages": Message.objects.filter(conversation_id__in=conversation_ids).count(),
            "events": ConversationEvent.objects.filter(conversation_id__in=conversation_ids).count(),
            "connections": Connection.objects.filter(customer_id=locked.pk).count(),
            "files": Attachment.objects.filter(
                Q(customer_id=locked.pk) | Q(conversation_id__in=conversation_ids)
            ).count(),
        }
        for channel_name in Connection.objects.filter(customer_id=locked.pk).values_list("channel_name", flat=True):
            events.close_socket(channel_name, 4403)
        counts["webhook_deliveries"] = webhook_outbox.forget(conversation_ids)
        # Attachments one by one: each deletion takes its stored file with it (files.delete_stored_file).
        for attachment in Attachment.objects.filter(Q(customer_id=locked.pk) | Q(conversation_id__in=conversation_ids)):
            attachment.delete()
        Customer.objects.filter(pk=locked.pk).delete()
        counts["customers"] = 1
    logger.info("customer erased: %s %s", locked.pk, counts)
    return counts


def apply_retention(now: datetime | None = None) -> int:
    """Delete closed conversations older than ``PARLEY_RETENTION_DAYS``
    (counted from when they closed; 0 keeps everything forever). Returns how
    many conversations were deleted. Called by every timer sweep."""
    days = settings.PARLEY_RETENTION_DAYS
    if not days or days <= 0:
        return 0
    cutoff = (now or timezone.now()) - timedelta(days=days)
    expired = Conversation.objects.filter(state=State.CLOSED, closed_at__lt=cutoff)
    ids = list(expired.values_list("id", flat=True)[:1000])
    if not ids:
        return 0
    # Deleted in batches: one sweep never holds a long transaction.
    with transaction.atomic():
        Conversation.objects.filter(pk__in=ids, state=State.CLOSED).delete()
        webhook_outbox.forget(ids)
    return len(ids)


def expire_idle_visitors(now: datetime | None = None) -> int:
    """Delete anonymous visitors (no authentication setting) who never started a conversation, have no open
    socket and were last seen more than ``PARLEY_VISITOR_IDLE_SECONDS`` ago (timer sweep; in batches).
    Returns how many were deleted."""
    seconds = settings.PARLEY_VISITOR_IDLE_SECONDS
    if not seconds or seconds <= 0:
        return 0
    cutoff = (now or timezone.now()) - timedelta(seconds=seconds)
    idle = (
        Customer.objects.filter(authentication__isnull=True, last_seen_at__lt=cutoff)
        .exclude(pk__in=Conversation.objects.values("customer_id"))
        .exclude(pk__in=Connection.objects.filter(customer__isnull=False).values("customer_id"))
    )
    ids = list(idle.values_list("pk", flat=True)[:1000])
    if not ids:
        return 0
    with transaction.atomic():
        deleted = (
            Customer.objects.filter(pk__in=ids, authentication__isnull=True)
            .exclude(pk__in=Conversation.objects.values("customer_id"))
            .exclude(pk__in=Connection.objects.filter(customer__isnull=False).values("customer_id"))
            .delete()[1]
            .get(Customer._meta.label, 0)
        )
    return deleted

"""What the sockets and the workspace views send about conversations: summaries, welcome frames, pages of
messages, the customer panel. Reads only; the actions that change things call these to describe them."""

from __future__ import annotations

from django.conf import settings
from django.db.models import Count

from admin_center.models import Workstream
from routing import policy
from routing.models import AgentProfile

from ..models import Conversation, Message, Offer, Rating, State
from ..serializers import conversation_summary, iso, message_dict
from . import access, files
from .transitions import allowed_actions


def latest_messages(conversation: Conversation, limit: int | None = None) -> tuple[list[Message], bool]:
    limit = limit or settings.PARLEY_WELCOME_MESSAGES
    rows = list(conversation.messages.order_by("-seq")[: limit + 1])
    return files.load_attachments(rows[:limit][::-1]), len(rows) > limit


def messages_after(conversation: Conversation, after_seq: int, limit: int | None = None) -> tuple[list[Message], bool]:
    limit = limit or settings.PARLEY_SYNC_PAGE_MAX
    rows = list(conversation.messages.filter(seq__gt=after_seq).order_by("seq")[: limit + 1])
    return files.load_attachments(rows[:limit]), len(rows) > limit


def messages_before(conversation: Conversation, before_seq: int, limit: int) -> tuple[list[Message], bool]:
    rows = list(conversation.messages.filter(seq__lt=before_seq).order_by("-seq")[: limit + 1])
    return files.load_attachments(rows[:limit][::-1]), len(rows) > limit


def page_frame(kind: str, conversation: Conversation, cursor: int, limit: int) -> dict:
    """The answer to ``sync`` (messages after ``cursor``) or ``history`` (before it)."""
    if kind == "sync":
        messages, has_more = messages_after(conversation, cursor, limit)
    else:
        messages, has_more = messages_before(conversation, cursor, limit)
    return {
        "type": kind,
        "conversation_id": str(conversation.id),
        "messages": [message_dict(m) for m in messages],
        "has_more": has_more,
    }


def agent_summary(conversation: Conversation, agent_id=None, *, offered_to=None) -> dict:
    """The protocol summary plus what the workspace shows beside it, for the agent ``agent_id`` (default:
    the conversation's own agent): ``allowed_actions`` are the frames that agent may send for it now."""
    summary = conversation_summary(conversation)
    summary["customer_returned"] = conversation.customer_returned
    # What a pick costs: the workspace disables "Pick" when free capacity is short.
    summary["capacity_units"] = conversation.workstream.capacity_units
    # The workspace list: last message preview and time since the customer last wrote.
    last = conversation.messages.order_by("-seq").first()
    summary["last_message"] = (
        {"seq": last.seq, "role": last.sender_role, "text": last.text[:140], "sent_at": iso(last.sent_at)}
        if last
        else None
    )
    summary["last_customer_message_at"] = iso(conversation.last_customer_message_at)
    # for agents only (../PROTOCOL.md "Shared objects, extended"): what the website signed about the
    # customer, their survey answers, and the queue the conversation is in
    summary["context"] = conversation.context
    summary["pre_chat"] = conversation.pre_chat
    summary["queue"] = {"id": str(conversation.queue_id), "name": conversation.queue.name}
    if conversation.state in (State.WRAP_UP, State.CLOSED):
        # the customer's post-chat rating, on the agent's ended item (a query only for ended ones)
        rating = Rating.objects.filter(conversation_id=conversation.pk).values("score", "comment").first()
        summary["rating"] = rating
    summary["allowed_actions"] = allowed_actions(
        conversation, conversation.agent_id if agent_id is None else agent_id, offered_to=offered_to
    )
    return summary


def offer_frame(offer: Offer, conversation: Conversation) -> dict:
    """``offer``: routing asks ``offer.agent`` to take ``conversation`` before ``expires_at``."""
    summary = agent_summary(conversation, offer.agent_id, offered_to=offer.agent_id)
    summary["offer"] = {"expires_at": iso(offer.expires_at)}
    return {"type": "offer", "conversation": summary, "expires_at": iso(offer.expires_at)}


def pending_offers(agent: AgentProfile) -> list[dict]:
    """The agent's pending offers as ``offer`` frames (the workspace's ``welcome`` shows them again)."""
    offers = (
        Offer.objects.filter(agent=agent, status=Offer.Status.PENDING, conversation__state=State.OPEN)
        .select_related("conversation__workstream", "conversation__customer", "conversation__agent")
        .order_by("expires_at")
    )
    return [offer_frame(offer, offer.conversation) for offer in offers]


def conversation_frame(conversation: Conversation, agent_id) -> dict:
    """The answer to the agent's ``open``: the summary with the latest messages."""
    messages, has_more = latest_messages(conversation)
    summary = agent_summary(conversation, agent_id)
    summary["messages"] = [message_dict(m) for m in messages]
    summary["has_more"] = has_more
    return {"type": "conversation", "conversation": summary}


def pick_queue_for(agent: AgentProfile, limit: int = 100) -> list[Conversation]:
    """Open pick-mode conversations in the agent's queues, oldest first."""
    return list(
        Conversation.objects.select_related("workstream", "customer", "agent", "queue")
        .filter(queue__members=agent, state=State.OPEN, workstream__distribution=Workstream.Distribution.PICK)
        .order_by("queued_at", "id")[:limit]
    )


def pick_queue_items(agent: AgentProfile) -> list[dict]:
    return [agent_summary(c, agent.id) for c in pick_queue_for(agent)]


def agent_welcome(agent: AgentProfile) -> dict:
    """The agent socket's ``welcome``: who the agent is, their conversations and their pick queue."""
    return {
        "type": "welcome",
        "agent": {
            "id": str(agent.id),
            "username": agent.user.get_username(),
            "name": agent.display_name,
            "presence": agent.presence,
            "capacity": {"total": agent.capacity, "used": agent.used_capacity},
        },
        "conversations": [agent_summary(c) for c in access.agent_conversations(agent)],
        "queue": pick_queue_items(agent),
        "offers": pending_offers(agent),
    }


def customer_welcome(widget, customer, conversation: Conversation | None, visitor_token: str | None) -> dict:
    """The widget socket's ``welcome``: the widget, the customer and their current conversation."""
    summary = None
    if conversation is not None:
        messages, has_more = latest_messages(conversation)
        summary = {
            "id": str(conversation.id),
            "state": conversation.state,
            "last_seq": conversation.last_seq,
            "agent": {"name": conversation.agent.display_name} if conversation.agent_id else None,
            "messages": [message_dict(m) for m in messages],
            "has_more": has_more,
        }
    workstream = widget.workstream
    return {
        "type": "welcome",
        "widget": {
            "id": widget.public_id,
            "title": widget.title,
            "mode": workstream.mode,
            "customer_can_end": not workstream.persistent,
            "online": policy.queue_is_open(workstream.queue),
            "language": widget.language,
        },
        "customer": {"id": str(customer.id), "name": customer.display_name},
        "visitor": visitor_token,
        "conversation": summary,
    }


def customer_panel(agent: AgentProfile, conversation_id) -> dict:
    """The workspace's read-only customer panel for one of the agent's
    conversations: who the customer is and their earlier conversations."""
    return panel_for(access.access_conversation_for_agent(agent, conversation_id))


def panel_for(conversation: Conversation) -> dict:
    """The customer panel of a conversation the caller may read (its agent's, or a consultant's:
    ``conversations.actions.reading.customer_panel``)."""
    customer = conversation.customer
    authentication = customer.authentication if customer.authentication_id else None
    earlier = (
        access.conversations()
        .filter(customer=customer)
        .exclude(pk=conversation.pk)
        .annotate(message_count=Count("messages"))
        .order_by("-created_at")[:20]
    )
    return {
        "customer": {
            "id": str(customer.id),
            "name": customer.display_name,
            "email": customer.email,
            "username": customer.username,
            "subject": customer.subject,
            "authenticated": authentication is not None,
            "authentication": authentication.name if authentication else None,
            "created_at": iso(customer.created_at),
            "last_seen_at": iso(customer.last_seen_at),
        },
        "conversation": {
            **conversation_summary(conversation),
            "queue": conversation.queue.name,
            "assigned_at": iso(conversation.assigned_at),
            "last_customer_message_at": iso(conversation.last_customer_message_at),
        },
        "earlier_conversations": [
            {
                "id": str(other.id),
                "state": other.state,
                "mode": other.mode,
                "workstream": other.workstream.name,
                "agent": other.agent.display_name if other.agent else None,
                "created_at": iso(other.created_at),
                "closed_at": iso(other.closed_at),
                "messages": other.message_count,
            }
            for other in earlier
        ],
    }

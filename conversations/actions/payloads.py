"""What the sockets and the workspace views send about conversations: summaries, welcome frames, pages of
messages, the customer panel. Reads only; the actions that change things call these to describe them."""

from __future__ import annotations

import heapq
import itertools
import json
import time
from datetime import datetime

from django.conf import settings
from django.db.models import Count, F

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


_LOAD = object()  # agent_summary's ``last`` / ``rating``: read them now (one query each)


def agent_summary(conversation: Conversation, agent_id=None, *, offered_to=None, last=_LOAD, rating=_LOAD) -> dict:
    """The protocol summary plus what the workspace shows beside it, for the agent ``agent_id`` (default:
    the conversation's own agent): ``allowed_actions`` are the frames that agent may send for it now.
    ``last`` (the latest Message or None) and ``rating`` (a dict or None) when the caller read them in
    bulk for many summaries (``agent_summaries``)."""
    summary = conversation_summary(conversation)
    summary["customer_returned"] = conversation.customer_returned
    # What a pick costs: the workspace disables "Pick" when free capacity is short.
    summary["capacity_units"] = conversation.workstream.capacity_units
    # The workspace list: last message preview and time since the customer last wrote.
    if last is _LOAD:
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
        if rating is _LOAD:
            rating = Rating.objects.filter(conversation_id=conversation.pk).values("score", "comment").first()
        summary["rating"] = rating
    summary["allowed_actions"] = allowed_actions(
        conversation, conversation.agent_id if agent_id is None else agent_id, offered_to=offered_to
    )
    return summary


def agent_summaries(conversations: list[Conversation], agent_id=None) -> list[dict]:
    """``agent_summary`` of many conversations in two queries, not two per conversation: the latest
    message of each (its ``seq`` is the conversation's ``last_seq``) and the ratings of the ended ones."""
    if not conversations:
        return []
    ids = [c.pk for c in conversations]
    latest = {
        m.conversation_id: m
        for m in Message.objects.filter(conversation_id__in=ids, seq=F("conversation__last_seq")).only(
            "conversation_id", "seq", "sender_role", "text", "sent_at"
        )
    }
    ended = [c.pk for c in conversations if c.state in (State.WRAP_UP, State.CLOSED)]
    ratings = {}
    if ended:
        ratings = {
            row.pop("conversation_id"): row
            for row in Rating.objects.filter(conversation_id__in=ended).values("conversation_id", "score", "comment")
        }
    return [agent_summary(c, agent_id, last=latest.get(c.pk), rating=ratings.get(c.pk)) for c in conversations]


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
    return pick_queue(sessions_queue_ids(agent))["items"]


# The pick queue frame's cap (PROTOCOL.md, "Agent socket, additions"): the oldest 200 items and the total.
QUEUE_ITEMS_MAX = 200
# daphne refuses to send a WebSocket message over 1 MiB (``--websocket-max-message-size 1048576``, both
# ways: docs/security.md), so the long lists are bounded in bytes too, far below it: a ``queue`` frame's
# items (200 items take about 90 KB), the ``welcome``'s share of the pick queue and of the conversations.
QUEUE_FRAME_BYTES = 400_000
WELCOME_QUEUE_BYTES = 300_000
WELCOME_CONVERSATIONS_BYTES = 300_000
LIST_PAGE_BYTES = 400_000
# A pick-queue item's preview of the last message (the list shows one line of it).
QUEUE_PREVIEW_CHARS = 60
# What a pick-queue item leaves out of the agent summary: what only an opened conversation shows (the
# customer's context and survey answers, up to kilobytes each) and what the queue list does not show.
_NOT_IN_QUEUE_ITEMS = ("context", "pre_chat", "last_customer_message_at", "customer_returned")


def queue_item(summary: dict) -> dict:
    """A pick-queue item: the protocol summary, ``allowed_actions``, ``capacity_units``, ``queue`` and a
    one-line preview of the last message (``{"role", "text"}``)."""
    item = {key: value for key, value in summary.items() if key not in _NOT_IN_QUEUE_ITEMS}
    last = item.get("last_message")
    if last:
        item["last_message"] = {"role": last["role"], "text": last["text"][:QUEUE_PREVIEW_CHARS]}
    return item


def _encode(item: dict) -> str:
    return json.dumps(item, ensure_ascii=False, separators=(",", ":"))


def _encoded_size(item: dict) -> int:
    return len(_encode(item).encode()) + 1


def within_bytes(summaries: list[dict], max_bytes: int) -> tuple[list[dict], bool]:
    """The first of ``summaries`` (newest first) that fit in ``max_bytes`` of JSON, and whether some were
    left out. A cut page does not end inside a millisecond of ``updated_at`` (the next page starts before
    its last item's), unless that millisecond is all it holds."""
    kept, used = [], 0
    for summary in summaries:
        used += _encoded_size(summary)
        if used > max_bytes and kept:
            last = kept[-1]["updated_at"]
            shorter = [s for s in kept if s["updated_at"] != last] if summary["updated_at"] == last else kept
            return (shorter or kept), True
        kept.append(summary)
    return kept, False


# One queue's page: ``(entries, total)``, the entries ``((queued_at, id), item, item's JSON)`` oldest first.
QueuePage = tuple[list[tuple[tuple, dict, str]], int]


def sessions_queue_ids(agent: AgentProfile) -> list[int]:
    """The queues whose pick lists the agent sees (the same as ``sessions.agent_queue_ids``)."""
    return list(agent.queues.values_list("id", flat=True))


# Pick-queue items built before, by conversation id: ``(version, built at, item, bytes)``. A queue
# changes at one end (a new conversation, a pick) while most of its 200 oldest stay as they were, so a
# round reads the queue's order (a narrow query) and builds only the items that are new or changed (their
# ``updated_at``, ``last_seq`` or state moved). What a conversation's own row does not version (a renamed
# workstream or customer) shows within ``ITEM_CACHE_SECONDS``.
_items: dict[str, tuple[tuple, float, dict, str]] = {}
ITEM_CACHE_SECONDS = 60.0
ITEM_CACHE_MAX = 20_000


def pick_queue_pages(queue_ids) -> dict[int, QueuePage]:
    """Each queue's oldest ``QUEUE_ITEMS_MAX`` open pick conversations and how many there are: the same
    for every member (a pick item's ``allowed_actions`` do not depend on who looks), so the agent
    sockets of a process share one computation per queue (``conversations.queue_news``). Per queue one
    narrow query of the order (and a count when it is full); then the summaries of the items not built
    before, in three queries for all of them."""
    now = time.monotonic()
    heads: dict[int, list[tuple]] = {}
    totals: dict[int, int] = {}
    for queue_id in queue_ids:
        base = Conversation.objects.filter(
            queue_id=queue_id, state=State.OPEN, workstream__distribution=Workstream.Distribution.PICK
        )
        page = list(
            base.order_by("queued_at", "id").values_list("id", "queued_at", "updated_at", "last_seq", "state")[
                :QUEUE_ITEMS_MAX
            ]
        )
        heads[queue_id] = page
        totals[queue_id] = len(page) if len(page) < QUEUE_ITEMS_MAX else base.count()
    stale = {}
    for page in heads.values():
        for pk, _queued_at, updated_at, last_seq, state in page:
            cached = _items.get(str(pk))
            if cached is None or cached[0] != (updated_at, last_seq, state) or now - cached[1] > ITEM_CACHE_SECONDS:
                stale[pk] = (updated_at, last_seq, state)
    if stale:
        rows = list(access.conversations().filter(pk__in=list(stale)))
        if len(_items) + len(rows) > ITEM_CACHE_MAX:
            _items.clear()
        for conversation, summary in zip(rows, agent_summaries(rows), strict=True):
            item = queue_item(summary)
            version = (conversation.updated_at, conversation.last_seq, conversation.state)
            _items[str(conversation.pk)] = (version, now, item, _encode(item))
    pages = {}
    for queue_id, page in heads.items():
        entries = []
        for pk, queued_at, *_version in page:
            cached = _items.get(str(pk))
            if cached is not None:  # (gone between the two reads: left out)
                entries.append(((queued_at, str(pk)), cached[2], cached[3]))  # (key, item, its JSON)
        pages[queue_id] = (entries, totals[queue_id])
    return pages


def _merged(pages: list[QueuePage], max_bytes: int) -> list[tuple[tuple, dict, str]]:
    entries = heapq.merge(*(page[0] for page in pages), key=lambda entry: entry[0])
    kept, used = [], 0
    for entry in itertools.islice(entries, QUEUE_ITEMS_MAX):
        used += len(entry[2].encode()) + 1
        if used > max_bytes:
            break
        kept.append(entry)
    return kept


def merge_pick_pages(pages: list[QueuePage], max_bytes: int = QUEUE_FRAME_BYTES) -> dict:
    """One agent's ``queue`` frame body from the pages of their queues: the oldest ``QUEUE_ITEMS_MAX``
    of all of them (as many as ``max_bytes`` of JSON hold) and the total."""
    return {
        "items": [item for _key, item, _text in _merged(pages, max_bytes)],
        "total": sum(total for _entries, total in pages),
    }


def pick_queue_text(pages: list[QueuePage], max_bytes: int = QUEUE_FRAME_BYTES) -> str:
    """``merge_pick_pages`` as the ``queue`` frame's JSON text, joined from the items' own JSON (each item
    is encoded once, when it is built, for every round and every socket)."""
    items = ",".join(text for _key, _item, text in _merged(pages, max_bytes))
    return f'{{"type":"queue","items":[{items}],"total":{sum(total for _entries, total in pages)}}}'


def pick_queue(queue_ids, max_bytes: int = QUEUE_FRAME_BYTES) -> dict:
    """``{"items", "total"}``: the pick queue of an agent in the queues ``queue_ids``."""
    pages = pick_queue_pages(queue_ids)
    return merge_pick_pages(list(pages.values()), max_bytes)


# The states the agent's ``list`` frame pages through (PROTOCOL.md, "Agent socket, additions").
LISTED_STATES = (State.ACTIVE, State.WAITING, State.WRAP_UP)


def _ms(moment) -> datetime:
    """``moment`` cut to the milliseconds that summaries show of ``updated_at``."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def agent_conversation_page(agent: AgentProfile, state: str, before=None, limit: int | None = None):
    """The agent's ``state`` conversations updated before ``before`` (a datetime; None: the newest), newest
    first, at most ``limit`` (``PARLEY_AGENT_LIST_PAGE``): ``(conversations, has_more)``. Summaries show
    ``updated_at`` to the millisecond and the next page starts before the last one's, so a page never
    ends inside a millisecond: it takes in all the conversations of its last item's millisecond."""
    limit = limit or settings.PARLEY_AGENT_LIST_PAGE
    base = access.conversations().filter(agent=agent, state=state)
    if before is not None:
        base = base.filter(updated_at__lt=before)
    ordered = base.order_by("-updated_at", "-id")
    rows = list(ordered[: limit + 1])
    if len(rows) <= limit:
        return rows, False
    boundary = _ms(rows[limit - 1].updated_at)
    if _ms(rows[limit].updated_at) < boundary:
        return rows[:limit], True
    rows = list(ordered.filter(updated_at__gte=boundary))
    return rows, base.filter(updated_at__lt=boundary).exists()


def agent_conversations_welcome(agent: AgentProfile) -> dict:
    """``welcome``'s ``conversations``: the newest page of each listed state (all the agent's other
    non-closed ones), newest first, ``conversations_total`` and which states have more (``list``)."""
    counts = dict(
        access.conversations()
        .filter(agent=agent)
        .exclude(state=State.CLOSED)
        .order_by()
        .values_list("state")
        .annotate(n=Count("id"))
    )
    rows: list[Conversation] = []
    more = {}
    for state in counts:
        if state in LISTED_STATES:
            page, more[state] = agent_conversation_page(agent, state)
        else:
            page = list(access.conversations().filter(agent=agent, state=state))
        rows.extend(page)
    rows.sort(key=lambda c: (c.updated_at, str(c.pk)), reverse=True)
    summaries, used = [], 0
    for summary in agent_summaries(rows):  # newest first, as many as fit in the welcome's share
        used += _encoded_size(summary)
        if used > WELCOME_CONVERSATIONS_BYTES and summaries:
            if summary["state"] in more:
                more[summary["state"]] = True
            continue
        summaries.append(summary)
    return {
        "conversations": summaries,
        "conversations_total": sum(counts.values()),
        "conversations_more": {state: more.get(state, False) for state in LISTED_STATES},
    }


def agent_welcome(agent: AgentProfile, queue_ids=None, pages: dict | None = None) -> dict:
    """The agent socket's ``welcome``: who the agent is, their conversations and their pick queue
    (``pages``: the pick-queue pages of ``queue_ids`` by queue id as text, when the caller has them)."""
    conversations = agent_conversations_welcome(agent)
    queue_ids = sessions_queue_ids(agent) if queue_ids is None else queue_ids
    if pages is None:
        pages = pick_queue_pages([str(queue_id) for queue_id in queue_ids])
    pages = [pages[str(queue_id)] for queue_id in queue_ids]
    queue = merge_pick_pages(pages, WELCOME_QUEUE_BYTES)
    full = merge_pick_pages(pages, QUEUE_FRAME_BYTES)
    return {
        "type": "welcome",
        "agent": {
            "id": str(agent.id),
            "username": agent.user.get_username(),
            "name": agent.display_name,
            "presence": agent.presence,
            "capacity": {"total": agent.capacity, "used": agent.used_capacity},
        },
        **conversations,
        "queue": queue["items"],
        "queue_total": queue["total"],
        "offers": pending_offers(agent),
        # not sent: the ``queue`` frame that follows the welcome when the welcome's share held fewer items
        "queue_frame": {"type": "queue", **full} if len(full["items"]) > len(queue["items"]) else None,
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
            "language": widget.language_for(customer.language),  # "auto": the visitor's
        },
        "customer": {"id": str(customer.id), "name": customer.display_name},
        "visitor": visitor_token,
        "conversation": summary,
    }


def customer_panel(agent: AgentProfile, conversation_id) -> dict:
    """The workspace's read-only customer panel for one of the agent's
    conversations: who the customer is and their earlier conversations."""
    return panel_for(access.access_conversation_for_agent(agent, conversation_id), agent)


def panel_for(conversation: Conversation, agent: AgentProfile | None = None) -> dict:
    """The customer panel of a conversation the caller may read (its agent's, or a consultant's:
    ``conversations.actions.reading.customer_panel``). With ``agent``, the earlier conversations are only
    those in the agent's queues: the state, agents and number of the customer's conversations elsewhere
    are not shown (docs/security.md)."""
    customer = conversation.customer
    authentication = customer.authentication if customer.authentication_id else None
    earlier = access.conversations().filter(customer=customer)
    if agent is not None:
        earlier = earlier.filter(queue__members=agent)
    earlier = earlier.exclude(pk=conversation.pk).annotate(message_count=Count("messages")).order_by("-created_at")[:20]
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

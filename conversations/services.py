"""Every action on conversations, one function each: the state machine.

Consumers, views, the admin center, management commands and timers all call
these functions; nothing else changes a conversation. Each function checks
(raising ``ServiceError`` with a protocol error code), writes in one
transaction, and announces through ``events`` after commit.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, F
from django.utils import timezone

from routing.models import AgentProfile, Presence

from . import events, notices, storage
from .models import CURRENT_STATES, Connection, Conversation, ConversationEvent, Customer, Message, Mode, Role, State
from .serializers import conversation_summary, iso, message_dict


class ServiceError(Exception):
    """A refused action, carrying the protocol error code."""

    def __init__(self, code: str, message: str = "") -> None:
        super().__init__(message or code)
        self.code = code
        self.message = message or code.replace("_", " ")


@dataclass(frozen=True)
class Actor:
    role: str
    name: str


SYSTEM = Actor(Role.SYSTEM, "Parley")

ALLOWED_TRANSITIONS: dict[str, frozenset[str]] = {
    State.OPEN: frozenset({State.ACTIVE, State.CLOSED}),
    State.ACTIVE: frozenset({State.WAITING, State.WRAP_UP, State.CLOSED}),
    State.WAITING: frozenset({State.ACTIVE, State.WRAP_UP, State.CLOSED}),
    State.WRAP_UP: frozenset({State.CLOSED}),
    State.CLOSED: frozenset(),
}
HOLDS_CAPACITY = frozenset({State.ACTIVE, State.WRAP_UP})


def agent_actor(agent: AgentProfile) -> Actor:
    return Actor(Role.AGENT, agent.display_name)


def customer_actor(customer: Customer) -> Actor:
    return Actor(Role.CUSTOMER, customer.display_name)


# --- lookups ---------------------------------------------------------------


def _conversations():
    return Conversation.objects.select_related("workstream", "customer", "agent", "widget", "queue")


def _parse_id(conversation_id) -> uuid.UUID:
    try:
        return uuid.UUID(str(conversation_id))
    except (ValueError, TypeError, AttributeError):
        raise ServiceError("not_found", "No such conversation.") from None


def access_conversation_for_agent(agent: AgentProfile, conversation_id, *, lock: bool = False) -> Conversation:
    """The agent's conversation, or ``not_found`` / ``not_allowed``."""
    query = _conversations()
    if lock:
        query = query.select_for_update(of=("self",))
    conversation = query.filter(pk=_parse_id(conversation_id)).first()
    if conversation is None:
        raise ServiceError("not_found", "No such conversation.")
    if conversation.agent_id != agent.id:
        raise ServiceError("not_allowed", "This conversation is not assigned to you.")
    return conversation


def current_conversation(customer: Customer, workstream, *, lock: bool = False) -> Conversation | None:
    query = _conversations()
    if lock:
        query = query.select_for_update(of=("self",))
    return query.filter(customer=customer, workstream=workstream, state__in=CURRENT_STATES).first()


def _current_for_message(customer: Customer, workstream) -> Conversation | None:
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


def agent_conversations(agent: AgentProfile) -> list[Conversation]:
    return list(_conversations().filter(agent=agent).exclude(state=State.CLOSED).order_by("-updated_at"))


def latest_messages(conversation: Conversation, limit: int | None = None) -> tuple[list[Message], bool]:
    limit = limit or settings.PARLEY_WELCOME_MESSAGES
    rows = list(conversation.messages.order_by("-seq")[: limit + 1])
    return rows[:limit][::-1], len(rows) > limit


def messages_after(conversation: Conversation, after_seq: int, limit: int | None = None) -> tuple[list[Message], bool]:
    limit = limit or settings.PARLEY_SYNC_PAGE_MAX
    rows = list(conversation.messages.filter(seq__gt=after_seq).order_by("seq")[: limit + 1])
    return rows[:limit], len(rows) > limit


def messages_before(conversation: Conversation, before_seq: int, limit: int) -> tuple[list[Message], bool]:
    rows = list(conversation.messages.filter(seq__lt=before_seq).order_by("-seq")[: limit + 1])
    return rows[:limit][::-1], len(rows) > limit


def agent_summary(conversation: Conversation) -> dict:
    """The protocol summary plus what the workspace shows beside it."""
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
    return summary


def customer_panel(agent: AgentProfile, conversation_id) -> dict:
    """The workspace's read-only customer panel for one of the agent's
    conversations: who the customer is and their earlier conversations."""
    conversation = access_conversation_for_agent(agent, conversation_id)
    customer = conversation.customer
    authentication = customer.authentication if customer.authentication_id else None
    earlier = (
        _conversations()
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


# --- text ------------------------------------------------------------------


def check_text(text) -> str:
    if not isinstance(text, str):
        raise ServiceError("bad_request", "'text' must be a string.")
    text = text.strip()
    if not text:
        raise ServiceError("bad_request", "'text' is empty.")
    if len(text) > settings.PARLEY_MAX_TEXT_CHARS:
        raise ServiceError("too_large", f"'text' is longer than {settings.PARLEY_MAX_TEXT_CHARS} characters.")
    return text


def check_client_id(client_id) -> str:
    if not isinstance(client_id, str) or not 1 <= len(client_id) <= 64:
        raise ServiceError("bad_request", "'client_id' must be a string of 1-64 characters.")
    return client_id


# --- the state machine -----------------------------------------------------


def _transition(conversation: Conversation, to: str, actor: Actor, reason: str = "") -> None:
    """Move a locked conversation to ``to``: capacity, timestamps, the event
    log and the announcements. Call inside a transaction."""
    frm = conversation.state
    if to not in ALLOWED_TRANSITIONS[frm]:
        raise ServiceError("not_allowed", f"A conversation in state '{frm}' cannot become '{to}'.")
    now = timezone.now()
    delta = (to in HOLDS_CAPACITY) - (frm in HOLDS_CAPACITY)
    if delta and conversation.agent_id and conversation.capacity_units:
        AgentProfile.objects.filter(pk=conversation.agent_id).update(
            used_capacity=F("used_capacity") + delta * conversation.capacity_units
        )
        announce_capacity(conversation.agent_id)
    conversation.state = to
    conversation.updated_at = now
    fields = ["state", "updated_at"]
    if to == State.WRAP_UP:
        conversation.wrap_up_started_at = now
        fields.append("wrap_up_started_at")
    if to == State.CLOSED:
        conversation.closed_at = now
        fields.append("closed_at")
    if to == State.ACTIVE:
        conversation.customer_returned = False
        fields.append("customer_returned")
    conversation.save(update_fields=fields)
    ConversationEvent.objects.create(
        conversation=conversation,
        from_state=frm,
        to_state=to,
        actor_role=actor.role,
        actor_name=actor.name,
        reason=reason,
        created_at=now,
    )
    agent = conversation.agent
    state_frame = {
        "type": "state",
        "conversation_id": str(conversation.id),
        "state": to,
        "agent": {"name": agent.display_name} if agent else None,
    }
    events.to_customer(conversation.customer_id, conversation.workstream_id, state_frame)
    if conversation.agent_id:
        events.to_agent(conversation.agent_id, {**state_frame, "conversation": agent_summary(conversation)})
    if to in (State.WRAP_UP, State.CLOSED) and frm != State.WRAP_UP:
        _notice(conversation, "conversation_ended")
    if frm == State.OPEN:
        _queue_moved(conversation, left=True)


def announce_capacity(agent_id) -> None:
    def send() -> None:
        total, used = AgentProfile.objects.values_list("capacity", "used_capacity").get(pk=agent_id)
        frame = {"type": "capacity", "total": total, "used": used}
        events.committed_news([(events.agent_group(agent_id), events.frame_event(frame))])

    transaction.on_commit(send)


def _notice(conversation: Conversation, code: str, **data) -> None:
    events.to_customer(
        conversation.customer_id, conversation.workstream_id, notices.notice(conversation.widget, code, **data)
    )


def _queue_moved(conversation: Conversation, *, left: bool) -> None:
    """An open conversation joined its queue or left it: pick lists changed,
    and when it left, the positions of those queued behind it moved."""
    from routing import estimates

    if conversation.workstream.distribution == "pick":
        events.queue_changed(conversation.queue_id)
    if left:
        transaction.on_commit(lambda: estimates.queue_moved(conversation.queue_id, conversation.queued_at), robust=True)


def activate(conversation: Conversation, agent: AgentProfile, *, actor: Actor = SYSTEM, reason: str = "") -> None:
    """open -> active with ``agent``. Routing and pick call this inside their
    transaction, with both rows locked and eligibility already checked."""
    from routing import estimates

    now = timezone.now()
    conversation.agent = agent
    conversation.capacity_units = conversation.workstream.capacity_units
    conversation.assigned_at = now
    conversation.save(update_fields=["agent", "capacity_units", "assigned_at"])
    AgentProfile.objects.filter(pk=agent.pk).update(last_assigned_at=now)
    agent.last_assigned_at = now
    _transition(conversation, State.ACTIVE, actor, reason)
    if conversation.mode == Mode.LIVE:
        estimates.record_wait(conversation.queue_id, (now - conversation.queued_at).total_seconds())
    events.to_agent(agent.id, {"type": "assigned", "conversation": agent_summary(conversation)})
    _notice(conversation, "agent_joined", agent=agent.display_name)


def _store_message(
    conversation: Conversation, *, role: str, name: str, text: str, client_id: str | None, origin: str | None
) -> Message:
    """Store the conversation's next message (its row locked by the caller) and announce it after commit."""
    now = timezone.now()
    if storage.supported():
        message = storage.store_message(conversation, role=role, name=name, text=text, client_id=client_id, now=now)
    else:
        conversation.last_seq += 1
        message = Message.objects.create(
            conversation=conversation,
            seq=conversation.last_seq,
            client_id=client_id,
            sender_role=role,
            sender_name=name,
            text=text,
            sent_at=now,
        )
        conversation.last_message_at = now
        conversation.updated_at = now
        fields = ["last_seq", "last_message_at", "updated_at"]
        if role == Role.CUSTOMER:
            conversation.last_customer_message_at = now
            fields.append("last_customer_message_at")
        conversation.save(update_fields=fields)
    _announce_message(conversation, message, origin)
    return message


def _announce_message(conversation: Conversation, message: Message, origin: str | None) -> None:
    events.to_conversation(conversation, {"type": "message", "message": message_dict(message)}, exclude=origin)


def _after_customer_message(conversation: Conversation) -> None:
    from routing import router

    _mark_customer_returned(conversation)
    if conversation.state == State.OPEN and not router.queue_is_open(conversation.queue):
        _notice(conversation, "out_of_hours")


def _mark_customer_returned(conversation: Conversation) -> None:
    if conversation.state != State.WAITING:
        return
    if not conversation.customer_returned:
        conversation.customer_returned = True
        conversation.save(update_fields=["customer_returned"])
    events.to_agent(conversation.agent_id, {"type": "customer_returned", "conversation_id": str(conversation.id)})


# --- customer actions --------------------------------------------------------


def customer_message(
    customer: Customer, widget, *, client_id, text, origin: str | None = None
) -> tuple[Message, Conversation, bool]:
    """Store a customer's message (creating and routing their conversation
    when they have none). Returns (message, conversation, stored_now); a
    repeated ``client_id`` returns the stored message and stores nothing."""
    client_id = check_client_id(client_id)
    text = check_text(text)
    workstream = widget.workstream
    may_be_stored = False  # whether this client_id may be stored already
    if storage.supported():
        # The usual case without the checks' queries: the customer's current conversation locked, its next
        # seq taken and the message inserted (storage.append_customer_message). No conversation yet, or a
        # repeated client_id, goes the general way below.
        try:
            appended = storage.append_customer_message(
                customer, workstream, now=timezone.now(), text=text, client_id=client_id
            )
        except IntegrityError:  # another socket stored this client_id at the same moment
            appended = None
        if appended is not None:
            conversation, message = appended
            _announce_message(conversation, message, origin)
            _after_customer_message(conversation)
            return message, conversation, True
        may_be_stored = True
    for attempt in range(2):
        try:
            with transaction.atomic():
                conversation = _current_for_message(customer, workstream)
                created = conversation is None
                if created:
                    conversation = _open_conversation(customer, widget)
                elif attempt or may_be_stored:
                    # the fast path stored nothing or an insert was refused: a message stored with this
                    # client_id is the answer
                    existing = conversation.messages.filter(client_id=client_id).first()
                    if existing is not None:
                        return existing, conversation, False
                message = _store_message(
                    conversation,
                    role=Role.CUSTOMER,
                    name=customer.display_name,
                    text=text,
                    client_id=client_id,
                    origin=origin,
                )
                _after_customer_message(conversation)
            break
        except IntegrityError:
            # Another socket of this customer created the conversation or
            # stored this client_id at the same moment: read theirs.
            if attempt:
                raise
    if created:
        # robust: the message is stored whatever routing does now; a failure is logged, the sweep routes later
        transaction.on_commit(lambda: after_opened(conversation.id), robust=True)
    return message, conversation, True


def _open_conversation(customer: Customer, widget) -> Conversation:
    from routing import router

    workstream = widget.workstream
    if not workstream.persistent and not router.queue_is_open(workstream.queue):
        raise ServiceError("unavailable", "Nobody is available outside operating hours.")
    now = timezone.now()
    conversation = Conversation.objects.create(
        workstream=workstream,
        widget=widget,
        queue_id=workstream.queue_id,
        customer=customer,
        mode=workstream.mode,
        state=State.OPEN,
        created_at=now,
        updated_at=now,
        queued_at=now,
    )
    conversation.workstream = workstream
    conversation.widget = widget
    conversation.customer = customer
    ConversationEvent.objects.create(
        conversation=conversation,
        from_state="",
        to_state=State.OPEN,
        actor_role=Role.CUSTOMER,
        actor_name=customer.display_name,
        reason="created",
        created_at=now,
    )
    events.to_customer(
        customer.id,
        workstream.id,
        {"type": "state", "conversation_id": str(conversation.id), "state": State.OPEN, "agent": None},
    )
    _queue_moved(conversation, left=False)
    return conversation


def after_opened(conversation_id) -> None:
    """A new conversation is stored: route it; a live one still queued gets
    its position and the average wait."""
    from routing import estimates, router

    conversation = _conversations().filter(pk=conversation_id).first()
    if conversation is None:
        return
    router.dispatch([conversation.queue_id])
    conversation.refresh_from_db(fields=["state"])
    if conversation.state == State.OPEN and conversation.mode == Mode.LIVE:
        estimates.announce_wait(conversation)


def customer_end(customer: Customer, widget) -> Conversation:
    """The customer's end: live chat only (persistent chat is ended by agents)."""
    workstream = widget.workstream
    if workstream.persistent:
        raise ServiceError("not_allowed", "Only an agent can end a persistent conversation.")
    with transaction.atomic():
        conversation = current_conversation(customer, workstream, lock=True)
        if conversation is None:
            raise ServiceError("not_found", "There is no conversation to end.")
        _end(conversation, customer_actor(customer), "customer_ended")
    _after_capacity_freed(conversation)
    return conversation


def _end(conversation: Conversation, actor: Actor, reason: str) -> None:
    if conversation.state == State.OPEN:
        _transition(conversation, State.CLOSED, actor, reason)
    elif conversation.workstream.wrap_up_seconds > 0:
        _transition(conversation, State.WRAP_UP, actor, reason)
    else:
        _transition(conversation, State.CLOSED, actor, reason)


def customer_connected(customer: Customer, widget, *, channel_name: str, ip_address: str = "") -> Conversation | None:
    """A widget socket said hello: remember it, enforce the per-customer
    socket limit (oldest closed with 4409) and tell a waiting conversation's
    agent that the customer is back."""
    now = timezone.now()
    with transaction.atomic():
        Connection.objects.create(
            channel_name=channel_name,
            kind=Connection.Kind.CUSTOMER,
            customer=customer,
            widget=widget,
            ip_address=ip_address,
            connected_at=now,
            heartbeat_at=now,
        )
        limit = settings.PARLEY_MAX_SOCKETS_PER_CUSTOMER
        if limit:
            surplus = list(
                Connection.objects.filter(customer=customer)
                .order_by("-connected_at", "-id")
                .values_list("pk", "channel_name")[limit:]
            )
            for _pk, name in surplus:
                events.close_socket(name, 4409)
            Connection.objects.filter(pk__in=[pk for pk, _ in surplus]).delete()
        Customer.objects.filter(pk=customer.pk).update(last_seen_at=now)
        conversation = current_conversation(customer, widget.workstream, lock=True)
        if conversation is not None:
            if conversation.customer_left_at is not None:
                conversation.customer_left_at = None
                conversation.save(update_fields=["customer_left_at"])
            _mark_customer_returned(conversation)
    return conversation


def customer_disconnected(channel_name: str) -> None:
    with transaction.atomic():
        connection = Connection.objects.select_related("widget").filter(channel_name=channel_name).first()
        if connection is None:
            return
        connection.delete()
        if (
            connection.widget is None
            or Connection.objects.filter(
                customer_id=connection.customer_id, widget__workstream_id=connection.widget.workstream_id
            ).exists()
        ):
            return
        Conversation.objects.filter(
            customer_id=connection.customer_id,
            workstream_id=connection.widget.workstream_id,
            state__in=CURRENT_STATES,
            mode=Mode.LIVE,
        ).update(customer_left_at=timezone.now())


# --- agent actions -----------------------------------------------------------


def agent_message(
    agent: AgentProfile, conversation_id, *, client_id, text, origin: str | None = None
) -> tuple[Message, bool]:
    client_id = check_client_id(client_id)
    text = check_text(text)
    conversation_id = _parse_id(conversation_id)
    if storage.supported():
        # The usual case without the checks' queries: the agent's own active conversation locked and the
        # message stored. Any refusal or a repeated client_id goes the checking way below, which answers
        # with the right error or the stored message.
        try:
            appended = storage.append_agent_message(
                agent, conversation_id, now=timezone.now(), text=text, client_id=client_id
            )
        except IntegrityError:
            appended = None
        if appended is not None:
            conversation, message = appended
            _announce_message(conversation, message, origin)
            return message, True
    with transaction.atomic():
        conversation = access_conversation_for_agent(agent, conversation_id, lock=True)
        existing = conversation.messages.filter(client_id=client_id).first()
        if existing is not None:
            return existing, False
        if conversation.state != State.ACTIVE:
            raise ServiceError(
                "not_allowed", f"You can write only in an active conversation (this one is {conversation.state})."
            )
        message = _store_message(
            conversation, role=Role.AGENT, name=agent.display_name, text=text, client_id=client_id, origin=origin
        )
    return message, True


def set_waiting(agent: AgentProfile, conversation_id) -> Conversation:
    """The agent's ✖: active -> waiting (persistent chat only); frees capacity."""
    with transaction.atomic():
        conversation = access_conversation_for_agent(agent, conversation_id, lock=True)
        if conversation.mode != Mode.PERSISTENT:
            raise ServiceError("not_allowed", "A live conversation has no waiting state: end it instead.")
        if conversation.state != State.ACTIVE:
            raise ServiceError(
                "not_allowed", f"Only an active conversation can be set aside (this one is {conversation.state})."
            )
        _transition(conversation, State.WAITING, agent_actor(agent), "set_aside")
    _after_capacity_freed(conversation)
    return conversation


def resume(agent: AgentProfile, conversation_id) -> Conversation:
    """waiting -> active, always allowed to the assigned agent, even past capacity."""
    with transaction.atomic():
        conversation = access_conversation_for_agent(agent, conversation_id, lock=True)
        if conversation.state != State.WAITING:
            raise ServiceError(
                "not_allowed", f"Only a waiting conversation can be resumed (this one is {conversation.state})."
            )
        _transition(conversation, State.ACTIVE, agent_actor(agent), "resumed")
    return conversation


def end(agent: AgentProfile, conversation_id) -> Conversation:
    """active|waiting -> wrap-up, or closed where the workstream has no wrap-up."""
    with transaction.atomic():
        conversation = access_conversation_for_agent(agent, conversation_id, lock=True)
        if conversation.state not in (State.ACTIVE, State.WAITING):
            raise ServiceError(
                "not_allowed",
                f"Only an active or waiting conversation can be ended (this one is {conversation.state}).",
            )
        _end(conversation, agent_actor(agent), "agent_ended")
    _after_capacity_freed(conversation)
    return conversation


def close(agent: AgentProfile, conversation_id) -> Conversation:
    """wrap-up -> closed."""
    with transaction.atomic():
        conversation = access_conversation_for_agent(agent, conversation_id, lock=True)
        if conversation.state != State.WRAP_UP:
            raise ServiceError(
                "not_allowed", f"Only a conversation in wrap-up can be closed (this one is {conversation.state})."
            )
        _transition(conversation, State.CLOSED, agent_actor(agent), "agent_closed")
    _after_capacity_freed(conversation)
    return conversation


def pick(agent: AgentProfile, conversation_id) -> Conversation:
    from routing import router

    return router.pick(agent, _parse_id(conversation_id))


def set_presence(agent: AgentProfile, status: str, *, origin: str | None = None) -> AgentProfile:
    if status not in Presence.values:
        raise ServiceError("bad_request", f"'status' must be one of {', '.join(Presence.values)}.")
    with transaction.atomic():
        AgentProfile.objects.filter(pk=agent.pk).update(presence=status, presence_changed_at=timezone.now())
        events.to_agent(agent.id, {"type": "presence", "status": status}, exclude=origin)
    agent.presence = status
    if status == Presence.AVAILABLE:
        _dispatch_for_agent(agent.id)
    return agent


def agent_connected(agent: AgentProfile, *, channel_name: str, ip_address: str = "") -> None:
    now = timezone.now()
    with transaction.atomic():
        Connection.objects.create(
            channel_name=channel_name,
            kind=Connection.Kind.AGENT,
            agent=agent,
            ip_address=ip_address,
            connected_at=now,
            heartbeat_at=now,
        )
        AgentProfile.objects.filter(pk=agent.pk).update(disconnected_at=None)


def agent_disconnected(channel_name: str) -> None:
    with transaction.atomic():
        connection = Connection.objects.filter(channel_name=channel_name).first()
        if connection is None:
            return
        connection.delete()
        if not Connection.objects.filter(agent_id=connection.agent_id).exists():
            AgentProfile.objects.filter(pk=connection.agent_id).update(disconnected_at=timezone.now())


def reassign(conversation: Conversation, to_agent: AgentProfile, *, actor_name: str) -> Conversation:
    """Admin center: move a conversation (for example of an agent who left
    the company) to another agent. Both agents are told; capacity moves."""
    actor = Actor(Role.ADMIN, actor_name)
    with transaction.atomic():
        conversation = _conversations().select_for_update(of=("self",)).get(pk=conversation.pk)
        if conversation.state not in (State.ACTIVE, State.WAITING, State.WRAP_UP):
            raise ServiceError("not_allowed", "Only an assigned conversation can be reassigned.")
        old_agent = conversation.agent
        if old_agent.pk == to_agent.pk:
            return conversation
        units = conversation.capacity_units if conversation.state in HOLDS_CAPACITY else 0
        if units:
            AgentProfile.objects.filter(pk=old_agent.pk).update(used_capacity=F("used_capacity") - units)
            AgentProfile.objects.filter(pk=to_agent.pk).update(used_capacity=F("used_capacity") + units)
            announce_capacity(old_agent.pk)
            announce_capacity(to_agent.pk)
        conversation.agent = to_agent
        conversation.updated_at = timezone.now()
        conversation.save(update_fields=["agent", "updated_at"])
        ConversationEvent.objects.create(
            conversation=conversation,
            from_state=conversation.state,
            to_state=conversation.state,
            actor_role=actor.role,
            actor_name=actor.name,
            reason=f"reassigned from {old_agent.display_name} to {to_agent.display_name}",
        )
        summary = agent_summary(conversation)
        events.to_agent(old_agent.pk, {"type": "unassigned", "conversation_id": str(conversation.id)})
        events.to_agent(to_agent.pk, {"type": "assigned", "conversation": summary})
        events.to_customer(
            conversation.customer_id,
            conversation.workstream_id,
            {
                "type": "state",
                "conversation_id": str(conversation.id),
                "state": conversation.state,
                "agent": {"name": to_agent.display_name},
            },
        )
    _dispatch_for_agent(old_agent.pk)
    return conversation


def close_by_system(conversation_id, reason: str) -> bool:
    """Timers: close a conversation if it still qualifies (re-checked under lock)."""
    with transaction.atomic():
        conversation = (
            _conversations()
            .select_for_update(of=("self",), skip_locked=True)
            .filter(pk=conversation_id)
            .exclude(state=State.CLOSED)
            .first()
        )
        if conversation is None:
            return False
        _transition(conversation, State.CLOSED, SYSTEM, reason)
    _after_capacity_freed(conversation)
    return True


def end_by_system(conversation_id, reason: str) -> bool:
    """Live chat whose customer stayed away past the grace period."""
    with transaction.atomic():
        conversation = (
            _conversations()
            .select_for_update(of=("self",), skip_locked=True)
            .filter(pk=conversation_id, state__in=CURRENT_STATES)
            .first()
        )
        if conversation is None:
            return False
        _end(conversation, SYSTEM, reason)
    _after_capacity_freed(conversation)
    return True


# --- socket sessions: reading and typing ------------------------------------


def customer_readable_conversation(customer: Customer, workstream, known_id=None) -> Conversation | None:
    """The conversation a customer socket reads (``sync``/``history``): the
    current one, else the one this socket was in (so that the rest of a
    conversation that just ended can still be fetched)."""
    conversation = current_conversation(customer, workstream)
    if conversation is None and known_id is not None:
        conversation = _conversations().filter(pk=known_id, customer=customer, workstream=workstream).first()
    return conversation


def announce_queue_to_customer(conversation_id) -> None:
    """A customer reconnected to a queued live conversation: their position and the average wait again."""
    from routing import estimates

    conversation = _conversations().filter(pk=conversation_id, state=State.OPEN, mode=Mode.LIVE).first()
    if conversation is not None:
        estimates.announce_wait(conversation)


def customer_typing(customer: Customer, widget, active: bool) -> None:
    conversation = current_conversation(customer, widget.workstream)
    if conversation is not None and conversation.agent_id and conversation.state == State.ACTIVE:
        events.to_agent(
            conversation.agent_id,
            {"type": "typing", "conversation_id": str(conversation.id), "role": "customer", "active": active},
        )


def agent_typing(agent: AgentProfile, conversation_id, active: bool) -> None:
    conversation = access_conversation_for_agent(agent, conversation_id)
    if conversation.state == State.ACTIVE:
        events.to_customer(
            conversation.customer_id,
            conversation.workstream_id,
            {"type": "typing", "conversation_id": str(conversation.id), "role": "agent", "active": active},
        )


# --- routing hooks -------------------------------------------------------------


def _after_capacity_freed(conversation: Conversation) -> None:
    if conversation.agent_id:
        transaction.on_commit(lambda: _dispatch_for_agent(conversation.agent_id), robust=True)
    else:
        transaction.on_commit(lambda: _dispatch([conversation.queue_id]), robust=True)


def _dispatch_for_agent(agent_id) -> None:
    from routing.models import Queue

    _dispatch(list(Queue.objects.filter(members__id=agent_id).values_list("id", flat=True)))


def _dispatch(queue_ids: Iterable[int] | None) -> None:
    from routing import router

    router.dispatch(queue_ids)


# --- timers ------------------------------------------------------------------


def sweep(now: datetime | None = None) -> dict[str, int]:
    """One pass of every timer. Safe to run from several processes at once:
    each change re-checks its conditions with the row locked."""
    from routing import estimates, router

    now = now or timezone.now()
    done = {"inactive": 0, "wrap_up": 0, "abandoned": 0, "offline": 0, "stale": 0, "routed": 0}
    stale_before = now - timedelta(seconds=max(3 * settings.PARLEY_TIMER_INTERVAL, 15))
    stale = Connection.objects.filter(heartbeat_at__lt=stale_before)
    stale_agents = set(stale.filter(agent__isnull=False).values_list("agent_id", flat=True))
    stale_customers = set(stale.filter(customer__isnull=False).values_list("customer_id", flat=True))
    done["stale"], _ = stale.delete()
    if stale_agents or stale_customers:
        # Sockets of a process that died: their owners left when it died.
        connected = Connection.objects.all()
        AgentProfile.objects.filter(pk__in=stale_agents, disconnected_at__isnull=True).exclude(
            pk__in=connected.filter(agent__isnull=False).values("agent_id")
        ).update(disconnected_at=now)
        Conversation.objects.filter(
            customer_id__in=stale_customers, mode=Mode.LIVE, state__in=CURRENT_STATES, customer_left_at__isnull=True
        ).exclude(customer_id__in=connected.filter(customer__isnull=False).values("customer_id")).update(
            customer_left_at=now
        )

    for conversation_id, seconds, last_message_at, created_at in (
        Conversation.objects.exclude(state=State.CLOSED)
        .filter(workstream__auto_close_after_inactivity_seconds__gt=0)
        .values_list("id", "workstream__auto_close_after_inactivity_seconds", "last_message_at", "created_at")
        .iterator()
    ):
        if (last_message_at or created_at) <= now - timedelta(seconds=seconds):
            done["inactive"] += close_by_system(conversation_id, "inactivity")

    for conversation_id, seconds, started in Conversation.objects.filter(state=State.WRAP_UP).values_list(
        "id", "workstream__wrap_up_seconds", "wrap_up_started_at"
    ):
        if started is None or started <= now - timedelta(seconds=seconds):
            done["wrap_up"] += close_by_system(conversation_id, "wrap_up_expired")

    left_before = now - timedelta(seconds=settings.PARLEY_LIVE_DISCONNECT_GRACE)
    for conversation_id, customer_id in Conversation.objects.filter(
        mode=Mode.LIVE, state__in=CURRENT_STATES, customer_left_at__lte=left_before
    ).values_list("id", "customer_id"):
        if not Connection.objects.filter(customer_id=customer_id).exists():
            done["abandoned"] += end_by_system(conversation_id, "customer_disconnected")

    away_before = now - timedelta(seconds=settings.PARLEY_PRESENCE_GRACE)
    for agent in AgentProfile.objects.exclude(presence=Presence.OFFLINE).filter(disconnected_at__lte=away_before):
        if not Connection.objects.filter(agent=agent).exists():
            AgentProfile.objects.filter(pk=agent.pk, disconnected_at__isnull=False).update(
                presence=Presence.OFFLINE, presence_changed_at=now
            )
            done["offline"] += 1

    done["routed"] = router.dispatch(None, at=now)
    done["positions"] = estimates.flush_positions()
    # PARLEY_RETENTION_DAYS: closed conversations past the retention period are deleted (conversations/privacy.py).
    from . import privacy

    done["expired"] = privacy.apply_retention(now)
    return done


def heartbeat(channel_names: Iterable[str]) -> None:
    names = list(channel_names)
    if names:
        Connection.objects.filter(channel_name__in=names).update(heartbeat_at=timezone.now())

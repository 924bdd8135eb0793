"""Messages: a customer's (opening and routing their conversation when they have none) and an agent's,
stored and announced; typing indicators.

The usual case of both runs through ``conversations.storage`` (SQL written for the hot path,
docs/performance.md); anything unusual goes the general, checking way here.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from routing import policy
from routing.models import AgentProfile

from .. import events, metrics, storage
from ..errors import BAD_REQUEST, RATE_LIMITED, TOO_LARGE, UNAVAILABLE, ServiceError
from ..models import Conversation, ConversationEvent, Customer, Message, Mode, Role, State
from ..serializers import iso, message_dict
from ..webhooks import events as webhook_events
from . import access, customer_context, files, pre_chat, queueing
from .assignment import dispatch
from .changes import notice, queue_moved
from .transitions import guard


def check_text(text, *, may_be_empty: bool = False) -> str:
    """The message text, trimmed; empty only for a message with attachments (``may_be_empty``)."""
    if may_be_empty and text is None:
        return ""
    if not isinstance(text, str):
        raise ServiceError(BAD_REQUEST, "'text' must be a string.")
    text = text.strip()
    if not text and not may_be_empty:
        raise ServiceError(BAD_REQUEST, "'text' is empty.")
    if len(text) > settings.PARLEY_MAX_TEXT_CHARS:
        raise ServiceError(TOO_LARGE, f"'text' is longer than {settings.PARLEY_MAX_TEXT_CHARS} characters.")
    return text


def check_client_id(client_id) -> str:
    if not isinstance(client_id, str) or not 1 <= len(client_id) <= 64:
        raise ServiceError(BAD_REQUEST, "'client_id' must be a string of 1-64 characters.")
    return client_id


def store_message(
    conversation: Conversation,
    *,
    role: str,
    name: str,
    text: str,
    client_id: str | None,
    origin: str | None,
    uploads: list | None = None,
) -> Message:
    """Store the conversation's next message (its row locked by the caller) with the ``uploads`` it takes
    (locked by the caller, ``files.lock_uploads``) and announce it after commit."""
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
    if uploads:
        files.attach(uploads, message)
    announce_message(conversation, message, origin)
    webhook_events.message_created(conversation, message)
    return message


def _append_with_event(append, *args, **kwargs):
    """``storage.append_*_message`` on the hot path and, when an endpoint subscribes to ``message.created``,
    the event's outbox row in the same transaction (without subscribers: exactly ``append``)."""
    with webhook_events.transaction_for(webhook_events.MESSAGE_CREATED):
        appended = append(*args, **kwargs)
        if appended is not None:
            webhook_events.message_created(*appended)
    return appended


def announce_message(conversation: Conversation, message: Message, origin: str | None) -> None:
    sent = metrics.message_stored(message.sender_role)
    events.to_conversation(conversation, {"type": "message", "message": message_dict(message)}, exclude=origin)
    events.on_sent(sent)


def _after_customer_message(conversation: Conversation) -> None:
    mark_customer_returned(conversation)
    if conversation.state == State.OPEN and not policy.queue_is_open(conversation.queue):
        # when the team is back, for the widget to show in the customer's time zone
        notice(conversation, "out_of_hours", next_opening=iso(policy.next_opening(conversation.queue)))


def mark_customer_returned(conversation: Conversation) -> None:
    """The customer wrote or came back to a conversation their agent set aside: tell the agent."""
    if conversation.state != State.WAITING:
        return
    if not conversation.customer_returned:
        conversation.customer_returned = True
        conversation.save(update_fields=["customer_returned"])
    events.to_agent(conversation.agent_id, {"type": "customer_returned", "conversation_id": str(conversation.id)})


def customer_message(
    customer: Customer,
    widget,
    *,
    client_id,
    text,
    origin: str | None = None,
    attachments=None,
    left_message: bool = False,
    ip_address: str = "",
) -> tuple[Message, Conversation, bool]:
    """Store a customer's message (creating and routing their conversation
    when they have none). Returns (message, conversation, stored_now); a
    repeated ``client_id`` returns the stored message and stores nothing.
    ``attachments``: the ids of the customer's uploads the message takes (a message with attachments
    takes the general way: the hot path stays a plain text's). ``left_message``: the customer left the
    message when nobody was available (``actions.availability``). ``ip_address``: the client's address, for
    the limit on new conversations per address (``check_new_conversation_limits``)."""
    client_id = check_client_id(client_id)
    upload_ids = files.check_upload_ids(attachments)
    text = check_text(text, may_be_empty=bool(upload_ids))
    workstream = widget.workstream
    may_be_stored = False  # whether this client_id may be stored already
    if storage.supported() and not upload_ids and not left_message:
        # The usual case without the checks' queries: the customer's current conversation locked, its next
        # seq taken and the message inserted (storage.append_customer_message). No conversation yet, or a
        # repeated client_id, goes the general way below.
        try:
            appended = _append_with_event(
                storage.append_customer_message,
                customer,
                workstream,
                now=timezone.now(),
                text=text,
                client_id=client_id,
            )
        except IntegrityError:  # another socket stored this client_id at the same moment
            appended = None
        if appended is not None:
            conversation, message = appended
            announce_message(conversation, message, origin)
            _after_customer_message(conversation)
            return message, conversation, True
        may_be_stored = True
    for attempt in range(2):
        try:
            with transaction.atomic():
                conversation = access.current_for_message(customer, workstream)
                created = conversation is None
                if created:
                    conversation = open_conversation(customer, widget, left_message=left_message, ip_address=ip_address)
                elif attempt or may_be_stored or upload_ids or left_message:
                    # the fast path stored nothing or an insert was refused: a message stored with this
                    # client_id is the answer
                    existing = conversation.messages.filter(client_id=client_id).first()
                    if existing is not None:
                        files.load_attachments([existing])
                        return existing, conversation, False
                if left_message and not conversation.left_message:
                    conversation.left_message = True
                    conversation.save(update_fields=["left_message"])
                message = store_message(
                    conversation,
                    role=Role.CUSTOMER,
                    name=customer.display_name,
                    text=text,
                    client_id=client_id,
                    origin=origin,
                    uploads=files.lock_uploads(upload_ids, customer=customer),
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


def check_new_conversation_limits(widget, ip_address: str, now) -> None:
    """Anonymous visitors (a widget without authentication) start at most
    ``PARLEY_NEW_CONVERSATIONS_PER_IP_HOUR`` conversations per client address and hour, and at most
    ``PARLEY_NEW_CONVERSATIONS_PER_WIDGET_HOUR`` per widget and hour (0: no limit); past either the
    message is refused with ``rate_limited`` and nothing is stored. Authenticated customers are known to
    the website and not limited here."""
    if widget.authentication_id is not None:
        return
    hour_ago = now - timedelta(hours=1)
    per_ip = settings.PARLEY_NEW_CONVERSATIONS_PER_IP_HOUR
    recent = Conversation.objects.filter(created_at__gte=hour_ago)
    if per_ip and ip_address and recent.filter(opened_from=ip_address).count() >= per_ip:
        raise ServiceError(
            RATE_LIMITED, "Too many new conversations from your address; nothing was stored. Try again later."
        )
    per_widget = settings.PARLEY_NEW_CONVERSATIONS_PER_WIDGET_HOUR
    if per_widget and recent.filter(widget=widget).count() >= per_widget:
        raise ServiceError(
            RATE_LIMITED, "Too many new conversations on this chat right now; nothing was stored. Try again later."
        )


def open_conversation(customer: Customer, widget, *, left_message: bool = False, ip_address: str = "") -> Conversation:
    """A new conversation in the widget's workstream, queued (inside the caller's transaction), with the
    customer's pre-chat answers (``pre_chat_required`` without them where the survey requires them).
    A live one outside operating hours only as a message left for later (``left_message``). Anonymous
    visitors are limited per address and per widget (``check_new_conversation_limits``)."""
    workstream = widget.workstream
    if not workstream.persistent and not left_message and not policy.queue_is_open(workstream.queue):
        raise ServiceError(UNAVAILABLE, "Nobody is available outside operating hours.")
    now = timezone.now()
    check_new_conversation_limits(widget, ip_address, now)
    answers = pre_chat.take_for_new_conversation(customer, widget, required=not left_message)
    context = dict(customer.context or {})
    conversation = Conversation.objects.create(
        workstream=workstream,
        widget=widget,
        queue_id=customer_context.queue_for(workstream, context=context, pre_chat=answers),
        context=context,
        customer=customer,
        mode=workstream.mode,
        state=State.OPEN,
        created_at=now,
        updated_at=now,
        queued_at=now,
        pre_chat=answers,
        left_message=left_message,
        opened_from=ip_address[:64],
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
    queue_moved(conversation, left=False)
    webhook_events.conversation_created(conversation)
    events.stats_changed()
    return conversation


def after_opened(conversation_id) -> None:
    """A new conversation is stored: route it; a live one still queued gets
    its position and the average wait."""
    conversation = access.conversations().filter(pk=conversation_id).first()
    if conversation is None:
        return
    dispatch([conversation.queue_id])
    conversation.refresh_from_db(fields=["state"])
    if conversation.state == State.OPEN and conversation.mode == Mode.LIVE:
        queueing.announce_wait(conversation)


def agent_message(
    agent: AgentProfile, conversation_id, *, client_id, text, origin: str | None = None, attachments=None
) -> tuple[Message, bool]:
    """Store the agent's message; ``attachments``: ids of the agent's uploads it takes."""
    client_id = check_client_id(client_id)
    upload_ids = files.check_upload_ids(attachments)
    text = check_text(text, may_be_empty=bool(upload_ids))
    conversation_id = access.parse_id(conversation_id)
    if storage.supported() and not upload_ids:
        # The usual case without the checks' queries: the agent's own active conversation locked and the
        # message stored. Any refusal or a repeated client_id goes the checking way below, which answers
        # with the right error or the stored message.
        try:
            appended = _append_with_event(
                storage.append_agent_message, agent, conversation_id, now=timezone.now(), text=text, client_id=client_id
            )
        except IntegrityError:
            appended = None
        if appended is not None:
            conversation, message = appended
            announce_message(conversation, message, origin)
            return message, True
    with transaction.atomic():
        conversation = access.access_conversation_for_agent(agent, conversation_id, lock=True)
        existing = conversation.messages.filter(client_id=client_id).first()
        if existing is not None:
            files.load_attachments([existing])
            return existing, False
        guard("send", conversation)
        message = store_message(
            conversation,
            role=Role.AGENT,
            name=agent.display_name,
            text=text,
            client_id=client_id,
            origin=origin,
            uploads=files.lock_uploads(upload_ids, agent=agent),
        )
    return message, True


def customer_typing(customer: Customer, widget, active: bool) -> None:
    conversation = access.current_conversation(customer, widget.workstream)
    if conversation is not None and conversation.agent_id and conversation.state == State.ACTIVE:
        events.to_agent(
            conversation.agent_id,
            {"type": "typing", "conversation_id": str(conversation.id), "role": "customer", "active": active},
        )


def agent_typing(agent: AgentProfile, conversation_id, active: bool) -> None:
    conversation = access.access_conversation_for_agent(agent, conversation_id)
    if conversation.state == State.ACTIVE:
        events.to_customer(
            conversation.customer_id,
            conversation.workstream_id,
            {"type": "typing", "conversation_id": str(conversation.id), "role": "agent", "active": active},
        )

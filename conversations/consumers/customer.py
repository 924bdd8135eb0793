"""The customer socket: ``/ws/widget/<widget_public_id>/`` (../PROTOCOL.md)."""

from __future__ import annotations

import asyncio
import json
import weakref
from urllib.parse import parse_qs

from django.conf import settings
from django.db import transaction

from admin_center.models import ChatWidget, visitor_language

from .. import identity, notices
from ..actions import (
    access,
    availability,
    customer_context,
    lifecycle,
    messages,
    notifications,
    payloads,
    queueing,
    sessions,
)
from ..errors import AUTH_FAILED, AUTH_REQUIRED, BAD_REQUEST, ServiceError
from ..models import Mode, State
from ..protocol import BadFrame, field_bool, field_int
from ..serializers import message_dict
from .base import FrameConsumer, db, db_grouped, events
from .customer_journey import JOURNEY_COMMANDS, JourneyFrames, welcome_additions

CLOSE_AUTH = 4401
CLOSE_HELLO_TIMEOUT = 4408


def _load_widget(public_id: str) -> ChatWidget | None:
    """The widget with its workstream, queue, operating hours and key setting, read at each connect. The
    process's open sockets of one widget share one set of these instances while the rows stay as they
    were: 4.1 KiB a socket (measured with tracemalloc) that an idle widget held for as long as it was
    open (docs/performance.md, "Memory per idle widget")."""
    widget = (
        ChatWidget.objects.select_related("workstream__queue__operating_hours", "authentication")
        .filter(public_id=public_id, enabled=True)
        .first()
    )
    if widget is None:
        return None
    shared = _shared_widgets.get(widget.pk)
    if shared is not None and _state_of(shared) == _state_of(widget):
        return shared
    _shared_widgets[widget.pk] = widget
    return widget


# The widget instances the process's sockets hold, by widget id (an entry goes with its last socket).
_shared_widgets: weakref.WeakValueDictionary[int, ChatWidget] = weakref.WeakValueDictionary()


def _state_of(widget: ChatWidget) -> str:
    """Every stored field of the widget's rows, and which related objects each instance has cached: a
    shared instance that a socket made load more (a relation read later, as it was then) is not handed to
    a new socket, which gets what the database holds now."""
    workstream = widget.workstream
    rows = (widget, workstream, workstream.queue, workstream.queue.operating_hours, widget.authentication)
    return json.dumps(
        [
            None
            if row is None
            else [[field.attname, field.value_from_object(row)] for field in row._meta.concrete_fields]
            + [sorted(row._state.fields_cache), hasattr(row, "_prefetched_objects_cache")]
            for row in rows
        ],
        default=str,
    )


class CustomerConsumer(JourneyFrames, FrameConsumer):
    commands = frozenset({"hello", "send", "sync", "history", "typing", "end"}) | JOURNEY_COMMANDS

    widget: ChatWidget | None = None
    customer = None
    conversation_id = None
    hello_task: asyncio.Task | None = None
    language = "en"  # what the widget speaks to this visitor (``ChatWidget.language_for``)
    # an anonymous visitor whose row is not stored yet (stored with their first message: stored_customer)
    visitor_unsaved = None

    async def connect(self) -> None:
        public_id = self.scope["url_route"]["kwargs"]["public_id"]
        self.widget = await db(_load_widget)(public_id)
        if self.widget is None or not self.origin_allowed(self.widget.allowed_origins):
            await self.close()  # before accept: the client sees HTTP 403
            return
        query = parse_qs(self.scope.get("query_string", b"").decode("latin-1"))
        accept = dict(self.scope.get("headers", ())).get(b"accept-language", b"").decode("latin-1")
        self.language = self.widget.language_for(visitor_language(query.get("lang", [""])[0][:16], accept[:256]))
        if not await self.claim_ip_slot("customer"):
            await self.close()
            return
        await self.accept()
        self.hello_task = asyncio.get_running_loop().create_task(self._hello_deadline())

    async def _hello_deadline(self) -> None:
        await asyncio.sleep(settings.PARLEY_HELLO_TIMEOUT)
        if self.customer is None:
            await self.send_error("bad_request", "No hello within the time allowed.")
            await self.close(code=CLOSE_HELLO_TIMEOUT)

    async def disconnect(self, code) -> None:
        if self.hello_task is not None:
            self.hello_task.cancel()
        await self.unregister()
        if self.customer is not None:
            await db(sessions.customer_disconnected)(self.channel_name)
            await db(notifications.mark_seen)(self.customer.id, self.widget.workstream_id)

    def _require_hello(self) -> None:
        if self.customer is None:
            raise BadFrame(BAD_REQUEST, "Send 'hello' first.")

    # --- hello -----------------------------------------------------------------

    async def on_hello(self, frame: dict):
        if self.customer is not None:
            raise BadFrame(BAD_REQUEST, "'hello' was already received on this socket.")
        token = frame.get("token")
        visitor = frame.get("visitor")
        try:
            welcome = await db(self._hello_sync)(token, visitor)
        except ServiceError as exc:
            if exc.code in (AUTH_REQUIRED, AUTH_FAILED):
                await self.send_error(exc.code, exc.message, frame)
                await self.close(code=CLOSE_AUTH)
                return None
            raise
        if self.hello_task is not None:
            self.hello_task.cancel()
            self.hello_task = None  # an idle socket keeps no finished task (docs/performance.md, memory)
        self.release_ip_slot()  # counted by its Connection row from now on
        await self.join(events.customer_group(self.customer.id, self.widget.workstream_id))
        await self.register()
        await self.send_json(welcome)
        conversation = welcome["conversation"]
        if conversation and conversation["state"] == State.OPEN and self.widget.workstream.mode == Mode.LIVE:
            await db(queueing.announce_queue_to_customer)(self.conversation_id)
        return None

    def _hello_sync(self, token, visitor) -> dict:
        widget = self.widget
        setting = widget.authentication
        if setting is not None:
            if token is None or token == "":
                raise ServiceError(AUTH_REQUIRED, "This chat needs you to be signed in: send a token.")
            claims = identity.verify_customer_token(setting, token)
            customer = identity.authenticated_customer(setting, claims)
            customer_context.remember(customer, widget.workstream, claims)
            visitor_token = None
        else:
            # stored on their first message (or survey answers, upload, email switch), not on hello
            customer = identity.visitor_customer(visitor, create=False)
            visitor_token = identity.visitor_token(customer)
        customer.language = self.language
        conversation = sessions.customer_connected(
            customer, widget, channel_name=self.channel_name, ip_address=self.client_ip()
        )
        self.customer = customer
        self.visitor_unsaved = None if identity.is_stored(customer) else customer
        if conversation is not None:
            self.conversation_id = conversation.id
        notifications.mark_seen(customer.id, widget.workstream_id)
        welcome = payloads.customer_welcome(widget, customer, conversation, visitor_token)
        widget_journey, customer_journey, upload_token = welcome_additions(widget, customer)
        welcome["widget"].update(widget_journey)
        welcome["customer"].update(customer_journey)
        welcome["upload_token"] = upload_token
        return welcome

    # --- messages ----------------------------------------------------------------

    async def on_send(self, frame: dict):
        self._require_hello()
        self.take_send_token()
        message, conversation = await db_grouped(self._send_sync)(
            frame.get("client_id"), frame.get("text"), frame.get("attachments")
        )
        self.conversation_id = conversation.id
        if message.seq == 1 and conversation.mode == Mode.LIVE:
            # the first message of a live conversation: nobody to answer it means the customer hears so now
            await db(availability.after_first_message)(conversation.id)
        return {"type": "ack", "client_id": message.client_id, "message": message_dict(message)}

    def _send_sync(self, client_id, text, attachments):
        if self.visitor_unsaved is not None:
            with transaction.atomic():  # an anonymous visitor's row is stored with their first message
                return self._store_message(client_id, text, attachments)
        return self._store_message(client_id, text, attachments)

    def _store_message(self, client_id, text, attachments):
        message, conversation, _stored = messages.customer_message(
            self.stored_customer(),
            self.widget,
            client_id=client_id,
            text=text,
            origin=self.channel_name,
            attachments=attachments,
            ip_address=self.client_ip(),
        )
        return message, conversation

    def stored_customer(self):
        """``self.customer``, stored first if they are a visitor who has stored nothing yet (call in a
        database thread, inside the transaction that stores their first thing; until it commits, every
        call stores the row again if it is not there: a rolled-back first message leaves nothing)."""
        if self.visitor_unsaved is not None:
            self.customer = sessions.visitor_stored(self.visitor_unsaved, self.widget, self.channel_name)
            transaction.on_commit(self._visitor_committed)
        return self.customer

    def _visitor_committed(self) -> None:
        self.visitor_unsaved = None

    async def on_sync(self, frame: dict):
        self._require_hello()
        after = field_int(frame, "after_seq", low=0)
        return await db(self._page_sync)("sync", after, settings.PARLEY_SYNC_PAGE_MAX)

    async def on_history(self, frame: dict):
        self._require_hello()
        before = field_int(frame, "before_seq", low=1)
        page_max = settings.PARLEY_HISTORY_PAGE_MAX
        limit = field_int(frame, "limit", low=1, high=page_max, default=min(50, page_max))
        return await db(self._page_sync)("history", before, limit)

    def _page_sync(self, kind: str, cursor: int, limit: int) -> dict:
        conversation = access.customer_readable_conversation(
            self.customer, self.widget.workstream, self.conversation_id
        )
        if conversation is None:
            return {"type": kind, "messages": [], "has_more": False}
        return payloads.page_frame(kind, conversation, cursor, limit)

    async def on_typing(self, frame: dict):
        self._require_hello()
        active = field_bool(frame, "active")
        await db(messages.customer_typing)(self.customer, self.widget, active)
        return None

    async def on_end(self, frame: dict):
        self._require_hello()
        conversation = await db(lifecycle.customer_end)(self.customer, self.widget)
        self.conversation_id = conversation.id
        return {"type": "ok"}

    async def parley_frame(self, event) -> None:
        if event.get("conversation_id"):  # a state frame: the conversation this widget follows now
            self.conversation_id = event["conversation_id"]
        if event.get("notice") and self.widget.language == ChatWidget.Language.AUTO:
            # worded where it was made in the widget's default; this visitor reads their own language
            frame = json.loads(event["text"])
            frame["text"] = notices.render(self.widget, frame["code"], frame.get("data") or {}, self.language)
            event = {**event, "text": events.encode(frame)}
        await super().parley_frame(event)

"""The actions write webhook events in the transaction of their change (docs/webhooks.md "Events")."""

from __future__ import annotations

import json
import uuid
from unittest import mock

import pytest
from channels.db import database_sync_to_async
from django.db import DatabaseError, connection
from django.test.utils import CaptureQueriesContext

from admin_center.models import WebhookEndpoint
from conversations.actions import lifecycle, messages, notes
from conversations.models import Customer, Message
from conversations.webhooks.dispatcher import Dispatcher
from conversations.webhooks.models import Delivery
from routing.models import Presence
from tests import factories
from tests.support import sockets

pytestmark = pytest.mark.django_db(transaction=True)

ALL_EVENTS = ["conversation.created", "conversation.state_changed", "message.created", "conversation.rated"]


def subscribe(url: str = "https://crm.example.com/parley", events=ALL_EVENTS) -> WebhookEndpoint:
    return WebhookEndpoint.objects.create(name=f"CRM {uuid.uuid4().hex[:6]}", url=url, events=list(events))


def events() -> list[tuple[str, dict]]:
    return [(row.event_type, json.loads(row.body)["data"]) for row in Delivery.objects.order_by("id")]


def setup():
    widget = factories.make_setup()
    alice = factories.make_agent("alice", presence=Presence.AVAILABLE, queues=[widget.workstream.queue])
    return widget, alice, Customer.objects.create(name="Carol")


def test_a_conversation_writes_its_events_in_order():
    widget, alice, carol = setup()
    subscribe()
    _message, conversation, _ = messages.customer_message(carol, widget, client_id="c1", text="Hello")
    messages.agent_message(alice, conversation.id, client_id="a1", text="Hi Carol")
    lifecycle.end(alice, conversation.id)

    written = events()
    assert [kind for kind, _ in written] == [
        "conversation.created",
        "message.created",
        "conversation.state_changed",
        "message.created",
        "conversation.state_changed",
    ]
    created, customer_message, assigned, agent_message, ended = (data for _, data in written)
    assert created["conversation"]["id"] == str(conversation.id) and created["conversation"]["state"] == "open"
    assert customer_message["message"]["text"] == "Hello" and customer_message["message"]["seq"] == 1
    assert (assigned["from"], assigned["to"], assigned["conversation"]["agent"]["name"]) == ("open", "active", "Alice")
    assert agent_message["message"]["sender"] == {"role": "agent", "name": alice.display_name}
    assert (ended["from"], ended["to"], ended["reason"]) == ("active", "closed", "agent_ended")
    assert all(data["conversation_id"] == str(conversation.id) for _, data in written)


def test_notes_are_not_message_events():
    widget, alice, carol = setup()
    _message, conversation, _ = messages.customer_message(carol, widget, client_id="c1", text="Hello")
    subscribe(events=["message.created"])
    notes.write(alice, conversation.id, client_id="n1", text="internal")
    assert events() == []


def test_the_hot_path_message_and_its_event_are_one_transaction():
    widget, alice, carol = setup()
    _message, conversation, _ = messages.customer_message(carol, widget, client_id="c1", text="Hello")
    subscribe(events=["message.created"])
    with (
        mock.patch("conversations.webhooks.outbox.write", side_effect=DatabaseError("outbox unavailable")),
        pytest.raises(DatabaseError),
    ):
        messages.customer_message(carol, widget, client_id="c2", text="Second")
    with (
        mock.patch("conversations.webhooks.outbox.write", side_effect=DatabaseError("outbox unavailable")),
        pytest.raises(DatabaseError),
    ):
        messages.agent_message(alice, conversation.id, client_id="a1", text="Reply")
    assert list(Message.objects.values_list("client_id", flat=True)) == ["c1"]


def test_without_subscribers_the_hot_path_runs_no_extra_query():
    widget, alice, carol = setup()
    _message, conversation, _ = messages.customer_message(carol, widget, client_id="c0", text="Hello")

    def queries(client_id: str) -> list[str]:
        with CaptureQueriesContext(connection) as captured:
            messages.agent_message(alice, conversation.id, client_id=client_id, text="Reply")
        return [query["sql"] for query in captured.captured_queries]

    subscribe(events=["conversation.rated"])  # someone listens, but not to messages
    queries("warm-up")  # the subscription cache is loaded once per process
    without = queries("a1")
    assert not any("webhook" in sql for sql in without)
    subscribe(events=["message.created"])
    queries("warm-up-2")
    assert len(queries("a2")) > len(without)  # the outbox row (and a transaction) only with a subscriber


async def test_messages_sent_on_the_sockets_are_delivered_signed(receiver):
    widget, alice, _carol = await database_sync_to_async(setup)()
    await database_sync_to_async(subscribe)(url=receiver.url, events=["message.created"])
    customer, _welcome = await sockets.customer(widget)
    await customer.send({"type": "send", "client_id": "c1", "text": "Hello"})
    await customer.expect("ack", client_id="c1")
    agent, welcome = await sockets.agent(alice)
    (conversation,) = welcome["conversations"]  # routed to alice when Carol wrote
    conversation_id = conversation["id"]
    await agent.send({"type": "send", "conversation_id": conversation_id, "client_id": "a1", "text": "Hi"})
    await agent.expect("ack", client_id="a1")
    await Dispatcher().drain()
    receiver.wait_for(2)
    texts = [(d["data"]["message"]["sender"]["role"], d["data"]["message"]["text"]) for d in receiver.documents()]
    assert texts == [("customer", "Hello"), ("agent", "Hi")]
    await customer.communicator.disconnect()
    await agent.communicator.disconnect()


def test_a_rating_is_an_event():
    widget, alice, carol = setup()
    widget.post_chat_survey = True
    widget.save()
    _message, conversation, _ = messages.customer_message(carol, widget, client_id="c1", text="Hello")
    lifecycle.end(alice, conversation.id)
    subscribe(events=["conversation.rated"])
    from conversations.actions import ratings

    ratings.rate(carol, widget, conversation.id, 4, "Quick")
    ((kind, data),) = events()
    assert kind == "conversation.rated"
    assert (data["conversation_id"], data["score"], data["comment"]) == (str(conversation.id), 4, "Quick")


def test_erasing_a_customer_deletes_their_events_from_the_delivery_log():
    from conversations.actions import privacy

    widget, alice, carol = setup()
    subscribe()
    messages.customer_message(carol, widget, client_id="c1", text="My address is …")
    other = Customer.objects.create(name="Dave")
    messages.customer_message(other, widget, client_id="d1", text="Hello")
    counts = privacy.erase_customer(carol)
    assert counts["webhook_deliveries"] >= 2
    assert {json.loads(row.body)["data"]["conversation_id"] for row in Delivery.objects.all()} == {
        str(other.conversations.get().id)
    }

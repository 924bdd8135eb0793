"""Hardening (issue 18): oversized frames are never parsed (item 2), one failing sweep job or item stops
nothing else (item 3), anonymous visitors cannot create without limit (item 4), and the customer panel
shows an agent only what their queues allow (item 8)."""

from __future__ import annotations

import json
import logging
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.utils import timezone

from conversations import protocol
from conversations.actions import lifecycle, messages, privacy, reading, sweep
from conversations.errors import ServiceError
from conversations.models import Connection, Conversation, Customer, State
from routing.models import Presence
from tests import factories
from tests.support import sockets

pytestmark = pytest.mark.django_db(transaction=True)
db = database_sync_to_async


async def connect_from(path: str, ip: str) -> sockets.Client:
    communicator = WebsocketCommunicator(sockets.socket_app(), path)
    communicator.scope["client"] = (ip, 50000)
    connected, _ = await communicator.connect()
    assert connected
    return sockets.Client(communicator)


async def visitor_from(widget, ip: str) -> sockets.Client:
    client = await connect_from(f"/ws/widget/{widget.public_id}/", ip)
    await client.send({"type": "hello"})
    await client.expect("welcome")
    return client


# --- item 2: an oversized frame is refused without being parsed -------------------------------------------


@pytest.mark.asyncio
async def test_an_oversized_frame_is_never_parsed_and_echoes_only_a_leading_req(settings, monkeypatch):
    settings.PARLEY_MAX_FRAME_BYTES = 1000
    widget = await db(factories.make_setup)()
    client, _ = await sockets.customer(widget)
    parsed_sizes = []
    real_loads = json.loads

    def loads(text, *args, **kwargs):
        parsed_sizes.append(len(text))
        return real_loads(text, *args, **kwargs)

    monkeypatch.setattr(protocol.json, "loads", loads)
    # ``req`` after the oversized text: it cannot be read without parsing the frame, so it is not echoed
    await client.send(json.dumps({"type": "send", "client_id": "late", "text": "x" * 2000, "req": "late"}))
    late = await client.expect("error")
    assert late["code"] == "too_large" and "req" not in late and late["client_id"] == "late"
    # ``req`` and ``client_id`` among the leading members are echoed (read from the first 512 characters)
    await client.send(json.dumps({"type": "send", "req": "early", "client_id": "c-early", "text": "x" * 2000}))
    early = await client.expect_req("early")
    assert early["code"] == "too_large" and early["client_id"] == "c-early"
    assert [size for size in parsed_sizes if size > 1000] == []
    await client.close()


def test_the_peek_reads_only_plain_leading_members():
    assert protocol._peek('{"type": "send", "req": "r1", "text": "' + "a" * 100000) == {"req": "r1"}
    assert protocol._peek('{"text": "a\\"b", "req": "r1"}') is None  # an escape ends the plain prefix
    assert protocol._peek('[{"req": "r1"},') is None
    assert protocol._peek('{"req": ' + "1" * 30 + ', "x": 1}') is None
    assert protocol._peek(" " * 600 + '{"req": "r1", "x": 1}') is None  # past the first 512 characters


# --- item 3: isolated sweep jobs and items ------------------------------------------------------------------


def test_one_failing_item_of_a_sweep_job_does_not_stop_the_others(monkeypatch, caplog):
    widget = factories.make_setup(auto_close=60)
    carol = Customer.objects.create()
    dave = Customer.objects.create()
    _m, first, _ = messages.customer_message(carol, widget, client_id="c1", text="hello")
    _m, second, _ = messages.customer_message(dave, widget, client_id="d1", text="hello")
    real_close = lifecycle.close_by_system

    def close(conversation_id, reason, **still):
        if conversation_id == first.id:
            raise TypeError("a broken notice template")
        return real_close(conversation_id, reason, **still)

    monkeypatch.setattr(sweep, "close_by_system", close)
    with caplog.at_level(logging.ERROR, logger="parley.timers"):
        done = sweep.sweep(timezone.now() + timedelta(minutes=5))
    assert done["inactive"] == 1
    assert Conversation.objects.get(pk=second.pk).state == State.CLOSED
    assert Conversation.objects.get(pk=first.pk).state == State.OPEN
    assert str(first.id) in caplog.text and "inactive" in caplog.text


def test_one_failing_sweep_job_does_not_stop_the_jobs_after_it(monkeypatch, settings, caplog):
    settings.PARLEY_RETENTION_DAYS = 1
    widget = factories.make_setup()
    agent = factories.make_agent(presence=Presence.AVAILABLE, queues=[widget.workstream.queue])
    carol = Customer.objects.create()
    _m, old, _ = messages.customer_message(carol, widget, client_id="c1", text="hello")
    lifecycle.end(agent, old.id)  # no wrap-up time: closed at once
    assert Conversation.objects.get(pk=old.pk).state == State.CLOSED
    Conversation.objects.filter(pk=old.pk).update(closed_at=timezone.now() - timedelta(days=3))

    def broken(now):
        raise RuntimeError("routing is broken")

    monkeypatch.setattr(sweep, "route_queued", broken)
    with caplog.at_level(logging.ERROR, logger="parley.timers"):
        done = sweep.sweep()
    assert done["routed"] == -1 and done["expired"] == 1  # retention ran after the failed job
    assert not Conversation.objects.filter(pk=old.pk).exists()
    assert "routed" in caplog.text


# --- item 4: anonymous visitors --------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_a_visitor_is_stored_with_their_first_message_not_on_hello():
    widget = await db(factories.make_setup)()
    first, welcome = await sockets.customer(widget)
    second, again = await sockets.customer(widget, visitor=welcome["visitor"])  # another tab, same visitor
    assert again["customer"]["id"] == welcome["customer"]["id"]
    for frame in ({"type": "sync", "after_seq": 0}, {"type": "history", "before_seq": 5}):
        answer = await first.request(frame)
        assert answer["messages"] == []
    await first.send({"type": "typing", "active": True})
    await first.nothing("error", timeout=0.2)
    assert await db(Customer.objects.count)() == 0  # hello, sync, history and typing store nobody

    ack = await first.request({"type": "send", "client_id": "c1", "text": "hello"})
    assert ack["type"] == "ack"
    customer_id = welcome["customer"]["id"]
    stored = await db(lambda: [str(pk) for pk in Customer.objects.values_list("id", flat=True)])()
    assert stored == [customer_id]
    # both tabs' registry rows name the visitor now (an away check would otherwise miss the second tab)
    owners = await db(lambda: list(Connection.objects.values_list("customer_id", flat=True)))()
    assert [str(owner) for owner in owners] == [customer_id, customer_id]
    assert (await second.expect("message"))["message"]["text"] == "hello"
    for client in (first, second):
        await client.close()


@pytest.mark.asyncio
async def test_silent_visitors_create_no_rows(settings):
    widget = await db(factories.make_setup)()
    clients = [(await sockets.customer(widget))[0] for _ in range(5)]
    assert await db(Customer.objects.count)() == 0
    assert await db(Conversation.objects.count)() == 0
    for client in clients:
        await client.close()


@pytest.mark.asyncio
async def test_new_conversations_are_limited_per_address(settings):
    settings.PARLEY_NEW_CONVERSATIONS_PER_IP_HOUR = 2
    widget = await db(factories.make_setup)()
    clients = []
    for n in range(2):
        client = await visitor_from(widget, "203.0.113.20")
        assert (await client.request({"type": "send", "client_id": f"c{n}", "text": "hi"}))["type"] == "ack"
        clients.append(client)
    third = await visitor_from(widget, "203.0.113.20")
    refused = await third.request({"type": "send", "client_id": "c3", "text": "hi"})
    assert refused["code"] == "rate_limited" and refused["client_id"] == "c3"
    # a conversation already started goes on; another address starts its own
    assert (await clients[0].request({"type": "send", "client_id": "c0b", "text": "more"}))["type"] == "ack"
    elsewhere = await visitor_from(widget, "198.51.100.20")
    assert (await elsewhere.request({"type": "send", "client_id": "e1", "text": "hi"}))["type"] == "ack"
    assert await db(Conversation.objects.count)() == 3
    for client in (*clients, third, elsewhere):
        await client.close()


@pytest.mark.asyncio
async def test_new_conversations_are_limited_per_widget(settings):
    settings.PARLEY_NEW_CONVERSATIONS_PER_WIDGET_HOUR = 1
    widget = await db(factories.make_setup)()
    first = await visitor_from(widget, "203.0.113.30")
    assert (await first.request({"type": "send", "client_id": "c1", "text": "hi"}))["type"] == "ack"
    second = await visitor_from(widget, "198.51.100.30")
    assert (await second.request({"type": "send", "client_id": "c2", "text": "hi"}))["code"] == "rate_limited"
    assert await db(Conversation.objects.count)() == 1
    for client in (first, second):
        await client.close()


@pytest.mark.asyncio
async def test_every_frame_kind_is_under_a_token_bucket(settings):
    settings.PARLEY_FRAME_RATE = 0.001
    settings.PARLEY_FRAME_BURST = 3
    widget = await db(factories.make_setup)()
    client, _ = await sockets.customer(widget)  # hello is the first frame of the bucket
    answers = [await client.request({"type": "sync", "after_seq": 0}) for _ in range(3)]
    assert [a["type"] for a in answers] == ["sync", "sync", "error"]
    assert answers[2]["code"] == "rate_limited"
    assert (await client.request({"type": "history", "before_seq": 1}))["code"] == "rate_limited"
    await client.send("not json")
    assert (await client.expect("error"))["code"] == "rate_limited"
    # messages have their own bucket (PARLEY_SEND_RATE): a visitor who reads too fast may still write
    assert (await client.request({"type": "send", "client_id": "c1", "text": "hi"}))["type"] == "ack"
    await client.close()


def test_anonymous_visitors_without_conversations_expire(settings):
    settings.PARLEY_VISITOR_IDLE_SECONDS = 3600
    widget = factories.make_setup()
    auth = factories.make_auth_setting()
    long_ago = timezone.now() - timedelta(hours=2)
    idle = Customer.objects.create(last_seen_at=long_ago)
    recent = Customer.objects.create()
    talking = Customer.objects.create()
    messages.customer_message(talking, widget, client_id="c1", text="hi")
    Customer.objects.filter(pk=talking.pk).update(last_seen_at=long_ago)
    signed_in = Customer.objects.create(authentication=auth, subject="s-1", last_seen_at=long_ago)
    connected = Customer.objects.create(last_seen_at=long_ago)
    Connection.objects.create(channel_name="c-socket", kind=Connection.Kind.CUSTOMER, customer=connected)

    assert sweep.sweep()["visitors"] == 1
    assert set(Customer.objects.values_list("pk", flat=True)) == {recent.pk, talking.pk, signed_in.pk, connected.pk}
    assert not Customer.objects.filter(pk=idle.pk).exists()
    settings.PARLEY_VISITOR_IDLE_SECONDS = 0
    Customer.objects.create(last_seen_at=long_ago)
    assert privacy.expire_idle_visitors() == 0


# --- item 8: the customer panel ---------------------------------------------------------------------------


def test_the_customer_panel_shows_only_conversations_in_the_agents_queues():
    auth = factories.make_auth_setting()
    sales = factories.make_setup(persistent=True, auth=auth)
    support = factories.make_setup(persistent=True, auth=auth)
    alice = factories.make_agent("alice", presence=Presence.AVAILABLE, queues=[sales.workstream.queue])
    bob = factories.make_agent("bob", presence=Presence.AVAILABLE, queues=[support.workstream.queue])
    carol = Customer.objects.create(authentication=auth, subject="carol", name="Carol")
    _m, mine, _ = messages.customer_message(carol, sales, client_id="c1", text="about my order")
    _m, theirs, _ = messages.customer_message(carol, support, client_id="c2", text="about my account")
    assert Conversation.objects.get(pk=theirs.pk).agent_id == bob.pk
    lifecycle.end(alice, mine.id)
    _m, current, _ = messages.customer_message(carol, sales, client_id="c3", text="again")

    panel = reading.customer_panel(alice, current.id)
    assert [c["id"] for c in panel["earlier_conversations"]] == [str(mine.id)]
    assert "Bob" not in json.dumps(panel)
    with pytest.raises(ServiceError) as refused:
        reading.earlier_conversation(alice, current.id, theirs.id)
    assert refused.value.code == "not_found"
    assert reading.earlier_conversation(alice, current.id, mine.id)["conversation"]["id"] == str(mine.id)
    # bob sees the sales conversations no more than alice sees his
    assert reading.customer_panel(bob, theirs.id)["earlier_conversations"] == []

"""The agent socket and the persistent-chat life cycle (../PROTOCOL.md "Agent socket")."""

from __future__ import annotations

import asyncio

import pytest
from channels.db import database_sync_to_async
from django.contrib.auth import get_user_model

from conversations.models import Conversation, ConversationEvent
from routing.models import AgentProfile, Presence
from tests import factories
from tests.support import sockets
from tests.support.tokens import customer_token, make_key_pair

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]
db = database_sync_to_async


def token_for(sub):
    return customer_token(make_key_pair()[0], sub, name=sub.title())


async def persistent_with_agent(**kw):
    widget = await db(factories.make_setup)(persistent=True, **kw)
    queue = await db(lambda: widget.workstream.queue)()
    profile = await db(factories.make_agent)(presence=Presence.AVAILABLE, queues=[queue])
    return widget, profile


async def test_handshake_refused_for_anonymous_non_agents_and_foreign_origin():
    connected, _ = await sockets.connect("/ws/agent/")
    assert not connected
    user = await db(get_user_model().objects.create_user)("visitor", password="x")
    connected, _ = await sockets.connect("/ws/agent/", user=user)
    assert not connected
    profile = await db(factories.make_agent)()
    agent_user = await db(lambda: profile.user)()
    connected, _ = await sockets.connect("/ws/agent/", user=agent_user, headers=[(b"origin", b"https://evil.test")])
    assert not connected


async def test_welcome_and_presence_kept_across_reload():
    profile = await db(factories.make_agent)("zoe", capacity=80)
    client, welcome = await sockets.agent(profile)
    assert welcome["agent"] == {
        "id": str(profile.id),
        "username": "zoe",
        "name": "Zoe",
        "presence": "offline",
        "capacity": {"total": 80, "used": 0},
    }
    assert welcome["conversations"] == [] and welcome["queue"] == []
    assert (await client.request({"type": "presence", "status": "busy"}))["type"] == "ok"
    bad = await client.request({"type": "presence", "status": "asleep"})
    assert bad["code"] == "bad_request"
    await client.close()
    client, welcome = await sockets.agent(profile)
    assert welcome["agent"]["presence"] == "busy"
    await client.close()


async def test_persistent_life_cycle_set_aside_return_resume_end():
    widget, profile = await persistent_with_agent(capacity_units=40)
    agent, _ = await sockets.agent(profile)
    customer, _ = await sockets.customer(widget, token=token_for("dana"))
    await customer.request({"type": "send", "client_id": "c1", "text": "My parcel is late"})
    conversation_id = (await agent.expect("assigned"))["conversation"]["id"]
    assert (await agent.expect("capacity"))["used"] == 40

    # the ✖: to waiting, capacity freed, the customer keeps the conversation
    assert (await agent.request({"type": "set_waiting", "conversation_id": conversation_id}))["type"] == "ok"
    assert (await agent.expect("capacity"))["used"] == 0
    await customer.expect("state", state="waiting")
    refused = await agent.request({"type": "send", "conversation_id": conversation_id, "client_id": "a", "text": "x"})
    assert refused["code"] == "not_allowed"

    # the customer leaves; the agent goes offline; the customer comes back days later
    await customer.close()
    await agent.close()
    customer, welcome = await sockets.customer(widget, token=token_for("dana"))
    assert welcome["conversation"]["state"] == "waiting"
    await customer.request({"type": "send", "client_id": "c2", "text": "Any news?"})
    agent, welcome = await sockets.agent(profile)
    [summary] = welcome["conversations"]
    assert summary["id"] == conversation_id and summary["customer_returned"] is True

    # merely connecting again (loading a page of the site) is not news; a message is, at once
    await customer.close()
    customer, _ = await sockets.customer(widget, token=token_for("dana"))
    await agent.nothing("customer_returned")
    await customer.request({"type": "send", "client_id": "c3", "text": "Hello again"})
    assert (await agent.expect("customer_returned"))["conversation_id"] == conversation_id

    assert (await agent.request({"type": "resume", "conversation_id": conversation_id}))["type"] == "ok"
    assert (await agent.expect("capacity"))["used"] == 40
    await customer.expect("state", state="active")
    await agent.request({"type": "send", "conversation_id": conversation_id, "client_id": "a2", "text": "Shipped!"})
    message = await customer.expect("message")
    if message["message"]["text"] == "Any news?":
        # Redis pub/sub may hand the news of "Any news?" to this socket, which joined just after it was
        # stored: a repeat of what welcome already held (same seq), which clients ignore.
        assert message["message"]["seq"] == 2
        message = await customer.expect("message")
    assert message["message"]["text"] == "Shipped!"
    assert (await agent.request({"type": "end", "conversation_id": conversation_id}))["type"] == "ok"
    await customer.expect("state", state="closed")
    await customer.expect("notice", code="conversation_ended")
    states = await db(
        lambda: list(
            ConversationEvent.objects.filter(conversation_id=conversation_id).values_list("to_state", flat=True)
        )
    )()
    assert states == ["open", "active", "waiting", "active", "closed"]
    await agent.close()
    await customer.close()


async def test_resume_allowed_past_capacity_and_wrap_up_holds_capacity():
    widget, profile = await persistent_with_agent(capacity_units=60, wrap_up_seconds=300)
    agent, _ = await sockets.agent(profile)
    first, _ = await sockets.customer(widget, token=token_for("one"))
    await first.request({"type": "send", "client_id": "1", "text": "one"})
    first_id = (await agent.expect("assigned"))["conversation"]["id"]
    await agent.request({"type": "set_waiting", "conversation_id": first_id})
    second, _ = await sockets.customer(widget, token=token_for("two"))
    await second.request({"type": "send", "client_id": "1", "text": "two"})
    second_id = (await agent.expect("assigned"))["conversation"]["id"]
    # 60 used of 100: resuming the first goes past capacity, and is allowed
    assert (await agent.request({"type": "resume", "conversation_id": first_id}))["type"] == "ok"
    assert await db(lambda: AgentProfile.objects.get(pk=profile.pk).used_capacity)() == 120
    assert (await agent.request({"type": "end", "conversation_id": second_id}))["type"] == "ok"
    await second.expect("state", state="wrap_up")
    assert await db(lambda: AgentProfile.objects.get(pk=profile.pk).used_capacity)() == 120
    assert (await agent.request({"type": "close", "conversation_id": second_id}))["type"] == "ok"
    assert await db(lambda: AgentProfile.objects.get(pk=profile.pk).used_capacity)() == 60
    again = await agent.request({"type": "close", "conversation_id": second_id})
    assert again["code"] == "not_allowed"
    for client in (agent, first, second):
        await client.close()


async def test_other_agents_conversations_are_not_allowed_and_unknown_ids_not_found():
    widget, owner = await persistent_with_agent()
    other = await db(factories.make_agent)("mallory")
    owner_socket, _ = await sockets.agent(owner)
    intruder, _ = await sockets.agent(other)
    customer, _ = await sockets.customer(widget, token=token_for("c"))
    await customer.request({"type": "send", "client_id": "1", "text": "private"})
    conversation_id = (await owner_socket.expect("assigned"))["conversation"]["id"]
    for frame in (
        {"type": "open"},
        {"type": "send", "client_id": "x", "text": "hi"},
        {"type": "set_waiting"},
        {"type": "resume"},
        {"type": "end"},
        {"type": "close"},
        {"type": "typing", "active": True},
        {"type": "sync", "after_seq": 0},
        {"type": "history", "before_seq": 5, "limit": 5},
    ):
        answer = await intruder.request({**frame, "conversation_id": conversation_id})
        assert answer["code"] == "not_allowed", (frame, answer)
        missing = await intruder.request({**frame, "conversation_id": "00000000-0000-0000-0000-000000000000"})
        assert missing["code"] == "not_found", (frame, missing)
        garbage = await intruder.request({**frame, "conversation_id": "../../etc"})
        assert garbage["code"] == "not_found", (frame, garbage)
    assert await db(lambda: Conversation.objects.get(pk=conversation_id).state)() == "active"
    for client in (owner_socket, intruder, customer):
        await client.close()


async def test_open_returns_summary_with_latest_messages():
    widget, profile = await persistent_with_agent()
    agent, _ = await sockets.agent(profile)
    customer, _ = await sockets.customer(widget, token=token_for("o"))
    await customer.request({"type": "send", "client_id": "1", "text": "first"})
    conversation_id = (await agent.expect("assigned"))["conversation"]["id"]
    opened = await agent.request({"type": "open", "conversation_id": conversation_id})
    conversation = opened["conversation"]
    assert conversation["id"] == conversation_id and conversation["mode"] == "persistent"
    assert [m["text"] for m in conversation["messages"]] == ["first"] and conversation["has_more"] is False
    assert conversation["customer"]["name"] == "O"
    for client in (agent, customer):
        await client.close()


async def test_pick_mode_queue_updates_and_exactly_one_pick_wins():
    widget = await db(factories.make_setup)(distribution="pick")
    queue = await db(lambda: widget.workstream.queue)()
    first = await db(factories.make_agent)("p1", presence=Presence.AVAILABLE, queues=[queue])
    second = await db(factories.make_agent)("p2", presence=Presence.AVAILABLE, queues=[queue])
    one, _ = await sockets.agent(first)
    two, _ = await sockets.agent(second)
    customer, _ = await sockets.customer(widget)
    await customer.request({"type": "send", "client_id": "1", "text": "pick me"})
    items = (await one.expect("queue"))["items"]
    assert len(items) == 1 and items[0]["state"] == "open"
    await two.expect("queue")
    conversation_id = items[0]["id"]
    await one.send({"type": "pick", "conversation_id": conversation_id, "req": "a"})
    await two.send({"type": "pick", "conversation_id": conversation_id, "req": "b"})
    answers = [await one.expect_req("a"), await two.expect_req("b")]
    assert sorted(a["type"] if a["type"] == "ok" else a["code"] for a in answers) == ["already_assigned", "ok"]
    assert (await one.expect("queue"))["items"] == []
    assert await db(lambda: Conversation.objects.get(pk=conversation_id).state)() == "active"
    for client in (one, two, customer):
        await client.close()


async def test_pick_without_capacity_is_refused():
    widget = await db(factories.make_setup)(distribution="pick", capacity_units=70)
    queue = await db(lambda: widget.workstream.queue)()
    small = await db(factories.make_agent)("small", capacity=50, presence=Presence.AVAILABLE, queues=[queue])
    agent, _ = await sockets.agent(small)
    customer, _ = await sockets.customer(widget)
    await customer.request({"type": "send", "client_id": "1", "text": "hi"})
    conversation_id = (await agent.expect("queue"))["items"][0]["id"]
    assert (await agent.request({"type": "pick", "conversation_id": conversation_id}))["code"] == "no_capacity"
    for client in (agent, customer):
        await client.close()


async def test_concurrent_customer_and_agent_sends_keep_seq_gapless():
    widget, profile = await persistent_with_agent()
    agent, _ = await sockets.agent(profile)
    phone, _ = await sockets.customer(widget, token=token_for("multi"))
    await phone.request({"type": "send", "client_id": "start", "text": "start"})
    conversation_id = (await agent.expect("assigned"))["conversation"]["id"]
    laptop, _ = await sockets.customer(widget, token=token_for("multi"))

    async def burst(client, prefix, extra, count=10):
        for i in range(count):
            await client.send({"type": "send", "client_id": f"{prefix}{i}", "text": f"{prefix} {i}", **extra})

    await asyncio.gather(
        burst(phone, "p", {}), burst(laptop, "l", {}), burst(agent, "a", {"conversation_id": conversation_id})
    )
    first_acks = {}
    for client, prefix in ((phone, "p"), (laptop, "l"), (agent, "a")):
        for i in range(10):
            ack = await client.expect("ack", client_id=f"{prefix}{i}", timeout=10)
            first_acks[ack["client_id"]] = ack["message"]
    # both of the customer's devices resend the phone's messages at once (stored together, with SQLite in one
    # transaction): each answer is the message stored the first time, and nothing is stored twice
    await asyncio.gather(burst(phone, "p", {}, 5), burst(laptop, "p", {}, 5))
    for client in (phone, laptop):
        for i in range(5):
            assert (await client.expect("ack", client_id=f"p{i}", timeout=10))["message"] == first_acks[f"p{i}"]
    seqs = await db(
        lambda: list(
            Conversation.objects.get(pk=conversation_id).messages.order_by("seq").values_list("seq", flat=True)
        )
    )()
    assert seqs == list(range(1, 32))
    for client in (agent, phone, laptop):
        await client.close()


async def test_every_customer_message_reaches_the_assigned_agent_once():
    """The first message opens the conversation; the later ones take the one-statement path
    (conversations/storage.py), which must report the conversation's agent, state and seq right."""
    widget, profile = await persistent_with_agent()
    agent, _ = await sockets.agent(profile)
    customer, _ = await sockets.customer(widget, token=token_for("erin"))
    await customer.request({"type": "send", "client_id": "e1", "text": "one"})
    conversation_id = (await agent.expect("assigned"))["conversation"]["id"]
    for n in (2, 3):
        ack = await customer.request({"type": "send", "client_id": f"e{n}", "text": f"text {n}"})
        assert ack["message"]["seq"] == n and ack["message"]["conversation_id"] == conversation_id
        news = await agent.expect("message")
        assert news["message"] == ack["message"]
    again = await customer.request({"type": "send", "client_id": "e2", "text": "text 2"})
    assert again["type"] == "ack" and again["message"]["seq"] == 2
    await agent.nothing("message")
    reply = {"type": "send", "conversation_id": conversation_id, "client_id": "r1", "text": "reply"}
    ack = await agent.request(reply)
    assert ack["message"]["seq"] == 4 and ack["message"]["sender"]["role"] == "agent"
    assert (await customer.expect("message"))["message"] == ack["message"]
    assert (await agent.request(reply))["message"] == ack["message"]
    await customer.nothing("message")
    conversation = await db(Conversation.objects.get)(pk=conversation_id)
    assert (conversation.state, conversation.agent_id, conversation.last_seq) == ("active", profile.id, 4)
    assert conversation.last_message_at > conversation.last_customer_message_at
    for client in (agent, customer):
        await client.close()

"""The supervisor socket ``/ws/supervisor/`` (../shared/PROTOCOL.md "Supervisor socket")."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from django.contrib.auth import get_user_model

from conversations.actions import lifecycle, messages
from conversations.consumers import supervisor as supervisor_socket
from conversations.models import Conversation, Customer
from routing.models import AgentProfile, Presence
from tests import factories
from tests.supervisors.support import make_supervisor
from tests.support import sockets

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]
db = database_sync_to_async


@pytest.fixture(autouse=True)
def _fast_rounds(settings):
    settings.PARLEY_SUPERVISOR_STATS_INTERVAL = 0.05


async def supervise(user) -> tuple[sockets.Client, dict]:
    connected, client = await sockets.connect("/ws/supervisor/", user=user)
    assert connected, "supervisor socket refused"
    return client, await client.expect("welcome")


def start_conversation(widget, name="Casey", text="hello"):
    customer = Customer.objects.create(name=name)
    _message, conversation, _ = messages.customer_message(customer, widget, client_id="c1", text=text)
    return conversation


async def test_plain_agents_anonymous_users_and_foreign_origins_are_refused():
    connected, _ = await sockets.connect("/ws/supervisor/")
    assert not connected
    agent = await db(factories.make_agent)("alice")
    connected, _ = await sockets.connect("/ws/supervisor/", user=await db(lambda: agent.user)())
    assert not connected
    sam = await db(make_supervisor)("sam")
    connected, _ = await sockets.connect("/ws/supervisor/", user=sam, headers=[(b"origin", b"https://evil.test")])
    assert not connected


async def test_superusers_and_supervisors_without_an_agent_profile_are_welcome():
    ada = await db(get_user_model().objects.create_superuser)("ada", password="pw-ada")
    client, welcome = await supervise(ada)
    assert welcome["supervisor"]["username"] == "ada"
    await client.close()
    sam = await db(make_supervisor)("sam")
    client, welcome = await supervise(sam)
    assert welcome["supervisor"] == {"id": str(sam.pk), "username": "sam", "name": "sam"}
    await client.close()


async def test_welcome_holds_queue_and_agent_statistics():
    widget = await db(factories.make_setup)(capacity_units=40)
    queue = await db(lambda: widget.workstream.queue)()
    alice = await db(factories.make_agent)("alice", presence=Presence.AVAILABLE, queues=[queue], capacity=100)
    await db(factories.make_agent)("bob", presence=Presence.BUSY, queues=[queue])
    await db(factories.make_agent)("carl", presence=Presence.OFFLINE, queues=[queue])
    await db(start_conversation)(widget, "One")  # routed to alice
    await db(start_conversation)(widget, "Two")  # routed to alice
    await db(start_conversation)(widget, "Three")  # alice is full: waits
    client, welcome = await supervise(await db(make_supervisor)())
    [queue_stats] = [q for q in welcome["queues"] if q["id"] == str(queue.pk)]
    assert queue_stats == {
        "id": str(queue.pk),
        "name": queue.name,
        "open": 1,
        "longest_wait_seconds": queue_stats["longest_wait_seconds"],
        "active": 2,
        "waiting": 0,
        "agents_available": 1,
        "agents_online": 2,
    }
    assert 0 <= queue_stats["longest_wait_seconds"] < 5
    by_name = {agent["name"]: agent for agent in welcome["agents"]}
    assert by_name["Alice"] == {
        "id": str(alice.pk),
        "name": "Alice",
        "presence": "available",
        "capacity": {"total": 100, "used": 80},
        "active": 2,
        "waiting": 0,
        "offered": 0,
    }
    assert by_name["Bob"]["presence"] == "busy" and by_name["Carl"]["active"] == 0
    await client.close()


async def test_a_new_customer_sends_stats_to_every_supervisor_from_one_computation():
    widget = await db(factories.make_setup)()
    queue = await db(lambda: widget.workstream.queue)()
    first, _ = await supervise(await db(make_supervisor)("sam"))
    second, _ = await supervise(await db(make_supervisor)("sue"))
    hub = supervisor_socket.hub()
    rounds_before = hub.rounds
    await db(start_conversation)(widget)
    stats = await first.expect("stats")
    assert [q["open"] for q in stats["queues"] if q["id"] == str(queue.pk)] == [1]
    assert await second.expect("stats") == stats
    assert hub.rounds - rounds_before == 1  # one round for both sockets
    await first.nothing("stats", timeout=0.3)  # nothing changed since: no frame
    await first.close()
    await second.close()


async def test_set_presence_changes_another_agents_presence_and_tells_them():
    widget = await db(factories.make_setup)()
    queue = await db(lambda: widget.workstream.queue)()
    alice = await db(factories.make_agent)("alice", presence=Presence.AVAILABLE, queues=[queue])
    workspace, _ = await sockets.agent(alice)
    client, _ = await supervise(await db(make_supervisor)("sam"))
    answer = await client.request({"type": "set_presence", "agent_id": str(alice.pk), "status": "away"})
    assert answer["type"] == "ok"
    told = await workspace.expect("presence")
    assert told["status"] == "away" and told["by"] == {"name": "sam"}
    assert (await db(AgentProfile.objects.get)(pk=alice.pk)).presence == "away"
    stats = await client.expect("stats")
    assert [a["presence"] for a in stats["agents"] if a["id"] == str(alice.pk)] == ["away"]
    await workspace.close()
    await client.close()


async def test_set_presence_refuses_bad_status_and_unknown_agents():
    alice = await db(factories.make_agent)("alice", presence=Presence.AVAILABLE)
    client, _ = await supervise(await db(make_supervisor)("sam"))
    bad = await client.request({"type": "set_presence", "agent_id": str(alice.pk), "status": "asleep"})
    assert bad["code"] == "bad_request"
    missing = await client.request({"type": "set_presence", "agent_id": "999999", "status": "away"})
    assert missing["code"] == "not_found"
    untyped = await client.request({"type": "set_presence", "agent_id": None, "status": "away"})
    assert untyped["code"] == "bad_request"
    assert (await db(AgentProfile.objects.get)(pk=alice.pk)).presence == "available"
    await client.close()


async def test_a_supervisor_whose_permission_was_taken_away_cannot_act():
    alice = await db(factories.make_agent)("alice", presence=Presence.AVAILABLE)
    sam = await db(make_supervisor)("sam")
    client, _ = await supervise(sam)
    await db(lambda: sam.groups.clear())()
    refused = await client.request({"type": "set_presence", "agent_id": str(alice.pk), "status": "away"})
    assert refused["code"] == "not_allowed"
    assert (await db(AgentProfile.objects.get)(pk=alice.pk)).presence == "available"
    await client.close()


async def test_watch_streams_a_conversation_read_only_until_unwatch():
    widget = await db(factories.make_setup)()
    queue = await db(lambda: widget.workstream.queue)()
    alice = await db(factories.make_agent)("alice", presence=Presence.AVAILABLE, queues=[queue])
    workspace, _ = await sockets.agent(alice)
    customer, _ = await sockets.customer(widget, origin="https://shop.example.com")
    await customer.request({"type": "send", "client_id": "c1", "text": "Where is my parcel?"})
    conversation_id = (await workspace.expect("assigned"))["conversation"]["id"]
    client, _ = await supervise(await db(make_supervisor)("sam"))

    answer = await client.request({"type": "watch", "conversation_id": conversation_id})
    assert answer["type"] == "conversation"
    assert answer["conversation"]["id"] == conversation_id
    assert answer["conversation"]["agent"]["name"] == "Alice"
    assert answer["conversation"]["queue"] == {"id": str(queue.pk), "name": queue.name}
    assert [m["text"] for m in answer["conversation"]["messages"]] == ["Where is my parcel?"]

    await workspace.request({"type": "send", "conversation_id": conversation_id, "client_id": "a1", "text": "Hi!"})
    assert (await client.expect("message"))["message"]["text"] == "Hi!"
    await customer.request({"type": "send", "client_id": "c2", "text": "Thanks"})
    assert (await client.expect("message"))["message"]["text"] == "Thanks"

    assert (await client.request({"type": "unwatch", "conversation_id": conversation_id}))["type"] == "ok"
    await customer.request({"type": "send", "client_id": "c3", "text": "Bye"})
    await workspace.expect("message")
    await client.nothing("message", timeout=0.3)
    for socket in (workspace, customer, client):
        await socket.close()


async def test_watch_refuses_unknown_conversations_and_bad_frames():
    client, _ = await supervise(await db(make_supervisor)("sam"))
    missing = await client.request({"type": "watch", "conversation_id": "00000000-0000-0000-0000-000000000000"})
    assert missing["code"] == "not_found"
    assert (await client.request({"type": "watch"}))["code"] == "bad_request"
    assert (await client.request({"type": "send", "text": "x"}))["code"] == "bad_request"
    await client.close()


async def supervised_conversation(*, bob_capacity=100):
    """Alice has Carol's conversation; Bob is online in the same queue."""
    widget = await db(factories.make_setup)(capacity_units=40)
    queue = await db(lambda: widget.workstream.queue)()
    alice = await db(factories.make_agent)("alice", presence=Presence.AVAILABLE, queues=[queue])
    bob = await db(factories.make_agent)("bob", presence=Presence.BUSY, queues=[queue], capacity=bob_capacity)
    conversation = await db(start_conversation)(widget, "Carol")
    client, _ = await supervise(await db(make_supervisor)("sam"))
    return widget, queue, alice, bob, conversation, client


async def test_transfer_moves_any_conversation_to_another_agent():
    _widget, _queue, alice, bob, conversation, client = await supervised_conversation()
    alice_ws, _ = await sockets.agent(alice)
    bob_ws, _ = await sockets.agent(bob)
    answer = await client.request(
        {"type": "transfer", "conversation_id": str(conversation.pk), "to": {"agent_id": str(bob.pk)}}
    )
    assert answer["type"] == "ok"
    assert (await alice_ws.expect("unassigned"))["conversation_id"] == str(conversation.pk)
    assigned = await bob_ws.expect("assigned")
    assert assigned["conversation"]["agent"]["name"] == "Bob"
    moved = await db(Conversation.objects.get)(pk=conversation.pk)
    assert moved.agent_id == bob.pk and moved.state == "active"
    assert [a.used_capacity for a in await db(lambda: list(AgentProfile.objects.order_by("pk")))()] == [0, 40]
    for socket in (alice_ws, bob_ws, client):
        await socket.close()


async def test_transfer_to_a_full_agent_is_refused_and_changes_nothing():
    _widget, _queue, alice, bob, conversation, client = await supervised_conversation(bob_capacity=30)
    refused = await client.request(
        {"type": "transfer", "conversation_id": str(conversation.pk), "to": {"agent_id": str(bob.pk)}}
    )
    assert refused["code"] == "no_capacity"
    kept = await db(Conversation.objects.get)(pk=conversation.pk)
    assert kept.agent_id == alice.pk and kept.state == "active"
    assert (await db(AgentProfile.objects.get)(pk=alice.pk)).used_capacity == 40
    await client.close()


async def test_a_supervisor_assigns_a_queued_conversation_to_an_agent():
    widget = await db(factories.make_setup)(capacity_units=40)
    queue = await db(lambda: widget.workstream.queue)()
    bob = await db(factories.make_agent)("bob", presence=Presence.BUSY, queues=[queue])
    conversation = await db(start_conversation)(widget, "Carol")  # nobody available: it waits
    assert conversation.state == "open"
    client, _ = await supervise(await db(make_supervisor)("sam"))
    answer = await client.request(
        {"type": "transfer", "conversation_id": str(conversation.pk), "to": {"agent_id": str(bob.pk)}}
    )
    assert answer["type"] == "ok"
    assigned = await db(Conversation.objects.get)(pk=conversation.pk)
    assert assigned.state == "active" and assigned.agent_id == bob.pk
    await client.close()


async def test_transfer_refuses_closed_conversations_and_bad_targets():
    _widget, queue, alice, _bob, conversation, client = await supervised_conversation()
    bad = await client.request({"type": "transfer", "conversation_id": str(conversation.pk), "to": "bob"})
    assert bad["code"] == "bad_request"
    missing = await client.request(
        {"type": "transfer", "conversation_id": str(conversation.pk), "to": {"agent_id": "999999"}}
    )
    assert missing["code"] == "not_found"
    await db(lifecycle.end)(alice, conversation.pk)
    closed = await client.request(
        {"type": "transfer", "conversation_id": str(conversation.pk), "to": {"queue_id": str(queue.pk)}}
    )
    assert closed["code"] == "not_allowed"
    await client.close()

"""Transfers to an agent or a queue, their refusals, and live conversations going back to their queue when
their agent went offline (../shared/PROTOCOL.md "Agent socket, additions", "Routing, additions")."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from conversations.actions import sweep
from conversations.models import Conversation, ConversationEvent, Note
from routing.models import AgentProfile, Presence, Queue
from tests import factories
from tests.support import sockets

from .support import db, scene

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


def used(agent) -> int:
    return AgentProfile.objects.get(pk=agent.pk).used_capacity


async def snapshot(conversation_id):
    def read():
        c = Conversation.objects.get(pk=conversation_id)
        capacities = list(AgentProfile.objects.values_list("pk", "used_capacity").order_by("pk"))
        return c.state, c.agent_id, c.queue_id, capacities, Note.objects.count()

    return await db(read)()


async def test_transfer_to_an_agent_with_a_note_moves_the_conversation_capacity_and_pin():
    s = await scene(capacity_units=40)
    assert await db(used)(s.alice) == 40
    answer = await s.alice_socket.request(
        {
            "type": "transfer",
            "conversation_id": s.conversation_id,
            "to": {"agent_id": str(s.bob.id)},
            "note": "Wants a refund, order 1234",
        }
    )
    assert answer["type"] == "ok"
    assert (await s.alice_socket.expect("unassigned"))["conversation_id"] == s.conversation_id
    await s.alice_socket.expect("capacity", used=0)
    assigned = await s.bob_socket.expect("assigned")
    assert assigned["transferred_from"] == {"id": str(s.alice.id), "name": "Alice"}
    assert assigned["conversation"]["agent"] == {"id": str(s.bob.id), "name": "Bob"}
    assert assigned["conversation"]["state"] == "active"
    await s.bob_socket.expect("capacity", used=40)
    state = await s.customer.expect("state", state="active")
    assert state["agent"] == {"name": "Bob"}
    notice = await s.customer.expect("notice", code="transferred")
    assert notice["text"] and notice["data"] == {"agent": "Bob"}
    assert await db(used)(s.alice) == 0 and await db(used)(s.bob) == 40

    # the note waits for bob in the conversation; the customer never sees it
    opened = await s.bob_socket.request({"type": "open", "conversation_id": s.conversation_id})
    [note] = opened["conversation"]["notes"]
    assert note["text"] == "Wants a refund, order 1234" and note["author"]["name"] == "Alice"
    await s.customer.nothing("note")

    # logged with both agents
    event = await db(lambda: ConversationEvent.objects.filter(conversation_id=s.conversation_id).last())()
    assert "Alice" in event.reason and "Bob" in event.reason and event.actor_name == "Alice"

    # bob answers; alice may no longer write; the "same agent" pin is bob's now
    answer = await s.bob_socket.request(
        {"type": "send", "conversation_id": s.conversation_id, "client_id": "b1", "text": "Hi, I am Bob"}
    )
    assert answer["type"] == "ack"
    assert (await s.customer.expect("message"))["message"]["sender"]["name"] == "Bob"
    refused = await s.alice_socket.request(
        {"type": "send", "conversation_id": s.conversation_id, "client_id": "a9", "text": "still here?"}
    )
    assert refused["code"] == "not_allowed"
    await s.bob_socket.request({"type": "set_waiting", "conversation_id": s.conversation_id})
    await s.customer.request({"type": "send", "client_id": "c2", "text": "Back again"})
    await s.bob_socket.expect("customer_returned", conversation_id=s.conversation_id)
    await s.alice_socket.nothing("customer_returned")
    await s.close()


async def test_transfer_from_waiting_makes_the_conversation_active_for_the_new_agent():
    s = await scene(capacity_units=30)
    await s.alice_socket.request({"type": "set_waiting", "conversation_id": s.conversation_id})
    answer = await s.alice_socket.request(
        {"type": "transfer", "conversation_id": s.conversation_id, "to": {"agent_id": str(s.bob.id)}}
    )
    assert answer["type"] == "ok"
    assert (await s.bob_socket.expect("assigned"))["conversation"]["state"] == "active"
    assert await db(used)(s.alice) == 0 and await db(used)(s.bob) == 30
    await s.close()


async def test_transfer_refusals_change_nothing():
    s = await scene(capacity_units=40)
    carol = await db(factories.make_agent)("carol", presence=Presence.OFFLINE)
    queue = await db(lambda: s.widget.workstream.queue)()
    await db(queue.members.add)(carol)
    full = await db(factories.make_agent)("frank", presence=Presence.AVAILABLE, capacity=30, queues=[queue])
    stranger = await db(factories.make_agent)("sam", presence=Presence.AVAILABLE)
    before = await snapshot(s.conversation_id)

    def transfer(to, **extra):
        return s.alice_socket.request({"type": "transfer", "conversation_id": s.conversation_id, "to": to, **extra})

    assert (await transfer({"agent_id": str(s.alice.id)}))["code"] == "not_allowed"  # oneself
    assert (await transfer({"agent_id": str(carol.id)}))["code"] == "unavailable"  # offline
    assert (await transfer({"agent_id": str(full.id)}))["code"] == "no_capacity"  # 30 free, needs 40
    assert (await transfer({"agent_id": str(stranger.id)}))["code"] == "not_allowed"  # not in the queue
    assert (await transfer({"agent_id": "999999"}))["code"] == "not_found"
    assert (await transfer({"queue_id": "999999"}))["code"] == "not_found"  # a queue outside the system
    assert (await transfer({"queue_id": "VIP"}))["code"] == "not_found"
    assert (await transfer({}))["code"] == "bad_request"
    assert (await transfer({"agent_id": str(s.bob.id), "queue_id": "1"}))["code"] == "bad_request"
    assert (await transfer("bob"))["code"] == "bad_request"
    assert (await transfer({"agent_id": str(s.bob.id)}, note="x" * 4001))["code"] == "too_large"
    assert (await transfer({"agent_id": str(s.bob.id)}, note=7))["code"] == "bad_request"
    # someone else's conversation
    bobs = await s.bob_socket.request(
        {"type": "transfer", "conversation_id": s.conversation_id, "to": {"agent_id": str(s.bob.id)}}
    )
    assert bobs["code"] == "not_allowed"
    assert await snapshot(s.conversation_id) == before
    await s.alice_socket.nothing("unassigned")
    await s.customer.nothing("notice")
    await s.close()


async def test_a_conversation_that_has_ended_is_not_transferred():
    s = await scene(wrap_up_seconds=60)
    await s.alice_socket.request({"type": "end", "conversation_id": s.conversation_id})
    refused = await s.alice_socket.request(
        {"type": "transfer", "conversation_id": s.conversation_id, "to": {"agent_id": str(s.bob.id)}}
    )
    assert refused["code"] == "not_allowed"
    await s.close()


async def test_transfer_to_a_queue_reopens_the_conversation_there_and_routing_assigns_it():
    s = await scene(capacity_units=40)
    vip = await db(Queue.objects.create)(name="VIP")
    victor = await db(factories.make_agent)("victor", presence=Presence.AVAILABLE, queues=[vip])
    answer = await s.alice_socket.request(
        {"type": "transfer", "conversation_id": s.conversation_id, "to": {"queue_id": str(vip.id)}, "note": "gold"}
    )
    assert answer["type"] == "ok"
    await s.alice_socket.expect("unassigned")
    opened = await s.customer.expect("state", state="open")
    assert opened["agent"] is None
    assert (await s.customer.expect("notice", code="transferred"))["data"] == {}
    victors, _ = await sockets.agent(victor)
    await s.customer.expect("state", state="active")
    conversation = await db(Conversation.objects.select_related("agent").get)(pk=s.conversation_id)
    assert conversation.queue_id == vip.id and conversation.agent_id == victor.id
    assert await db(used)(s.alice) == 0 and await db(used)(victor) == 40
    opened = await victors.request({"type": "open", "conversation_id": s.conversation_id})
    assert opened["conversation"]["queue"] == {"id": str(vip.id), "name": "VIP"}
    assert [n["text"] for n in opened["conversation"]["notes"]] == ["gold"]
    await victors.close()
    await s.close()


async def test_transfer_targets_list_queues_and_agents_not_offline_without_the_asker():
    s = await scene(capacity_units=40)
    await db(factories.make_agent)("olga", presence=Presence.OFFLINE)
    answer = await s.alice_socket.request({"type": "transfer_targets", "conversation_id": s.conversation_id})
    assert answer["type"] == "transfer_targets"
    queue = await db(lambda: s.widget.workstream.queue)()
    [listed] = [q for q in answer["queues"] if q["id"] == str(queue.id)]
    assert listed == {"id": str(queue.id), "name": queue.name, "open": True, "agents_available": 1}
    assert answer["agents"] == [
        {"id": str(s.bob.id), "name": "Bob", "presence": "busy", "free_capacity": 100, "member": True}
    ]
    refused = await s.bob_socket.request({"type": "transfer_targets", "conversation_id": s.conversation_id})
    assert refused["code"] == "not_allowed"
    await s.close()


async def test_a_live_conversation_whose_agent_went_offline_is_routed_again():
    s = await scene(persistent=False, capacity_units=40, bob_presence=Presence.AVAILABLE)
    await s.alice_socket.close()
    later = timezone.now() + timedelta(seconds=settings.PARLEY_PRESENCE_GRACE + 1)
    done = await db(sweep.sweep)(later)
    assert done["offline"] == 1 and done["requeued"] == 1
    state = await s.customer.expect("state", state="open")
    assert state["agent"] is None
    notice = await s.customer.expect("notice", code="agent_disconnected")
    assert notice["text"]
    assert (await s.bob_socket.expect("assigned"))["conversation"]["id"] == s.conversation_id
    await s.customer.expect("state", state="active")
    assert await db(used)(s.alice) == 0 and await db(used)(s.bob) == 40
    await s.bob_socket.close()
    await s.customer.close()


async def test_with_same_agent_the_conversation_stays_with_its_offline_agent():
    s = await scene(persistent=True, capacity_units=40, bob_presence=Presence.AVAILABLE)
    await s.alice_socket.close()
    later = timezone.now() + timedelta(seconds=settings.PARLEY_PRESENCE_GRACE + 1)
    done = await db(sweep.sweep)(later)
    assert done["offline"] == 1 and done["requeued"] == 0
    await s.customer.nothing("notice")
    conversation = await db(Conversation.objects.get)(pk=s.conversation_id)
    assert conversation.state == "active" and conversation.agent_id == s.alice.id
    await s.bob_socket.close()
    await s.customer.close()

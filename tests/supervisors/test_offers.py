"""Offers (../shared/PROTOCOL.md "Agent socket, additions": offers): a workstream with ``auto_accept`` off
offers each conversation to an agent, who accepts or declines it before it expires."""

from __future__ import annotations

from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from django.utils import timezone

from conversations.actions import sweep
from conversations.models import Conversation, ConversationEvent, Offer
from routing.models import AgentProfile, Presence
from tests import factories
from tests.support import sockets

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]
db = database_sync_to_async
ORIGIN = "https://shop.example.com"


def offering_setup(*, timeout: int = 120, units: int = 40):
    widget = factories.make_setup(capacity_units=units)
    workstream = widget.workstream
    workstream.auto_accept = False
    workstream.offer_timeout_seconds = timeout
    workstream.save()
    return widget


async def setup(names=("alice",), **kw):
    widget = await db(offering_setup)(**kw)
    queue = await db(lambda: widget.workstream.queue)()
    agents = [
        await db(factories.make_agent)(name, presence=Presence.AVAILABLE, queues=[queue], capacity=100)
        for name in names
    ]
    return widget, agents


async def customer_writes(widget, text="Hello"):
    customer, _ = await sockets.customer(widget, origin=ORIGIN)
    await customer.request({"type": "send", "client_id": "c1", "text": text})
    return customer


def used(agent) -> int:
    return AgentProfile.objects.get(pk=agent.pk).used_capacity


def expire_now(conversation_id) -> None:
    Offer.objects.filter(conversation_id=conversation_id, status="pending").update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )


async def test_push_without_auto_accept_offers_and_reserves_capacity_then_accept_assigns():
    widget, (alice,) = await setup()
    workspace, _ = await sockets.agent(alice)
    customer = await customer_writes(widget)
    offer = await workspace.expect("offer")
    conversation = offer["conversation"]
    assert conversation["state"] == "open" and conversation["agent"] is None
    assert conversation["allowed_actions"] == ["accept", "decline"]
    assert offer["expires_at"].endswith("Z")
    assert (await workspace.expect("capacity"))["used"] == 40
    await workspace.nothing("assigned", timeout=0.2)
    assert await db(used)(alice) == 40

    assert (await workspace.request({"type": "accept", "conversation_id": conversation["id"]}))["type"] == "ok"
    assigned = await workspace.expect("assigned")
    assert assigned["conversation"]["state"] == "active"
    assert "send" in assigned["conversation"]["allowed_actions"]
    await customer.expect("state", state="active")
    assert await db(used)(alice) == 40  # the reservation became the conversation's capacity
    event = await db(lambda: ConversationEvent.objects.filter(to_state="active").get())()
    assert event.reason == "offer_accepted" and event.actor_name == "Alice"
    again = await workspace.request({"type": "accept", "conversation_id": conversation["id"]})
    assert again["type"] == "ok"  # a resent accept changes nothing
    assert await db(used)(alice) == 40
    await workspace.close()
    await customer.close()


async def test_decline_frees_capacity_and_offers_the_next_agent_not_the_same_one():
    widget, (alice, bob) = await setup(("alice", "bob"))
    alice_ws, _ = await sockets.agent(alice)
    bob_ws, _ = await sockets.agent(bob)
    customer = await customer_writes(widget)
    offered_to = await db(lambda: Offer.objects.get(status="pending").agent_id)()
    declining_ws, declining, other_ws = (alice_ws, alice, bob_ws) if offered_to == alice.pk else (bob_ws, bob, alice_ws)
    offer = await declining_ws.expect("offer")
    conversation_id = offer["conversation"]["id"]
    assert (await declining_ws.request({"type": "decline", "conversation_id": conversation_id}))["type"] == "ok"
    assert await db(used)(declining) == 0
    assert (await other_ws.expect("offer"))["conversation"]["id"] == conversation_id
    await declining_ws.nothing("offer", timeout=0.3)
    for socket in (alice_ws, bob_ws, customer):
        await socket.close()


async def test_the_only_agent_is_offered_again_after_declining():
    widget, (alice,) = await setup()
    workspace, _ = await sockets.agent(alice)
    customer = await customer_writes(widget)
    conversation_id = (await workspace.expect("offer"))["conversation"]["id"]
    await workspace.request({"type": "decline", "conversation_id": conversation_id})
    assert (await workspace.expect("offer"))["conversation"]["id"] == conversation_id
    assert await db(Offer.objects.filter(conversation_id=conversation_id).count)() == 2
    await workspace.close()
    await customer.close()


async def test_accept_after_expiry_is_expired_and_changes_nothing_but_the_expiry():
    widget, (alice,) = await setup()
    workspace, _ = await sockets.agent(alice)
    customer = await customer_writes(widget)
    conversation_id = (await workspace.expect("offer"))["conversation"]["id"]
    await db(expire_now)(conversation_id)
    refused = await workspace.request({"type": "accept", "conversation_id": conversation_id})
    assert refused.get("code") == "expired", refused
    withdrawn = await workspace.expect("offer_withdrawn")
    assert withdrawn == {"type": "offer_withdrawn", "conversation_id": conversation_id, "reason": "expired"}
    assert (await db(Conversation.objects.get)(pk=conversation_id)).state == "open"
    statuses = await db(lambda: list(Offer.objects.order_by("created_at", "id").values_list("status", flat=True)))()
    assert statuses == ["expired", "pending"]  # the only agent is offered it again, with a new deadline
    assert (await workspace.expect("offer"))["conversation"]["id"] == conversation_id
    await workspace.close()
    await customer.close()


async def test_an_offer_expires_on_time_without_a_timer_sweep():
    widget, (alice,) = await setup(timeout=1)
    workspace, _ = await sockets.agent(alice)
    customer = await customer_writes(widget)
    conversation_id = (await workspace.expect("offer"))["conversation"]["id"]
    withdrawn = await workspace.expect("offer_withdrawn", timeout=4)
    assert withdrawn["conversation_id"] == conversation_id and withdrawn["reason"] == "expired"
    # the only agent is offered it again
    assert (await workspace.expect("offer", timeout=3))["conversation"]["id"] == conversation_id
    await workspace.close()
    await customer.close()


async def test_three_expiries_in_a_row_set_the_agent_away_and_say_why():
    widget, (alice,) = await setup()
    workspace, _ = await sockets.agent(alice)
    customer = await customer_writes(widget)
    conversation_id = (await workspace.expect("offer"))["conversation"]["id"]
    for missed in (1, 2, 3):
        await db(expire_now)(conversation_id)
        await db(sweep.sweep)()
        await workspace.expect("offer_withdrawn")
        if missed < 3:
            await workspace.expect("offer")
    told = await workspace.expect("presence")
    assert told == {"type": "presence", "status": "away", "reason": "offers_expired", "missed_offers": 3}
    profile = await db(AgentProfile.objects.get)(pk=alice.pk)
    assert profile.presence == "away" and profile.used_capacity == 0 and profile.missed_offers == 0
    await workspace.nothing("offer", timeout=0.3)  # away: no more offers
    await workspace.close()
    await customer.close()


async def test_an_accept_or_decline_resets_the_count_of_missed_offers():
    widget, (alice,) = await setup()
    workspace, _ = await sockets.agent(alice)
    customer = await customer_writes(widget)
    conversation_id = (await workspace.expect("offer"))["conversation"]["id"]
    for _ in range(2):
        await db(expire_now)(conversation_id)
        await db(sweep.sweep)()
        await workspace.expect("offer")
    await workspace.request({"type": "decline", "conversation_id": conversation_id})
    await workspace.expect("offer")
    assert (await db(AgentProfile.objects.get)(pk=alice.pk)).missed_offers == 0
    await db(expire_now)(conversation_id)
    await db(sweep.sweep)()
    await workspace.expect("offer")
    assert (await db(AgentProfile.objects.get)(pk=alice.pk)).presence == "available"
    await workspace.close()
    await customer.close()


async def test_nobody_may_accept_or_decline_someone_elses_offer():
    widget, (alice,) = await setup()
    mallory = await db(factories.make_agent)("mallory", presence=Presence.AVAILABLE)
    alice_ws, _ = await sockets.agent(alice)
    mallory_ws, _ = await sockets.agent(mallory)
    customer = await customer_writes(widget)
    conversation_id = (await alice_ws.expect("offer"))["conversation"]["id"]
    assert (await mallory_ws.request({"type": "decline", "conversation_id": conversation_id}))["code"] == "not_allowed"
    assert (await mallory_ws.request({"type": "accept", "conversation_id": conversation_id}))["code"] == "not_allowed"
    missing = await mallory_ws.request({"type": "accept", "conversation_id": "00000000-0000-0000-0000-000000000000"})
    assert missing["code"] == "not_found"
    assert (await mallory_ws.request({"type": "accept"}))["code"] == "bad_request"
    offer = await db(Offer.objects.get)(conversation_id=conversation_id)
    assert offer.status == "pending" and offer.agent_id == alice.pk
    for socket in (alice_ws, mallory_ws, customer):
        await socket.close()


async def test_a_customer_leaving_while_offered_withdraws_the_offer_and_frees_capacity():
    widget, (alice,) = await setup()
    workspace, _ = await sockets.agent(alice)
    customer = await customer_writes(widget)
    conversation_id = (await workspace.expect("offer"))["conversation"]["id"]
    assert (await customer.request({"type": "end"}))["type"] == "ok"
    withdrawn = await workspace.expect("offer_withdrawn")
    assert withdrawn["reason"] == "closed" and withdrawn["conversation_id"] == conversation_id
    assert await db(used)(alice) == 0
    assert (await workspace.request({"type": "accept", "conversation_id": conversation_id}))["code"] == "not_allowed"
    await workspace.close()
    await customer.close()


async def test_a_reloaded_workspace_shows_its_pending_offers():
    widget, (alice,) = await setup()
    workspace, _ = await sockets.agent(alice)
    customer = await customer_writes(widget)
    conversation_id = (await workspace.expect("offer"))["conversation"]["id"]
    await workspace.close()
    workspace, welcome = await sockets.agent(alice)
    [offer] = welcome["offers"]
    assert offer["type"] == "offer" and offer["conversation"]["id"] == conversation_id
    assert offer["conversation"]["allowed_actions"] == ["accept", "decline"]
    assert welcome["conversations"] == []
    await workspace.close()
    await customer.close()

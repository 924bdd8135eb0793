"""Customer context in agent summaries, routing rules, and quick replies in the agent's welcome."""

from __future__ import annotations

import pytest

from admin_center.models import QuickReply
from conversations.models import Conversation, Customer
from routing.models import Presence, Queue
from tests import factories
from tests.support import sockets

from .support import db, token_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


async def test_the_signed_context_reaches_the_agents_summary_and_never_the_customer():
    widget = await db(factories.make_setup)(persistent=True)
    queue = await db(lambda: widget.workstream.queue)()
    alice = await db(factories.make_agent)("alice", presence=Presence.AVAILABLE, queues=[queue])
    agent, _ = await sockets.agent(alice)
    customer, welcome = await sockets.customer(
        widget, token=token_for("dana", context={"order": "A-17", "tier": "gold"})
    )
    assert "A-17" not in str(welcome)
    await customer.request({"type": "send", "client_id": "c1", "text": "Where is my order?"})
    summary = (await agent.expect("assigned"))["conversation"]
    assert summary["context"] == {"order": "A-17", "tier": "gold"}
    assert summary["pre_chat"] == {}
    assert summary["queue"] == {"id": str(queue.id), "name": queue.name}
    state = await customer.expect("state", state="active")
    assert "context" not in state and "A-17" not in str(customer.buffer)

    # a newer token's context replaces it on the current conversation; a token without one keeps it
    await customer.close()
    customer, _ = await sockets.customer(widget, token=token_for("dana", context={"order": "A-18"}))
    conversation = await db(Conversation.objects.get)(pk=summary["id"])
    assert conversation.context == {"order": "A-18"}
    await customer.close()
    customer, _ = await sockets.customer(widget, token=token_for("dana"))
    conversation = await db(Conversation.objects.get)(pk=summary["id"])
    assert conversation.context == {"order": "A-18"}
    assert (await db(Customer.objects.get)(subject="dana")).context == {"order": "A-18"}
    await customer.close()
    await agent.close()


async def test_a_routing_rule_sends_gold_customers_to_the_vip_queue():
    widget = await db(factories.make_setup)(persistent=True)
    vip = await db(Queue.objects.create)(name="VIP")
    workstream = await db(lambda: widget.workstream)()
    workstream.routing_rules = [{"when": {"context.tier": "gold"}, "queue": "VIP"}]
    await db(workstream.save)()
    alice = await db(factories.make_agent)("alice", presence=Presence.AVAILABLE, queues=[workstream.queue])
    victor = await db(factories.make_agent)("victor", presence=Presence.AVAILABLE, queues=[vip])
    alices, _ = await sockets.agent(alice)
    victors, _ = await sockets.agent(victor)

    gold, _ = await sockets.customer(widget, token=token_for("gina", context={"tier": "gold"}))
    await gold.request({"type": "send", "client_id": "g1", "text": "Hi"})
    summary = (await victors.expect("assigned"))["conversation"]
    assert summary["queue"] == {"id": str(vip.id), "name": "VIP"}

    plain, _ = await sockets.customer(widget, token=token_for("pete", context={"tier": "silver"}))
    await plain.request({"type": "send", "client_id": "p1", "text": "Hi"})
    summary = (await alices.expect("assigned"))["conversation"]
    assert summary["queue"]["id"] == str(workstream.queue_id)
    await victors.nothing("assigned")
    for client in (gold, plain, alices, victors):
        await client.close()


async def test_the_welcome_offers_global_replies_and_those_of_my_queues_in_my_language_first():
    widget = await db(factories.make_setup)()
    mine = await db(lambda: widget.workstream.queue)()
    other = await db(Queue.objects.create)(name="Other")
    alice = await db(factories.make_agent)("alice", queues=[mine])
    alice.language = "ru"
    await db(alice.save)()

    def replies():
        hello = QuickReply.objects.create(title="Greeting", shortcut="hi", language="en", text="Hello {customer}")
        privet = QuickReply.objects.create(title="Приветствие", shortcut="hi", language="ru", text="Здравствуйте")
        refund = QuickReply.objects.create(title="Refund", shortcut="refund", language="en", text="Refund done")
        refund.queues.add(mine)
        hidden = QuickReply.objects.create(title="Secret", shortcut="secret", language="en", text="not yours")
        hidden.queues.add(other)
        return hello, privet, refund

    hello, privet, refund = await db(replies)()
    client, welcome = await sockets.agent(alice)
    assert [r["id"] for r in welcome["quick_replies"]] == [str(privet.id), str(hello.id), str(refund.id)]
    assert welcome["quick_replies"][1] == {
        "id": str(hello.id),
        "title": "Greeting",
        "shortcut": "hi",
        "text": "Hello {customer}",
        "language": "en",
    }
    await client.close()

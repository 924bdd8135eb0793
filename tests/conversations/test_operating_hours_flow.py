"""Operating hours on the sockets: persistent chat waits for the hours, live chat is offline."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async

from admin_center.models import OperatingHours
from conversations.actions import sweep
from conversations.models import Conversation, Message
from routing.models import Presence
from tests import factories
from tests.support import sockets
from tests.support.tokens import customer_token, make_key_pair

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]
db = database_sync_to_async

CLOSED_ALL_WEEK: dict = {}


async def test_persistent_message_outside_hours_is_kept_and_routed_when_hours_begin():
    hours = await db(factories.make_hours)(CLOSED_ALL_WEEK)
    widget = await db(factories.make_setup)(persistent=True, hours=hours)
    queue = await db(lambda: widget.workstream.queue)()
    profile = await db(factories.make_agent)(presence=Presence.AVAILABLE, queues=[queue])
    agent, _ = await sockets.agent(profile)
    customer, welcome = await sockets.customer(widget, token=customer_token(make_key_pair()[0], "night-owl"))
    assert welcome["widget"]["online"] is False

    ack = await customer.request({"type": "send", "client_id": "n1", "text": "Written at 3 am"})
    assert ack["type"] == "ack"
    notice = await customer.expect("notice", code="out_of_hours")
    assert notice["text"]
    await customer.close()  # the customer leaves; nobody reconnects
    await agent.nothing("assigned", timeout=0.5)
    assert await db(Conversation.objects.filter(state="open").count)() == 1

    await db(OperatingHours.objects.filter(pk=hours.pk).update)(weekly=factories.ALWAYS)
    await db(sweep.sweep)()  # what the server's own timer does every few seconds
    assigned = await agent.expect("assigned")
    assert assigned["conversation"]["state"] == "active"
    assert await db(Message.objects.count)() == 1
    await agent.close()


async def test_live_chat_is_offline_outside_hours_and_refuses_new_conversations():
    hours = await db(factories.make_hours)(CLOSED_ALL_WEEK)
    widget = await db(factories.make_setup)(hours=hours)
    customer, welcome = await sockets.customer(widget)
    assert welcome["widget"]["online"] is False
    refused = await customer.request({"type": "send", "client_id": "x", "text": "hello?"})
    assert refused["type"] == "error" and refused["code"] == "unavailable" and refused["client_id"] == "x"
    assert await db(Conversation.objects.count)() == 0
    await customer.close()

"""The admin center changes an agent like the agent would: through the actions
(conversations/agent_admin.py → conversations.actions.sessions). The agent's open workspace hears the
change, routing runs, and its sockets follow the queues it was added to."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from django.test import Client

from conversations.actions import messages
from conversations.models import Conversation, State
from routing.models import AgentProfile
from tests.personas import cast
from tests.security.test_admin import FormFields, change_through_the_admin
from tests.support import sockets

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]
db = database_sync_to_async


def _set_members(client: Client, path: str, members: list[str]) -> None:
    form = FormFields()
    form.feed(client.get(path).content.decode())
    response = client.post(path, {**form.data, "members": members, "_save": ["Save"]})
    assert response.status_code == 302


def _as_ada(people) -> Client:
    client = Client()
    client.force_login(people.ada)
    return client


async def test_capacity_and_presence_set_in_the_admin_reach_the_workspace_and_route_work():
    people = await db(cast)()
    queued = await db(people.carol_writes)()
    alice, _welcome = await sockets.agent(people.alice)
    path = f"/admin/routing/agentprofile/{people.alice.pk}/change/"
    await db(change_through_the_admin)(await db(_as_ada)(people), path, capacity="60", presence="available")
    capacity = await alice.expect("capacity", total=60)
    assert capacity["used"] in (0, 50)
    await alice.expect("presence", status="available")
    assigned = await alice.expect("assigned")
    assert assigned["conversation"]["id"] == str(queued.pk)
    assert assigned["conversation"]["allowed_actions"][:2] == ["send", "end"]
    conversation = await db(Conversation.objects.get)(pk=queued.pk)
    assert conversation.state == State.ACTIVE and conversation.agent_id == people.alice.pk
    await alice.close()


async def test_an_agent_added_to_a_queue_in_the_admin_follows_its_pick_list_at_once():
    people = await db(cast)(distribution="pick")
    queue = people.queue
    await db(queue.members.remove)(people.alice)
    alice, welcome = await sockets.agent(people.alice)
    assert welcome["queue"] == []
    queued = await db(people.carol_writes)()
    await alice.nothing("queue")  # not a member: no pick-list news
    members = [str(people.alice.pk), str(people.bob.pk)]
    await db(_set_members)(await db(_as_ada)(people), f"/admin/routing/queue/{queue.pk}/change/", members)
    listed = await alice.expect("queue")
    assert [(item["id"], item["allowed_actions"]) for item in listed["items"]] == [(str(queued.pk), ["pick"])]
    # the socket joined the queue's group: the next conversation there reaches it without a reconnect
    other = await db(lambda: type(people.carol).objects.create(name="Dave"))()
    await db(messages.customer_message)(other, people.widget, client_id="d1", text="Me too")
    news = await alice.expect("queue")
    assert len(news["items"]) == 2
    assert await db(
        lambda: sorted(AgentProfile.objects.get(pk=people.alice.pk).queues.values_list("pk", flat=True))
    )() == [queue.pk]
    await alice.close()

"""Access that outlives its grant (issue 18, item 1): a user's workspace and supervisor sockets close when
they sign out, change password or are deactivated; an inactive agent is never routed to; a widget's open
sockets close when it is disabled, or reconnect to be checked again when its origins or keys change."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from django.contrib.auth import get_user_model
from django.test import Client as HttpClient

from conversations.actions import assignment
from conversations.models import Conversation, State
from routing.models import Presence
from tests import factories
from tests.support import sockets
from tests.support.tokens import customer_token, make_key_pair

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]
db = database_sync_to_async


async def live_with_agent(**kwargs):
    widget = await db(factories.make_setup)(**kwargs)
    queue = await db(lambda: widget.workstream.queue)()
    agent = await db(factories.make_agent)(presence=Presence.AVAILABLE, queues=[queue])
    return widget, agent


def _sign_out(user) -> None:
    client = HttpClient()
    client.force_login(user)
    client.logout()


async def test_signing_out_closes_the_users_workspace_sockets():
    _widget, profile = await live_with_agent()
    first, _ = await sockets.agent(profile)
    second, _ = await sockets.agent(profile)
    user = await db(lambda: profile.user)()
    await db(_sign_out)(user)
    assert await first.wait_closed() == 4403
    assert await second.wait_closed() == 4403


async def test_changing_password_closes_the_users_sockets():
    _widget, profile = await live_with_agent()
    agent, _ = await sockets.agent(profile)

    def change_password():
        user = get_user_model().objects.get(pk=profile.user_id)
        user.set_password("a-new-long-password-42")
        user.save()

    await db(change_password)()
    assert await agent.wait_closed() == 4403


async def test_deactivating_a_user_closes_their_sockets_and_routes_nothing_to_them():
    widget, profile = await live_with_agent()
    agent, _ = await sockets.agent(profile)

    def deactivate():
        user = get_user_model().objects.get(pk=profile.user_id)
        user.is_active = False
        user.save()

    await db(deactivate)()
    assert await agent.wait_closed() == 4403
    # still "available" in the database: a new customer waits in the queue instead of going to them
    customer, _ = await sockets.customer(widget)
    ack = await customer.request({"type": "send", "client_id": "c1", "text": "hello?"})
    conversation_id = ack["message"]["conversation_id"]
    await db(assignment.dispatch)(None)
    conversation = await db(Conversation.objects.get)(pk=conversation_id)
    assert conversation.state == State.OPEN and conversation.agent_id is None
    await customer.close()


async def test_saving_a_user_without_changing_password_or_activity_leaves_the_sockets_open():
    _widget, profile = await live_with_agent()
    agent, _ = await sockets.agent(profile)

    def rename():
        user = get_user_model().objects.get(pk=profile.user_id)
        user.first_name = "Alice"
        user.save()

    await db(rename)()
    answer = await agent.request({"type": "presence", "status": "busy"})
    assert answer["type"] == "ok"
    await agent.close()


async def test_disabling_a_widget_closes_its_sockets():
    widget, _profile = await live_with_agent()
    customer, _ = await sockets.customer(widget)

    def disable():
        widget.enabled = False
        widget.save()

    await db(disable)()
    assert await customer.wait_closed() == 4403
    connected, _ = await sockets.connect(f"/ws/widget/{widget.public_id}/")
    assert not connected


async def test_changing_a_widgets_allowed_origins_makes_its_sockets_reconnect_and_be_checked_again():
    widget, _profile = await live_with_agent()
    customer, _ = await sockets.customer(widget, origin="https://shop.example.com")

    def move():
        widget.allowed_origins = ["https://other.example.com"]
        widget.save()

    await db(move)()
    assert await customer.wait_closed() == 1012
    headers = [(b"origin", b"https://shop.example.com")]
    connected, _ = await sockets.connect(f"/ws/widget/{widget.public_id}/", headers=headers)
    assert not connected


async def test_changing_the_key_of_a_widgets_authentication_makes_its_sockets_verify_again():
    private_pem, public_pem = make_key_pair()
    auth = await db(factories.make_auth_setting)(public_pem)
    widget = await db(factories.make_setup)(persistent=True, auth=auth)
    token = customer_token(private_pem, "carol")
    customer, _ = await sockets.customer(widget, token=token)

    def rotate():
        auth.public_key_pem = make_key_pair(seed=1)[1]
        auth.save()

    await db(rotate)()
    assert await customer.wait_closed() == 1012
    connected, again = await sockets.connect(f"/ws/widget/{widget.public_id}/")
    assert connected
    await again.send({"type": "hello", "token": token})
    assert (await again.expect("error"))["code"] == "auth_failed"
    assert await again.wait_closed() == 4401

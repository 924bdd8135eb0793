"""Abuse limits, each configurable from the environment (PROTOCOL.md
"Limits and their settings"). What tests/conversations already proves
(customer send rate, 4001-character text, the default 16 KiB frame, the hello
timeout) is not repeated; this adds the rest."""

from __future__ import annotations

import asyncio
import json

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from conversations.models import Connection, Message
from routing.models import Presence
from tests import factories
from tests.support import sockets
from tests.support.tokens import customer_token, make_key_pair

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]
db = database_sync_to_async


async def connect_from(path: str, ip: str, *, user=None) -> tuple[bool, sockets.Client]:
    """An in-process socket whose peer address is ``ip``."""
    communicator = WebsocketCommunicator(sockets.socket_app(), path)
    communicator.scope["client"] = (ip, 50000)
    if user is not None:
        communicator.scope["user"] = user
    connected, _ = await communicator.connect()
    return connected, sockets.Client(communicator)


async def persistent_with_agent():
    widget = await db(factories.make_setup)(persistent=True)
    queue = await db(lambda: widget.workstream.queue)()
    agent = await db(factories.make_agent)(presence=Presence.AVAILABLE, queues=[queue])
    return widget, agent


def raw(frame: dict) -> str:
    """The frame as a browser sends it: UTF-8, no \\u escapes."""
    return json.dumps(frame, ensure_ascii=False)


def token(sub: str) -> str:
    return customer_token(make_key_pair()[0], sub)


async def test_frame_size_limit_counts_bytes_and_is_configurable(settings):
    settings.PARLEY_MAX_FRAME_BYTES = 1000
    widget, profile = await persistent_with_agent()
    customer, _ = await sockets.customer(widget, token=token("carol"))
    # 600 characters, 1200 bytes in UTF-8: over a 1000-byte limit although short in characters
    await customer.send(raw({"type": "send", "req": "big", "client_id": "big", "text": "é" * 600}))
    big = await customer.expect_req("big")
    assert big["code"] == "too_large" and big["client_id"] == "big"
    await customer.send(raw({"type": "send", "client_id": "small", "text": "é" * 400, "req": "small"}))
    small = await customer.expect_req("small")
    assert small["type"] == "ack"
    agent, _ = await sockets.agent(profile)
    conversation_id = small["message"]["conversation_id"]
    frame = {"type": "send", "req": "a-big", "conversation_id": conversation_id, "client_id": "a-big"}
    await agent.send(raw({**frame, "text": "ж" * 600}))
    assert (await agent.expect_req("a-big"))["code"] == "too_large"
    assert sorted(await db(lambda: list(Message.objects.values_list("client_id", flat=True)))()) == ["small"]
    for client in (customer, agent):
        await client.close()


async def test_agent_send_rate_limit_and_refill(settings):
    # One token a second: the three sends below answer well within it even on a loaded machine (at 20 a
    # second, two slow PostgreSQL round trips refilled the bucket before the third send).
    settings.PARLEY_SEND_RATE = 1
    settings.PARLEY_SEND_BURST = 2
    widget, profile = await persistent_with_agent()
    customer, _ = await sockets.customer(widget, token=token("carol"))
    first = await customer.request({"type": "send", "client_id": "c", "text": "hi"})
    agent, _ = await sockets.agent(profile)
    conversation_id = first["message"]["conversation_id"]

    def frame(n):
        return {"type": "send", "conversation_id": conversation_id, "client_id": f"a{n}", "text": "ok"}

    answers = [await agent.request(frame(n)) for n in range(3)]
    assert [a["type"] for a in answers[:2]] == ["ack", "ack"]
    assert answers[2]["code"] == "rate_limited" and answers[2]["client_id"] == "a2"
    await asyncio.sleep(1.1)  # one token per second: the bucket refills
    assert (await agent.request(frame(2)))["type"] == "ack"  # resending the refused one works
    assert await db(Message.objects.filter(client_id="a2").count)() == 1
    for client in (customer, agent):
        await client.close()


async def test_sockets_per_customer_oldest_closed_4409(settings):
    settings.PARLEY_MAX_SOCKETS_PER_CUSTOMER = 2
    widget = await db(factories.make_setup)()
    first, welcome = await sockets.customer(widget)
    second, _ = await sockets.customer(widget, visitor=welcome["visitor"])
    await first.nothing("error", timeout=0.2)
    third, _ = await sockets.customer(widget, visitor=welcome["visitor"])
    assert await first.wait_closed() == 4409
    for client in (second, third):
        assert (await client.request({"type": "sync", "after_seq": 0}))["type"] == "sync"
    assert await db(Connection.objects.count)() == 2
    other, _ = await sockets.customer(widget)  # another visitor is not affected
    for client in (second, third, other):
        await client.close()


async def test_sockets_per_ip_widget_and_workspace_counted_apart(settings):
    settings.PARLEY_MAX_SOCKETS_PER_IP = 3
    settings.PARLEY_MAX_AGENT_SOCKETS_PER_IP = 2
    widget, profile = await persistent_with_agent()
    user = await db(lambda: profile.user)()
    path = f"/ws/widget/{widget.public_id}/"
    clients = []
    for n in range(3):
        connected, client = await connect_from(path, "203.0.113.7")
        assert connected
        await client.send({"type": "hello", "token": token(f"c{n}")})
        await client.expect("welcome")
        clients.append(client)
    # three widget sockets from this address: a fourth is refused ...
    assert not (await connect_from(path, "203.0.113.7"))[0]
    # ... and the workspace from the same address (an office behind one NAT) still has its own room
    for _ in range(2):
        connected, workspace = await connect_from("/ws/agent/", "203.0.113.7", user=user)
        assert connected
        await workspace.expect("welcome")
        clients.append(workspace)
    assert not (await connect_from("/ws/agent/", "203.0.113.7", user=user))[0]
    # another address is not affected
    connected, elsewhere = await connect_from(path, "198.51.100.1")
    assert connected
    clients.append(elsewhere)
    # one closes: the address may connect again
    await clients.pop(0).close()
    connected, again = await connect_from(path, "203.0.113.7")
    assert connected
    clients.append(again)
    for client in clients:
        await client.close()


async def test_silent_widget_sockets_never_lock_the_workspace_out(settings):
    settings.PARLEY_MAX_SOCKETS_PER_IP = 5
    widget, profile = await persistent_with_agent()
    user = await db(lambda: profile.user)()
    silent = []
    for _ in range(5):  # five anonymous widget sockets that never say hello
        connected, client = await connect_from(f"/ws/widget/{widget.public_id}/", "203.0.113.8")
        assert connected
        silent.append(client)
    connected, workspace = await connect_from("/ws/agent/", "203.0.113.8", user=user)
    assert connected
    await workspace.expect("welcome")
    for client in (*silent, workspace):
        await client.close()


async def test_sockets_per_ip_counts_sockets_that_never_said_hello(settings):
    settings.PARLEY_MAX_SOCKETS_PER_IP = 3
    widget = await db(factories.make_setup)()
    path = f"/ws/widget/{widget.public_id}/"
    silent = []
    for _ in range(3):
        connected, client = await connect_from(path, "203.0.113.9")
        assert connected
        silent.append(client)
    assert not (await connect_from(path, "203.0.113.9"))[0]
    await silent.pop().close()
    connected, client = await connect_from(path, "203.0.113.9")
    assert connected
    await client.send({"type": "hello"})
    await client.expect("welcome")
    assert not (await connect_from(path, "203.0.113.9"))[0]
    for other in (*silent, client):
        await other.close()


async def test_history_page_size_is_configurable_and_sync_pages_at_200(settings):
    settings.PARLEY_HISTORY_PAGE_MAX = 5
    settings.PARLEY_SEND_BURST = 1000
    widget, profile = await persistent_with_agent()
    customer, _ = await sockets.customer(widget, token=token("carol"))
    for n in range(205):
        await customer.send({"type": "send", "client_id": f"m{n}", "text": f"message {n}"})
    for n in range(205):
        await customer.expect("ack", client_id=f"m{n}", timeout=10)
    too_big = await customer.request({"type": "history", "before_seq": 206, "limit": 6})
    assert too_big["code"] == "bad_request"
    page = await customer.request({"type": "history", "before_seq": 206, "limit": 5})
    assert [m["seq"] for m in page["messages"]] == [201, 202, 203, 204, 205] and page["has_more"] is True
    # without a limit the page is the largest allowed, not an error
    default = await customer.request({"type": "history", "before_seq": 201})
    assert [m["seq"] for m in default["messages"]] == [196, 197, 198, 199, 200]
    synced = await customer.request({"type": "sync", "after_seq": 0})
    assert len(synced["messages"]) == 200 and synced["has_more"] is True
    agent, _ = await sockets.agent(profile)
    conversation_id = page["conversation_id"]
    agent_page = await agent.request({"type": "history", "conversation_id": conversation_id, "before_seq": 10})
    assert [m["seq"] for m in agent_page["messages"]] == [5, 6, 7, 8, 9]
    refused = await agent.request({"type": "history", "conversation_id": conversation_id, "before_seq": 9, "limit": 6})
    assert refused["code"] == "bad_request"
    for client in (customer, agent):
        await client.close()

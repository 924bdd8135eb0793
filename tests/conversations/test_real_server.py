"""The main flows against real daphne processes and a real WebSocket client."""

from __future__ import annotations

import json
import os

import pytest

from tests.support.http import WsClient, sign_in
from tests.support.server import ParleyServer
from tests.support.tokens import customer_token, make_key_pair

pytestmark = [pytest.mark.asyncio, pytest.mark.slow]

PRODUCTION = os.environ.get("DATABASE_URL", "").startswith("postgres") and bool(os.environ.get("REDIS_URL"))


def set_up(server: ParleyServer, **workstream) -> dict:
    """A persistent workstream with one available agent, made inside the server's own database."""
    public_pem = make_key_pair()[1]
    code = f"""
import json
from tests import factories
auth = factories.make_auth_setting({public_pem!r})
widget = factories.make_setup(persistent=True, auth=auth, **{workstream!r})
factories.make_agent("alice", presence="available", queues=[widget.workstream.queue])
print(json.dumps({{"widget": widget.public_id}}))
"""
    return json.loads(server.shell(code).strip().splitlines()[-1])


def token(sub: str) -> str:
    return customer_token(make_key_pair()[0], sub, name="Dana")


async def customer(server: ParleyServer, widget: str, sub: str = "dana") -> tuple[WsClient, dict]:
    client = await WsClient.open(f"{server.ws_url}/ws/widget/{widget}/")
    await client.send({"type": "hello", "token": token(sub)})
    return client, await client.expect("welcome")


async def agent(server: ParleyServer) -> tuple[WsClient, dict]:
    client = await WsClient.open(f"{server.ws_url}/ws/agent/", cookie=sign_in(server.url, "alice", "pw-alice"))
    return client, await client.expect("welcome")


async def test_persistent_conversation_survives_a_server_restart():
    with ParleyServer() as server:
        widget = set_up(server)["widget"]
        workspace, _ = await agent(server)
        widget_socket, welcome = await customer(server, widget)
        assert welcome["conversation"] is None
        await widget_socket.send({"type": "send", "client_id": "c1", "text": "Hello from the shop"})
        ack = await widget_socket.expect("ack")
        conversation_id = (await workspace.expect("assigned"))["conversation"]["id"]
        # the first message was stored before the assignment: the agent reads it by opening the conversation
        await workspace.send({"type": "open", "conversation_id": conversation_id})
        opened = (await workspace.expect("conversation"))["conversation"]
        assert [m["id"] for m in opened["messages"]] == [ack["message"]["id"]]
        await workspace.send({"type": "send", "conversation_id": conversation_id, "client_id": "a1", "text": "Hi!"})
        await workspace.expect("ack")
        assert (await widget_socket.expect("message"))["message"]["text"] == "Hi!"

        server.restart()
        widget_socket, welcome = await customer(server, widget)
        conversation = welcome["conversation"]
        assert conversation["id"] == conversation_id and conversation["state"] == "active"
        assert [m["text"] for m in conversation["messages"]] == ["Hello from the shop", "Hi!"]
        await widget_socket.send({"type": "sync", "after_seq": 1})
        assert [m["seq"] for m in (await widget_socket.expect("sync"))["messages"]] == [2]
        await widget_socket.close()


async def test_the_server_runs_its_own_timers():
    with ParleyServer(env={"PARLEY_TIMER_INTERVAL": "0.5"}) as server:
        widget = set_up(server, auto_close=2)["widget"]
        widget_socket, _ = await customer(server, widget)
        await widget_socket.send({"type": "send", "client_id": "c1", "text": "anyone?"})
        await widget_socket.expect("ack")
        closed = await widget_socket.expect("state", timeout=10, state="closed")
        assert closed["conversation_id"]
        await widget_socket.close()


@pytest.mark.production
@pytest.mark.skipif(
    not PRODUCTION, reason="needs DATABASE_URL (PostgreSQL) and REDIS_URL: several processes share them"
)
async def test_two_processes_act_as_one_system():
    with ParleyServer() as first, ParleyServer(share_with=first) as second:
        widget = set_up(first)["widget"]
        workspace, _ = await agent(second)
        phone, _ = await customer(first, widget)
        laptop, _ = await customer(second, widget)
        await phone.send({"type": "send", "client_id": "c1", "text": "across processes"})
        await phone.expect("ack")
        conversation_id = (await workspace.expect("assigned"))["conversation"]["id"]
        assert (await laptop.expect("message"))["message"]["text"] == "across processes"
        await laptop.send({"type": "send", "client_id": "c2", "text": "from the laptop"})
        assert (await workspace.expect("message"))["message"]["text"] == "from the laptop"
        assert (await phone.expect("message"))["message"]["text"] == "from the laptop"
        await workspace.send({"type": "send", "conversation_id": conversation_id, "client_id": "a1", "text": "back"})
        assert (await phone.expect("message"))["message"]["text"] == "back"
        assert (await laptop.expect("message"))["message"]["text"] == "back"
        for client in (workspace, phone, laptop):
            await client.close()

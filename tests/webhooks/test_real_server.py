"""A real daphne process delivers webhooks itself, and one killed mid-delivery loses nothing."""

from __future__ import annotations

import asyncio
import json

import pytest

from tests.support.http import WsClient
from tests.support.server import ParleyServer
from tests.webhooks.receiver import Receiver

pytestmark = [pytest.mark.asyncio, pytest.mark.slow]

ORIGIN = "https://shop.example.com"


SECRET = "real-server-secret"


def configuration(receiver_url: str) -> dict:
    """Made before the server starts, so that its processes see the endpoint from their first event on."""
    return {
        "queues": [{"name": "Support"}],
        "workstreams": [{"name": "Live", "queue": "Support", "persistent": False, "same_agent": False}],
        "chat_widgets": [{"public_id": "shop", "name": "Shop", "workstream": "Live", "allowed_origins": [ORIGIN]}],
        "webhooks": [{"name": "CRM", "url": receiver_url, "secret": SECRET, "events": ["message.created"]}],
    }


async def send_as_customer(server: ParleyServer, widget: str, texts: list[str]) -> None:
    client = await WsClient.open(f"{server.ws_url}/ws/widget/{widget}/", origin=ORIGIN)
    await client.send({"type": "hello", "token": None})
    await client.expect("welcome")
    for n, text in enumerate(texts):
        await client.send({"type": "send", "client_id": f"c{n}", "text": text})
        await client.expect("ack", client_id=f"c{n}")
    await client.close()


def verify(secret: str, request: dict) -> bool:
    from tests.webhooks.test_receiver_example import example

    return example()["verify_signature"](secret, request["headers"]["Parley-Signature"], request["body"])


async def wait_for(receiver: Receiver, count: int, timeout: float = 30) -> list[dict]:
    return await asyncio.get_running_loop().run_in_executor(None, receiver.wait_for, count, timeout)


async def test_the_server_process_delivers_signed_webhooks_in_order():
    env = {"PARLEY_WEBHOOK_ALLOW_PRIVATE": "true"}
    with Receiver() as receiver, ParleyServer(configuration(receiver.url), env=env) as server:
        await send_as_customer(server, "shop", ["one", "two", "three"])
        requests = await wait_for(receiver, 3)
        assert [json.loads(r["body"])["data"]["message"]["text"] for r in requests] == ["one", "two", "three"]
        assert all(verify(SECRET, request) for request in requests)


async def test_a_server_killed_mid_delivery_loses_no_event():
    env = {"PARLEY_WEBHOOK_ALLOW_PRIVATE": "true", "PARLEY_WEBHOOK_LEASE_SECONDS": "11"}
    with Receiver() as receiver, ParleyServer(configuration(receiver.url), env=env) as server:
        receiver.hold()  # the receiver takes the first delivery and does not answer
        await send_as_customer(server, "shop", ["one", "two"])
        (first,) = await wait_for(receiver, 1)
        server.kill()  # committed, sent, never recorded: the process died mid-delivery
        receiver.release()
        server.start()  # its first request starts the new process's dispatcher
        requests = await wait_for(receiver, 3)
        documents = [json.loads(r["body"]) for r in requests]
        assert [d["data"]["message"]["text"] for d in documents] == ["one", "one", "two"]
        assert documents[0]["id"] == documents[1]["id"]  # the same event again: receivers deduplicate by id

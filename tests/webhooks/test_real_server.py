"""A real daphne process delivers webhooks itself, and one killed mid-delivery loses nothing."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from pathlib import Path

import pytest

from tests.support import metrics
from tests.support.http import WsClient
from tests.support.server import ParleyServer
from tests.support.waiting import until
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


def children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` and that run ``deliver_webhooks``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == pid and b"deliver_webhooks" in cmdline:
            found.append(int(entry.name))
    return found


def delivered_count(server: ParleyServer) -> float:
    return metrics.sample(server.url, "parley_webhook_deliveries_total", {"outcome": "delivered"})


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads the process table from /proc (Linux)")
async def test_each_server_process_delivers_from_a_child_that_lives_and_ends_with_it():
    env = {"PARLEY_WEBHOOK_ALLOW_PRIVATE": "true"}
    with Receiver() as receiver, ParleyServer(configuration(receiver.url), env=env) as server:
        await send_as_customer(server, "shop", ["one"])
        await wait_for(receiver, 1)
        (child,) = await until(lambda: children(server.process.pid))
        # The child's attempts are counted in the server process's own metrics.
        assert await until(lambda: delivered_count(server) == 1)

        os.kill(child, signal.SIGKILL)  # a child that dies is started again
        (again,) = await until(lambda: [pid for pid in children(server.process.pid) if pid != child])
        await send_as_customer(server, "shop", ["two"])
        requests = await wait_for(receiver, 2)
        assert [json.loads(r["body"])["data"]["message"]["text"] for r in requests] == ["one", "two"]

        server.kill()  # the child ends with its server process, even when that one is killed
        await until(lambda: not Path(f"/proc/{again}").exists() or b"Z" in _state(again))


def _state(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/stat").read_bytes().rsplit(b")", 1)[1].split()[0]
    except OSError:
        return b"Z"

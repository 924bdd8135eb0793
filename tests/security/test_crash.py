"""Crash safety against real daphne processes: the server is killed with
SIGKILL in the middle of a busy conversation (and, in production mode, Redis
is killed) and comes back; the clients reconnect, resend what was not
acknowledged with the same client_id and sync. Every acknowledged message
then exists exactly once, in order, on both sides, and nothing a client sent
is lost."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import subprocess
import time
from collections import OrderedDict
from pathlib import Path

import pytest
import websockets

from tests.support.http import sign_in
from tests.support.server import ParleyServer, free_port
from tests.support.tokens import customer_token, make_key_pair
from tests.support.waiting import until

pytestmark = [pytest.mark.asyncio, pytest.mark.slow]

FAST = {"PARLEY_SEND_RATE": "1000", "PARLEY_SEND_BURST": "1000", "PARLEY_TIMER_INTERVAL": "1"}


def set_up(server: ParleyServer) -> str:
    """A persistent workstream with one available agent, alice; returns the widget id."""
    public_pem = make_key_pair()[1]
    code = f"""
from tests import factories
auth = factories.make_auth_setting({public_pem!r})
widget = factories.make_setup(persistent=True, auth=auth)
factories.make_agent("alice", presence="available", queues=[widget.workstream.queue])
print(widget.public_id)
"""
    return server.shell(code).strip().splitlines()[-1]


class ReliableClient:
    """What a careful front end does: every message waits in an outbox until
    its ack; after a reconnect it syncs from the last seq it holds and resends
    the outbox with the same client_ids, in the order they were written."""

    def __init__(self, name: str, url: str, *, hello: dict | None = None, cookie: str | None = None) -> None:
        self.name = name
        self.url = url
        self.hello = hello
        self.cookie = cookie
        self.conversation_id: str | None = None
        self.outbox: OrderedDict[str, str] = OrderedDict()
        self.written: list[str] = []  # client_ids in the order this side wrote them
        self.acked: dict[str, dict] = {}
        self.seen: dict[int, dict] = {}
        self.connection = None
        self.reader: asyncio.Task | None = None
        self.synced = asyncio.Event()
        self.errors: list[dict] = []
        self.resent = 0
        self.reconnects = 0
        self.stopping = False
        self.reconnecting: asyncio.Task | None = None

    # --- connection ------------------------------------------------------------------------------------------

    async def connect(self, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                headers = {"Cookie": self.cookie} if self.cookie else None
                self.connection = await websockets.connect(self.url, additional_headers=headers, open_timeout=5)
                break
            except (OSError, websockets.WebSocketException):
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.2)
        self.synced.clear()
        self.reader = asyncio.get_running_loop().create_task(self._read())
        if self.hello is not None:
            await self._send({"type": "hello", **self.hello})
        else:
            await self._sync()

    def connected(self) -> bool:
        return self.connection is not None and self.reader is not None and not self.reader.done()

    async def _send(self, frame: dict) -> bool:
        try:
            await self.connection.send(json.dumps(frame))
            return True
        except (websockets.ConnectionClosed, AttributeError):
            return False

    def _frame(self, frame: dict) -> dict:
        if self.hello is None:
            return {**frame, "conversation_id": self.conversation_id}
        return frame

    def last_contiguous_seq(self) -> int:
        seq = 0
        while seq + 1 in self.seen:
            seq += 1
        return seq

    async def _sync(self) -> None:
        if self.hello is None and self.conversation_id is None:
            return  # the agent has no conversation yet: "assigned" brings it
        await self._send(self._frame({"type": "sync", "after_seq": self.last_contiguous_seq()}))

    async def _resend(self) -> None:
        for client_id, text in list(self.outbox.items()):
            self.resent += 1
            await self._send(self._frame({"type": "send", "client_id": client_id, "text": text}))

    async def _read(self) -> None:
        try:
            await self._read_frames()
        finally:
            if not self.stopping:  # like the front ends: a dropped socket is reconnected
                self.reconnects += 1
                self.reconnecting = asyncio.get_running_loop().create_task(self._reconnect())

    async def _reconnect(self) -> None:
        await asyncio.sleep(0.2)
        await self.connect(timeout=30)

    async def _read_frames(self) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            async for raw in self.connection:
                frame = json.loads(raw)
                kind = frame.get("type")
                if kind == "welcome" and self.hello is not None:
                    conversation = frame.get("conversation")
                    if conversation:
                        self.conversation_id = conversation["id"]
                        self._store(conversation["messages"])
                    await self._sync()
                elif kind == "assigned":
                    self.conversation_id = frame["conversation"]["id"]
                    await self._sync()  # messages stored before the assignment
                elif kind == "ack":
                    self.acked[frame["client_id"]] = frame["message"]
                    self.conversation_id = frame["message"]["conversation_id"]
                    self.outbox.pop(frame["client_id"], None)
                    self._store([frame["message"]])
                elif kind == "message":
                    self._store([frame["message"]])
                elif kind == "sync":
                    self._store(frame["messages"])
                    if frame["has_more"]:
                        await self._sync()
                    else:
                        self.synced.set()
                        await self._resend()
                elif kind == "error":
                    self.errors.append(frame)

    def _store(self, messages: list[dict]) -> None:
        for message in messages:
            old = self.seen.setdefault(message["seq"], message)
            assert old["id"] == message["id"], (self.name, "two messages with one seq", old, message)

    # --- writing ---------------------------------------------------------------------------------------------

    async def write(self, client_id: str, text: str) -> None:
        self.outbox[client_id] = text
        self.written.append(client_id)
        if self.connected():
            await self._send(self._frame({"type": "send", "client_id": client_id, "text": text}))

    async def close(self) -> None:
        self.stopping = True
        if self.reconnecting is not None:
            self.reconnecting.cancel()
        if self.connection is not None:
            await self.connection.close()
        if self.reader is not None:
            await asyncio.wait_for(self.reader, 5)


async def busy_conversation(
    server_for_customer, server_for_agent, widget: str, crash, *, messages: int = 40, sockets_drop: bool = True
):
    """carol (customer) and alice (agent) write ``messages`` each, pipelined;
    ``crash()`` runs once about a third of them are acknowledged, then both
    reconnect and finish. Returns the two clients after everything settled."""
    token = customer_token(make_key_pair()[0], "carol", name="Carol")
    carol = ReliableClient("carol", f"{server_for_customer.ws_url}/ws/widget/{widget}/", hello={"token": token})
    cookie = sign_in(server_for_agent.url, "alice", "pw-alice")
    alice = ReliableClient("alice", f"{server_for_agent.ws_url}/ws/agent/", cookie=cookie)
    await alice.connect()
    await carol.connect()
    await carol.write("c-000", "first")
    await until(lambda: alice.conversation_id is not None and "c-000" in carol.acked, timeout=15)
    await until(lambda: 1 in alice.seen or alice.synced.is_set(), timeout=15)

    crashed = asyncio.Event()

    async def writer(client: ReliableClient, prefix: str) -> None:
        for n in range(1, messages + 1):
            await client.write(f"{prefix}-{n:03d}", f"{client.name} says {n}")
            await asyncio.sleep(0.01)

    async def crasher() -> None:
        await until(lambda: len(carol.acked) + len(alice.acked) >= (2 * messages) // 3, timeout=30)
        await crash()
        crashed.set()

    await asyncio.gather(writer(carol, "c"), writer(alice, "a"), crasher())
    assert crashed.is_set()
    await until(lambda: not carol.outbox and not alice.outbox, timeout=30)
    if sockets_drop:
        assert carol.resent and alice.resent, "both sides had unacknowledged messages to resend"
    return carol, alice


async def check_everything_once_in_order(server: ParleyServer, carol, alice) -> None:
    rows = json.loads(
        server.shell(
            "import json\n"
            "from conversations.models import Message\n"
            "print(json.dumps(list(Message.objects.order_by('conversation_id', 'seq')"
            ".values_list('conversation_id', 'seq', 'client_id')), default=str))"
        )
        .strip()
        .splitlines()[-1]
    )
    assert {row[0] for row in rows} == {carol.conversation_id}, "one conversation"
    seqs = [row[1] for row in rows]
    client_ids = [row[2] for row in rows]
    assert seqs == list(range(1, len(rows) + 1)), "gapless seqs"
    assert len(client_ids) == len(set(client_ids)), "no message stored twice"
    assert sorted(client_ids) == sorted(carol.written + alice.written), "nothing written was lost"
    for client in (carol, alice):
        # each side's messages are stored in the order that side wrote them
        mine = [cid for cid in client_ids if cid in set(client.written)]
        assert mine == client.written, client.name
        for client_id, message in client.acked.items():
            assert client_ids[message["seq"] - 1] == client_id, (client.name, "ack matches the stored message")
    await until(lambda: len(carol.seen) == len(rows) and len(alice.seen) == len(rows), timeout=15)
    for client in (carol, alice):
        assert not client.errors, (client.name, client.errors)
        assert [client.seen[seq]["client_id"] for seq in sorted(client.seen)] == client_ids, client.name


async def test_server_killed_mid_conversation_loses_nothing():
    with ParleyServer(env=FAST) as server:
        widget = set_up(server)

        async def crash() -> None:
            server.kill()  # SIGKILL: no shutdown, sockets just drop
            await asyncio.sleep(0.5)
            server.start()

        carol, alice = await busy_conversation(server, server, widget, crash)
        try:
            await check_everything_once_in_order(server, carol, alice)
        finally:
            for client in (carol, alice):
                await client.close()


# --- Redis restart, production mode ---------------------------------------------------------------------

POSTGRES = os.environ.get("DATABASE_URL", "").startswith("postgres")


class RedisServer:
    """A private redis-server on a free port (the machine's shared Redis is never touched)."""

    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        self.directory = directory
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.directory),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        import socket

        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                return
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)
        self.process = None


@pytest.mark.production
@pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server is not installed")
@pytest.mark.skipif(not POSTGRES, reason="production mode needs DATABASE_URL (PostgreSQL): two processes share it")
async def test_redis_killed_mid_conversation_loses_nothing(tmp_path):
    redis = RedisServer(tmp_path)
    redis.start()
    env = {**FAST, "REDIS_URL": f"redis://127.0.0.1:{redis.port}/0"}
    try:
        with (
            ParleyServer(env=env, production=True) as first,
            ParleyServer(env=env, share_with=first, production=True) as second,
        ):
            widget = set_up(first)

            async def crash() -> None:
                redis.kill()
                await asyncio.sleep(1)
                redis.start()

            # carol talks to one process, alice to the other: every message crosses Redis
            carol, alice = await busy_conversation(first, second, widget, crash, sockets_drop=False)
            try:
                await check_everything_once_in_order(first, carol, alice)
            except AssertionError:
                print(first.log(), second.log(), sep="\n----\n")
                raise
            finally:
                for client in (carol, alice):
                    await client.close()
    finally:
        redis.kill()

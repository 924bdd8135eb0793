"""In-process socket clients for fine-grained protocol tests
(channels.testing.WebsocketCommunicator on the real URL router)."""

from __future__ import annotations

import asyncio
import itertools
import json

from channels.db import database_sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator

_ids = itertools.count(1)


def socket_app():
    from conversations.ws_urls import websocket_urlpatterns

    return URLRouter(websocket_urlpatterns)


class Client:
    """A protocol client with a receive buffer: ``expect(type)`` skips and
    keeps other frames, so tests state what they wait for, not the order of
    unrelated news."""

    def __init__(self, communicator: WebsocketCommunicator) -> None:
        self.communicator = communicator
        self.buffer: list[dict] = []
        self.closed_code: int | None = None

    async def send(self, frame) -> None:
        if isinstance(frame, str):
            await self.communicator.send_to(text_data=frame)
        else:
            await self.communicator.send_json_to(frame)

    async def _next(self, timeout: float) -> dict:
        message = await self.communicator.receive_output(timeout)
        if message["type"] == "websocket.close":
            self.closed_code = message.get("code", 1000)
            raise ConnectionClosed(self.closed_code)
        return json.loads(message["text"])

    async def expect(self, kind: str, timeout: float = 3, **match) -> dict:
        for i, frame in enumerate(self.buffer):
            if frame.get("type") == kind and all(frame.get(k) == v for k, v in match.items()):
                return self.buffer.pop(i)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(f"no {kind!r} frame {match or ''}; got {self.buffer}")
            try:
                frame = await self._next(remaining)
            except TimeoutError:
                raise AssertionError(f"no {kind!r} frame {match or ''}; got {self.buffer}") from None
            if frame.get("type") == kind and all(frame.get(k) == v for k, v in match.items()):
                return frame
            self.buffer.append(frame)

    async def request(self, frame: dict, timeout: float = 3) -> dict:
        """Send a frame with a fresh ``req`` and return the answer echoing it."""
        req = f"r{next(_ids)}"
        await self.send({**frame, "req": req})
        return await self.expect_req(req, timeout)

    async def expect_req(self, req: str, timeout: float = 3) -> dict:
        for i, frame in enumerate(self.buffer):
            if frame.get("req") == req:
                return self.buffer.pop(i)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            frame = await self._next(max(0.01, deadline - loop.time()))
            if frame.get("req") == req:
                return frame
            self.buffer.append(frame)

    async def nothing(self, kind: str | None = None, timeout: float = 0.3) -> None:
        """Assert that no frame (of ``kind``) arrives within ``timeout``."""
        if kind and any(f.get("type") == kind for f in self.buffer):
            raise AssertionError(f"unexpected {kind!r}: {self.buffer}")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while (remaining := deadline - loop.time()) > 0:
            # receive_nothing does not cancel the application when it times out
            if await self.communicator.receive_nothing(remaining):
                return
            frame = await self._next(1)
            if kind is None or frame.get("type") == kind:
                raise AssertionError(f"unexpected frame {frame}")
            self.buffer.append(frame)

    async def wait_closed(self, timeout: float = 3) -> int:
        while self.closed_code is None:
            try:
                frame = await self._next(timeout)
            except ConnectionClosed:
                break
            self.buffer.append(frame)
        return self.closed_code

    async def close(self) -> None:
        await self.communicator.disconnect()


class ConnectionClosed(Exception):
    pass


async def connect(path: str, *, headers=None, user=None) -> tuple[bool, Client]:
    communicator = WebsocketCommunicator(socket_app(), path, headers=headers or [])
    if user is not None:
        communicator.scope["user"] = user
    connected, _ = await communicator.connect()
    return connected, Client(communicator)


async def customer(widget, *, token=None, visitor=None, origin: str | None = None) -> tuple[Client, dict]:
    headers = [(b"origin", origin.encode())] if origin else []
    connected, client = await connect(f"/ws/widget/{widget.public_id}/", headers=headers)
    assert connected, "widget socket refused"
    await client.send({"type": "hello", "token": token, "visitor": visitor})
    welcome = await client.expect("welcome")
    return client, welcome


async def agent(profile) -> tuple[Client, dict]:
    user = await database_sync_to_async(lambda: profile.user)()
    connected, client = await connect("/ws/agent/", user=user)
    assert connected, "agent socket refused"
    welcome = await client.expect("welcome")
    return client, welcome

"""Talking to a real server over HTTP and WebSockets, as a browser would."""

from __future__ import annotations

import asyncio
import json

import websockets

from bench.signin import sign_in

__all__ = ["WsClient", "sign_in"]


class WsClient:
    """A raw WebSocket protocol client with a buffer, like tests.support.sockets.Client."""

    def __init__(self, connection) -> None:
        self.connection = connection
        self.buffer: list[dict] = []

    @classmethod
    async def open(cls, url: str, *, cookie: str | None = None, origin: str | None = None) -> WsClient:
        headers = {"Cookie": cookie} if cookie else None
        connection = await websockets.connect(url, additional_headers=headers, origin=origin, open_timeout=10)
        return cls(connection)

    async def send(self, frame: dict) -> None:
        await self.connection.send(json.dumps(frame))

    async def expect(self, kind: str, timeout: float = 5, **match) -> dict:
        for i, frame in enumerate(self.buffer):
            if frame.get("type") == kind and all(frame.get(k) == v for k, v in match.items()):
                return self.buffer.pop(i)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(f"no {kind!r} {match or ''}; got {self.buffer}")
            try:
                raw = await asyncio.wait_for(self.connection.recv(), remaining)
            except TimeoutError:
                raise AssertionError(f"no {kind!r} {match or ''}; got {self.buffer}") from None
            frame = json.loads(raw)
            if frame.get("type") == kind and all(frame.get(k) == v for k, v in match.items()):
                return frame
            self.buffer.append(frame)

    async def close(self) -> None:
        await self.connection.close()

"""daphne itself refuses WebSocket messages far past the protocol's frame limit (issue 18, item 2): a real
server started like production (``bench.server.DAPHNE_LIMITS``, the Makefile, docs/deploy/parley@.service)
answers a frame a little over ``PARLEY_MAX_FRAME_BYTES`` with ``too_large`` and drops the connection of
one past 1 MiB (1009 "message too big", or without a close frame: 1006) before Parley reads it."""

from __future__ import annotations

import asyncio
import json

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from bench.server import DAPHNE_LIMITS
from tests.support.server import ParleyServer

MAKE_WIDGET = "from tests import factories; print(factories.make_setup().public_id)"


async def _frames(ws_url: str, public_id: str) -> tuple[dict, int]:
    async with connect(f"{ws_url}/ws/widget/{public_id}/", open_timeout=10) as ws:
        await ws.send(json.dumps({"type": "hello"}))
        assert json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "welcome"
        await ws.send(json.dumps({"type": "send", "req": "r1", "client_id": "c1", "text": "x" * 20000}))
        refused = json.loads(await asyncio.wait_for(ws.recv(), 10))
        await ws.send(json.dumps({"type": "send", "req": "r2", "client_id": "c2", "text": "x" * 1_100_000}))
        try:
            await asyncio.wait_for(ws.recv(), 10)
        except ConnectionClosed as closed:
            return refused, closed.rcvd.code if closed.rcvd is not None else 1006
        raise AssertionError("the socket stayed open after a 1.1 MB message")


def test_daphne_closes_sockets_sending_messages_far_past_the_frame_limit():
    assert "--websocket-max-message-size" in DAPHNE_LIMITS
    with ParleyServer() as server:
        public_id = server.manage("shell", "-c", MAKE_WIDGET).stdout.strip().splitlines()[-1]
        refused, code = asyncio.run(_frames(server.ws_url, public_id))
    assert refused["code"] == "too_large" and refused["req"] == "r1"
    assert code in (1009, 1006)  # autobahn fails the connection: 1009, or dropped without a close frame

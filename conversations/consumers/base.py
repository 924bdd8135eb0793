"""The consumer base both sockets share: frames in (``conversations.protocol``), one action per frame in a
database thread (``db``, ``db_grouped``), answers and channel-layer news out."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from .. import events, group_commit, metrics, origins, protocol, timers
from ..actions import sessions
from ..errors import RATE_LIMITED, UNAVAILABLE, ServiceError
from ..protocol import BadFrame
from .limits import TokenBucket, unregistered

logger = logging.getLogger("parley.sockets")


async def process_channel_messages(layer, channel: str, what: str) -> AsyncIterator[dict]:
    """The messages of a channel this process listens on for all its sockets (the supervisors' and the
    pick queues' hubs), for as long as the caller takes them: a failed receive (the layer unreachable) is
    logged and tried again a second later."""
    while True:
        try:
            message = await layer.receive(channel)
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("%s channel failed; trying again in a second", what)
            await asyncio.sleep(1)
            continue
        yield message


def in_database_thread(func):
    """``func`` made awaitable in a database thread.

    SQLite has one writer at a time, so all database work of the process runs in one thread (Channels'
    default). PostgreSQL serves many at once: the work runs in a pool of threads, each with its own
    connection, so one frame's round trips to the database do not hold up every other socket's frames
    (row locks keep each conversation's writes in order; clients order messages by ``seq``)."""
    if _one_database_thread():
        return database_sync_to_async(func)
    return database_sync_to_async(func, thread_sensitive=False, executor=_database_threads())


def db(func):
    """``func`` in a database thread; the news of the transactions it commits goes out from the event loop
    when it returns (``events.collect``), before the caller answers the client."""
    call = in_database_thread(functools.partial(events.collect, func))

    async def run(*args, **kwargs):
        result, news = await call(*args, **kwargs)
        await events.asend(news)
        return result

    return run


def db_grouped(func):
    """``db(func)`` for the message hot path: the calls that arrive while the database is busy with a group
    are stored together in one transaction (``conversations.group_commit``)."""

    async def run(*args, **kwargs):
        return await group_commit.for_this_loop(in_database_thread).call(func, *args, **kwargs)

    return run


@functools.cache
def _database_threads() -> ThreadPoolExecutor:
    """PostgreSQL: the pool of ``PARLEY_DB_THREADS`` threads the consumers' database work runs in."""
    return ThreadPoolExecutor(max_workers=settings.PARLEY_DB_THREADS, thread_name_prefix="parley-db")


@functools.cache
def _one_database_thread() -> bool:
    return settings.DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3"


class FrameConsumer(AsyncWebsocketConsumer):
    """Parses JSON frames and dispatches them to ``on_<type>`` handlers.

    A handler returns the answer frame (or None); ``ServiceError`` (``BadFrame`` is one) becomes a
    protocol error echoing ``req`` / ``client_id``. The socket stays open on every error unless a
    handler closes it.
    """

    commands: frozenset[str] = frozenset()
    # frames under the send bucket (``take_send_token``); every other kind takes a token of the frame bucket
    send_kinds: frozenset[str] = frozenset({"send", "leave_message"})
    groups_joined: list[str]
    held_ip: str | None = None
    socket_kind = ""  # set when accepted: the open-sockets metric counts it

    async def dispatch(self, message) -> None:
        """Channels' own ``dispatch`` first runs ``close_old_connections()`` in the database thread for every
        message: a thread trip for each frame and each piece of news, queued behind other sockets' database
        work. These consumers touch the database only through ``db()``, which does that cleanup around every
        call (``database_sync_to_async``), so here the handler runs at once."""
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def websocket_connect(self, message) -> None:
        self.groups_joined = []
        self.send_bucket = None  # made by the first send: an idle widget never needs one
        # every other frame, refused ones included (PARLEY_FRAME_RATE / PARLEY_FRAME_BURST)
        self.frame_bucket = TokenBucket(settings.PARLEY_FRAME_RATE, settings.PARLEY_FRAME_BURST)
        await super().websocket_connect(message)

    async def accept(self, subprotocol=None, headers=None) -> None:
        await super().accept(subprotocol, headers)
        self.socket_kind = type(self).__name__.removesuffix("Consumer").lower()  # customer, agent, supervisor
        metrics.socket_opened(self.socket_kind)

    async def websocket_disconnect(self, message) -> None:
        try:
            await super().websocket_disconnect(message)
        finally:
            if self.socket_kind:
                metrics.socket_closed(self.socket_kind)
                self.socket_kind = ""

    async def claim_ip_slot(self, kind: str = "customer") -> bool:
        """Count this socket against its kind's per-address limit, in every process: widget sockets
        (``customer``) against ``PARLEY_MAX_SOCKETS_PER_IP``, workspace sockets (``agent``) against
        ``PARLEY_MAX_AGENT_SOCKETS_PER_IP``, apart, so that customers never take the agents' room.
        False when over it."""
        ip = origins.client_ip(self.scope)
        limit = settings.PARLEY_MAX_AGENT_SOCKETS_PER_IP if kind == "agent" else settings.PARLEY_MAX_SOCKETS_PER_IP
        if not limit or not ip:
            return True
        key = f"{kind}:{ip}"
        self.held_ip = key
        unregistered.add(key)  # before the query: concurrent connects of this process see each other
        if await db(sessions.registered_sockets)(ip, kind) + unregistered.count(key) > limit:
            self.release_ip_slot()
            return False
        return True

    def release_ip_slot(self) -> None:
        """The socket has its Connection row now (or is gone): stop counting it here."""
        key, self.held_ip = self.held_ip, None
        if key is not None:
            unregistered.remove(key)

    def client_ip(self) -> str:
        return origins.client_ip(self.scope)

    def origin_allowed(self, allowed: list[str]) -> bool:
        return origins.origin_allowed(self.scope, allowed)

    async def join(self, group: str) -> None:
        await self.channel_layer.group_add(group, self.channel_name)
        self.groups_joined.append(group)

    async def leave(self, group: str) -> None:
        await self.channel_layer.group_discard(group, self.channel_name)
        self.groups_joined.remove(group)

    async def leave_groups(self) -> None:
        for group in self.groups_joined:
            await self.channel_layer.group_discard(group, self.channel_name)
        self.groups_joined = []

    async def send_json(self, frame: dict) -> None:
        await self.send(text_data=events.encode(frame))

    async def send_error(self, code: str, message: str, frame: dict | None = None) -> None:
        await self.send_json(protocol.error_frame(code, message, frame))

    async def receive(self, text_data=None, bytes_data=None) -> None:
        try:
            frame = protocol.parse(text_data, self.commands)
        except BadFrame as exc:
            refused = exc if self.frame_bucket.take() else protocol.rate_limited()  # a flood of bad frames
            await self.send_error(refused.code, refused.message, refused.echo)
            return
        kind = frame["type"]
        if kind not in self.send_kinds and not self.frame_bucket.take():
            await self.send_error(RATE_LIMITED, protocol.rate_limited().message, frame)
            return
        try:
            answer = await getattr(self, f"on_{kind}")(frame)
        except ServiceError as exc:
            await self.send_error(exc.code, exc.message, frame)
            return
        except Exception:
            logger.exception("%s frame failed", kind)
            await self.send_error(UNAVAILABLE, "The server could not handle this frame; try again.", frame)
            return
        if answer is not None:
            if "req" in frame and frame["req"] is not None:
                answer = {**answer, "req": frame["req"]}
            await self.send_json(answer)

    def take_send_token(self) -> None:
        if self.send_bucket is None:
            self.send_bucket = TokenBucket(settings.PARLEY_SEND_RATE, settings.PARLEY_SEND_BURST)
        if not self.send_bucket.take():
            raise protocol.rate_limited()

    # channel-layer news

    async def parley_frame(self, event) -> None:
        if event.get("exclude") != self.channel_name:
            await self.send(text_data=event["text"])

    async def parley_close(self, event) -> None:
        await self.close(code=event.get("code", 1000))

    async def register(self) -> None:
        timers.local_channels.add(self.channel_name)

    async def unregister(self) -> None:
        self.release_ip_slot()
        timers.local_channels.discard(self.channel_name)
        await self.leave_groups()


__all__ = ["BadFrame", "FrameConsumer", "db", "db_grouped", "events", "in_database_thread", "process_channel_messages"]

"""What both sockets share: frame parsing, errors, rate limits, the origin
check and relaying channel-layer news."""

from __future__ import annotations

import functools
import json
import logging
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from .. import events, group_commit, services, timers
from ..serializers import message_dict
from ..services import ServiceError

logger = logging.getLogger("parley.sockets")


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


def page_frame(kind: str, conversation, cursor: int, limit: int) -> dict:
    """The answer to ``sync`` (messages after ``cursor``) or ``history`` (before it)."""
    if kind == "sync":
        messages, has_more = services.messages_after(conversation, cursor, limit)
    else:
        messages, has_more = services.messages_before(conversation, cursor, limit)
    return {
        "type": kind,
        "conversation_id": str(conversation.id),
        "messages": [message_dict(m) for m in messages],
        "has_more": has_more,
    }


@functools.cache
def _database_threads() -> ThreadPoolExecutor:
    """PostgreSQL: the pool of ``PARLEY_DB_THREADS`` threads the consumers' database work runs in."""
    return ThreadPoolExecutor(max_workers=settings.PARLEY_DB_THREADS, thread_name_prefix="parley-db")


@functools.cache
def _one_database_thread() -> bool:
    return settings.DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3"


class BadFrame(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class TokenBucket:
    """``rate`` tokens per second, at most ``burst`` saved up."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = burst
        self.tokens = float(burst)
        self.stamp = time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


def header(scope, name: bytes) -> str:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin-1")
    return ""


def own_origin(scope) -> str:
    scheme = "https" if scope.get("scheme") in ("wss", "https") else "http"
    return f"{scheme}://{header(scope, b'host')}".lower()


def normalise_origin(origin: str) -> str:
    parts = urlsplit(origin.strip().lower())
    return f"{parts.scheme}://{parts.netloc}"


def client_ip(scope) -> str:
    client = scope.get("client") or ("", 0)
    return str(client[0] or "")


# Field readers: each raises BadFrame with a message that names the field.


def field_str(frame: dict, name: str) -> str:
    value = frame.get(name)
    if not isinstance(value, str):
        raise BadFrame("bad_request", f"'{name}' must be a string.")
    return value


def field_bool(frame: dict, name: str) -> bool:
    value = frame.get(name)
    if not isinstance(value, bool):
        raise BadFrame("bad_request", f"'{name}' must be true or false.")
    return value


def field_int(frame: dict, name: str, *, low: int, high: int | None = None, default: int | None = None) -> int:
    value = frame.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadFrame("bad_request", f"'{name}' must be an integer.")
    if value < low or (high is not None and value > high):
        bounds = f"{low}..{high}" if high is not None else f">= {low}"
        raise BadFrame("bad_request", f"'{name}' must be in {bounds}.")
    return value


# Sockets this process accepted that have no Connection row yet (a widget
# socket before its hello): counted against PARLEY_MAX_SOCKETS_PER_IP too, or
# a client could hold any number of sockets open until the hello timeout.
_unregistered_by_ip: Counter[str] = Counter()


def _registered_sockets(ip: str) -> int:
    from ..models import Connection

    return Connection.objects.filter(ip_address=ip).count()


class FrameConsumer(AsyncWebsocketConsumer):
    """Parses JSON frames and dispatches them to ``on_<type>`` handlers.

    A handler returns the answer frame (or None); ``ServiceError`` and
    ``BadFrame`` become protocol errors echoing ``req`` / ``client_id``. The
    socket stays open on every error unless a handler closes it.
    """

    commands: frozenset[str] = frozenset()
    groups_joined: list[str]

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
        self.send_bucket = TokenBucket(settings.PARLEY_SEND_RATE, settings.PARLEY_SEND_BURST)
        await super().websocket_connect(message)

    held_ip: str | None = None

    async def claim_ip_slot(self) -> bool:
        """Count this socket against ``PARLEY_MAX_SOCKETS_PER_IP`` (widget and
        workspace sockets together, in every process); False when over it."""
        ip = client_ip(self.scope)
        limit = settings.PARLEY_MAX_SOCKETS_PER_IP
        if not limit or not ip:
            return True
        self.held_ip = ip
        _unregistered_by_ip[ip] += 1  # before the query: concurrent connects of this process see each other
        if await db(_registered_sockets)(ip) + _unregistered_by_ip[ip] > limit:
            self.release_ip_slot()
            return False
        return True

    def release_ip_slot(self) -> None:
        """The socket has its Connection row now (or is gone): stop counting it here."""
        ip, self.held_ip = self.held_ip, None
        if ip is not None:
            _unregistered_by_ip[ip] -= 1
            if _unregistered_by_ip[ip] <= 0:
                del _unregistered_by_ip[ip]

    async def join(self, group: str) -> None:
        await self.channel_layer.group_add(group, self.channel_name)
        self.groups_joined.append(group)

    async def leave_groups(self) -> None:
        for group in self.groups_joined:
            await self.channel_layer.group_discard(group, self.channel_name)
        self.groups_joined = []

    async def send_json(self, frame: dict) -> None:
        await self.send(text_data=events.encode(frame))

    async def send_error(self, code: str, message: str, frame: dict | None = None) -> None:
        error = {"type": "error", "code": code, "message": message}
        if isinstance(frame, dict):
            for key in ("req", "client_id"):
                if isinstance(frame.get(key), str | int) and not isinstance(frame.get(key), bool):
                    error[key] = frame[key]
        await self.send_json(error)

    def origin_allowed(self, allowed: list[str]) -> bool:
        """Browsers always send ``Origin``; a client without one is not a
        browser page and cannot be a cross-site attack."""
        origin = header(self.scope, b"origin")
        if not origin:
            return True
        origin = normalise_origin(origin)
        return origin == own_origin(self.scope) or origin in {normalise_origin(o) for o in allowed}

    async def receive(self, text_data=None, bytes_data=None) -> None:
        if text_data is None:
            await self.send_error("bad_request", "Frames must be JSON text frames.")
            return
        if len(text_data) > settings.PARLEY_MAX_FRAME_BYTES or (
            len(text_data) * 4 > settings.PARLEY_MAX_FRAME_BYTES
            and len(text_data.encode("utf-8", "surrogatepass")) > settings.PARLEY_MAX_FRAME_BYTES
        ):
            await self.send_error(
                "too_large", f"A frame may be at most {settings.PARLEY_MAX_FRAME_BYTES} bytes.", _peek(text_data)
            )
            return
        try:
            frame = json.loads(text_data)
        except (ValueError, RecursionError):  # RecursionError: nesting deeper than Python allows
            await self.send_error("bad_request", "The frame is not valid JSON.")
            return
        if not isinstance(frame, dict):
            await self.send_error("bad_request", "A frame must be a JSON object.")
            return
        if ("\\u" in text_data and _has_lone_surrogate(frame)) or not _encodable(text_data):
            # JSON may spell a lone surrogate (\ud800); it is no character, cannot be stored, and echoing it
            # back would break the socket's UTF-8 encoding (found by tests/security/test_fuzz.py).
            await self.send_error("bad_request", "The frame contains an invalid Unicode escape (a lone surrogate).")
            return
        kind = frame.get("type")
        if not isinstance(kind, str) or kind not in self.commands:
            await self.send_error("bad_request", f"Unknown frame type {kind!r}.", frame)
            return
        for key in ("req", "client_id"):
            value = frame.get(key)
            if key in frame and value is not None and (isinstance(value, bool) or not isinstance(value, str | int)):
                await self.send_error("bad_request", f"'{key}' must be a string.")
                return
        try:
            answer = await getattr(self, f"on_{kind}")(frame)
        except (ServiceError, BadFrame) as exc:
            await self.send_error(exc.code, exc.message, frame)
            return
        except Exception:
            logger.exception("%s frame failed", kind)
            await self.send_error("unavailable", "The server could not handle this frame; try again.", frame)
            return
        if answer is not None:
            if "req" in frame and frame["req"] is not None:
                answer = {**answer, "req": frame["req"]}
            await self.send_json(answer)

    def take_send_token(self) -> None:
        if not self.send_bucket.take():
            raise BadFrame("rate_limited", "You are sending too fast; nothing was stored. Wait a moment and resend.")

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


def _encodable(text: str) -> bool:
    """False when the text itself holds a lone surrogate (possible inside one process, never on the wire)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _has_lone_surrogate(frame: dict) -> bool:
    try:
        json.dumps(frame, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _peek(text: str) -> dict | None:
    """The ``req``/``client_id`` of an oversized frame, when it parses."""
    if not _encodable(text):
        return None
    try:
        frame = json.loads(text)
    except (ValueError, RecursionError):
        return None
    return frame if isinstance(frame, dict) else None


__all__ = ["BadFrame", "FrameConsumer", "db", "events"]

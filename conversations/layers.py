"""The embedded default's channel layer.

Channels' ``InMemoryChannelLayer`` looks through every channel and every group
for expired entries on each ``send``, ``group_send`` and ``receive``: work in
proportion to all connections of the process, for every message. This layer
does that sweep at most once a second; an expired message or group membership
may live up to a second longer, which nothing in Parley can tell apart
(messages expire after a minute, memberships after a day). Its ``send`` and
``receive`` make a channel's queue only when the channel has none, and the
queue is a ``Mailbox``, not an ``asyncio.Queue``: every open socket waits on
its channel's queue for as long as it is open.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from copy import deepcopy

from channels.exceptions import ChannelFull
from channels.layers import InMemoryChannelLayer as ChannelsInMemoryChannelLayer


class Mailbox:
    """A channel's queue: what the layer needs of ``asyncio.Queue`` (``put_nowait``, ``get``,
    ``get_nowait``, ``empty`` and the ``_queue`` that Channels' expiry sweep reads), in 0.2 KiB instead of
    3.2 (measured with tracemalloc): an ``asyncio.Queue`` holds four deques of 0.6 KiB each (its items,
    getters, putters and an event's waiters) and an attribute dictionary. Every open socket waits on its
    channel's queue for as long as it is open (docs/performance.md, "Memory per idle widget")."""

    __slots__ = ("_getters", "_queue", "maxsize")

    def __init__(self, maxsize: int = 0) -> None:
        self._queue: list = []  # (expires, message), oldest first
        self._getters: list[asyncio.Future] = []
        self.maxsize = maxsize

    def empty(self) -> bool:
        return not self._queue

    def put_nowait(self, item) -> None:
        if 0 < self.maxsize <= len(self._queue):
            raise asyncio.QueueFull
        self._queue.append(item)
        self._wake_next()

    def get_nowait(self):
        if not self._queue:
            raise asyncio.QueueEmpty
        return self._queue.pop(0)

    async def get(self):
        """The oldest item, waiting for one (``asyncio.Queue.get``'s steps, cancellation included)."""
        while not self._queue:
            getter = asyncio.get_running_loop().create_future()
            self._getters.append(getter)
            try:
                await getter
            except BaseException:
                getter.cancel()
                with contextlib.suppress(ValueError):
                    self._getters.remove(getter)
                if self._queue and not getter.cancelled():
                    self._wake_next()  # it was woken for an item, then cancelled: the next one takes it
                raise
        return self.get_nowait()

    def _wake_next(self) -> None:
        while self._getters:
            getter = self._getters.pop(0)
            if not getter.done():
                getter.set_result(None)
                return


class InMemoryChannelLayer(ChannelsInMemoryChannelLayer):
    clean_interval = 1.0  # seconds

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._next_clean = 0.0

    def _queue(self, channel: str) -> Mailbox:
        """The channel's queue, made only when it has none: Channels' own ``send`` and ``receive`` build
        a new ``asyncio.Queue`` on every call (``dict.setdefault``'s argument) and throw it away when the
        channel has one: three deques and an event per send and per receive."""
        queue = self.channels.get(channel)
        if queue is None:
            queue = self.channels[channel] = Mailbox(maxsize=self.get_capacity(channel))
        return queue

    async def send(self, channel, message) -> None:
        assert isinstance(message, dict), "message is not a dict"  # noqa: S101 - Channels' own check
        self.require_valid_channel_name(channel)
        assert "__asgi_channel__" not in message  # noqa: S101
        try:
            self._put(channel, message, time.time() + self.expiry)
        except asyncio.QueueFull:
            raise ChannelFull(channel) from None

    async def receive(self, channel):
        self.require_valid_channel_name(channel)
        self._clean_expired()
        queue = self._queue(channel)
        try:
            _, message = await queue.get()
        finally:
            if queue.empty():
                self.channels.pop(channel, None)
        return message

    async def group_send(self, group, message) -> None:
        """Each member's copy goes straight into its queue. Channels' own ``group_send`` starts a task per
        member to do that and waits for them all: for a group of 200 sockets, 200 tasks a message."""
        assert isinstance(message, dict), "Message is not a dict"  # noqa: S101 - Channels' own check
        self.require_valid_group_name(group)
        self._clean_expired()
        expires = time.time() + self.expiry
        for channel in list(self.groups.get(group, ())):
            with contextlib.suppress(asyncio.QueueFull):  # Channels' own group_send drops a full member's copy too
                self._put(channel, message, expires)

    def _put(self, channel: str, message: dict, expires: float) -> None:
        """A copy of ``message`` into the channel's queue (``asyncio.QueueFull`` when it is full)."""
        self._queue(channel).put_nowait((expires, deepcopy(message)))

    def _clean_expired(self) -> None:
        now = time.monotonic()
        if now < self._next_clean:
            return
        self._next_clean = now + self.clean_interval
        super()._clean_expired()

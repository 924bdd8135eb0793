"""The embedded default's channel layer.

Channels' ``InMemoryChannelLayer`` looks through every channel and every group
for expired entries on each ``send``, ``group_send`` and ``receive``: work in
proportion to all connections of the process, for every message. This layer
does that sweep at most once a second; an expired message or group membership
may live up to a second longer, which nothing in Parley can tell apart
(messages expire after a minute, memberships after a day). Its ``send`` and
``receive`` make a channel's queue only when the channel has none.
"""

from __future__ import annotations

import asyncio
import time
from copy import deepcopy

from channels.exceptions import ChannelFull
from channels.layers import InMemoryChannelLayer as ChannelsInMemoryChannelLayer


class InMemoryChannelLayer(ChannelsInMemoryChannelLayer):
    clean_interval = 1.0  # seconds

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._next_clean = 0.0

    def _queue(self, channel: str) -> asyncio.Queue:
        """The channel's queue, made only when it has none: Channels' own ``send`` and ``receive`` build
        a new ``asyncio.Queue`` on every call (``dict.setdefault``'s argument) and throw it away when the
        channel has one: three deques and an event per send and per receive."""
        queue = self.channels.get(channel)
        if queue is None:
            queue = self.channels[channel] = asyncio.Queue(maxsize=self.get_capacity(channel))
        return queue

    async def send(self, channel, message) -> None:
        assert isinstance(message, dict), "message is not a dict"  # noqa: S101 - Channels' own check
        self.require_valid_channel_name(channel)
        assert "__asgi_channel__" not in message  # noqa: S101
        try:
            self._queue(channel).put_nowait((time.time() + self.expiry, deepcopy(message)))
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

    def _clean_expired(self) -> None:
        now = time.monotonic()
        if now < self._next_clean:
            return
        self._next_clean = now + self.clean_interval
        super()._clean_expired()

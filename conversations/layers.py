"""The embedded default's channel layer.

Channels' ``InMemoryChannelLayer`` looks through every channel and every group
for expired entries on each ``send``, ``group_send`` and ``receive``: work in
proportion to all connections of the process, for every message. This layer
does that sweep at most once a second; an expired message or group membership
may live up to a second longer, which nothing in Parley can tell apart
(messages expire after a minute, memberships after a day).
"""

from __future__ import annotations

import time

from channels.layers import InMemoryChannelLayer as ChannelsInMemoryChannelLayer


class InMemoryChannelLayer(ChannelsInMemoryChannelLayer):
    clean_interval = 1.0  # seconds

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._next_clean = 0.0

    def _clean_expired(self) -> None:
        now = time.monotonic()
        if now < self._next_clean:
            return
        self._next_clean = now + self.clean_interval
        super()._clean_expired()

"""Pick-queue news for the workspace sockets of one server process (one hub per event loop).

A change to a pick queue (``events.queue_changed``) goes to the queue's group on the channel layer. The
hub, not each socket, is the group's member here: it listens on a channel of its own, joined to the
groups of the queues its sockets follow, so a change reaches a process once however many of its agents
see that queue (before, each of 200 agent sockets got its own copy: 200 deliveries and dispatches per
change). The hub marks the queue changed. A round then computes each changed queue's page once
(``payloads.pick_queue_pages``: the oldest 200 items and the total, the same for every member), and every
socket that follows one of those queues gets one ``queue`` frame, encoded once per set of queues. Rounds
are at least ``PARLEY_QUEUE_NEWS_INTERVAL`` seconds apart, so a socket gets at most one ``queue`` frame per
interval however fast the queue changes: the changes of that time go out together.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref

from django.conf import settings

from .. import events
from ..actions import payloads
from .base import db, process_channel_messages

logger = logging.getLogger("parley.sockets")

# A queue group the hub joined stays joined this long after its last follower left (a socket subscribes
# before its welcome and follows after it), and is joined again this often: the in-memory layer's
# memberships expire after a day.
LEAVE_AFTER_SECONDS = 60.0
RENEW_SECONDS = 3600.0


class QueueNews:
    def __init__(self) -> None:
        self.followers: dict[str, set] = {}  # queue id -> the sockets that show its pick list
        self.dirty: set[str] = set()
        self.last_round = float("-inf")  # loop time of the last round's start
        self.pending: asyncio.TimerHandle | asyncio.Task | None = None
        self.rounds = 0  # rounds run (the benchmark reports it)
        self.pages_computed = 0  # queue pages computed (one per changed queue per round)
        # The latest page of each followed queue, valid until its next change: while a socket of this
        # process follows the queue, the process hears every change of it (the queue group). A welcome
        # and the next round use it instead of reading the queue again.
        self.pages: dict[str, payloads.QueuePage] = {}
        self.generation: dict[str, int] = {}  # changes heard per queue: a page read before one is stale
        # The queue groups this hub's channel is in: queue id -> (joined at, last wanted at), monotonic.
        self.joined: dict[str, tuple[float, float]] = {}
        self.channel: str | None = None
        self.layer = None
        self.listener: asyncio.Task | None = None
        self.renewer: asyncio.Task | None = None
        self.subscribing = asyncio.Lock()  # one channel and one listener, however many sockets connect at once

    async def subscribe(self, queue_ids) -> None:
        """Hear the changes of ``queue_ids`` in this process (call before reading what a socket shows)."""
        now = time.monotonic()
        async with self.subscribing:
            for queue_id in map(str, queue_ids):
                joined = self.joined.get(queue_id)
                if joined is None:
                    if not await self._listening():
                        return
                    await self.layer.group_add(events.queue_group(queue_id), self.channel)
                    joined = (now, now)
                self.joined[queue_id] = (joined[0], now)

    async def renew(self) -> None:
        """Leave the groups of queues nobody here has followed for a while; join the others again when
        their membership is old (every ``LEAVE_AFTER_SECONDS``, from ``_renewing``)."""
        now = time.monotonic()
        async with self.subscribing:
            for queue_id, (joined_at, wanted_at) in list(self.joined.items()):
                if queue_id in self.followers:
                    wanted_at = now
                if now - wanted_at > LEAVE_AFTER_SECONDS:
                    del self.joined[queue_id]
                    await self.layer.group_discard(events.queue_group(queue_id), self.channel)
                elif now - joined_at > RENEW_SECONDS:
                    await self.layer.group_add(events.queue_group(queue_id), self.channel)
                    self.joined[queue_id] = (now, wanted_at)
                else:
                    self.joined[queue_id] = (joined_at, wanted_at)

    async def _listening(self) -> bool:
        from channels.layers import get_channel_layer

        if self.listener is None or self.listener.done():
            self.layer = get_channel_layer()
            if self.layer is None:
                return False
            self.channel = await self.layer.new_channel("parley-queues.")
            self.joined.clear()  # a new channel is in no group yet
            loop = asyncio.get_running_loop()
            self.listener = loop.create_task(self._receive(), name="parley-queue-news")
            if self.renewer is None or self.renewer.done():
                self.renewer = loop.create_task(self._renewing(), name="parley-queue-news-renew")
        return True

    async def _renewing(self) -> None:
        while True:
            await asyncio.sleep(LEAVE_AFTER_SECONDS)
            try:
                await self.renew()
            except Exception:
                logger.exception("renewing the pick queue groups failed; trying again")

    async def _receive(self) -> None:
        async for message in process_channel_messages(self.layer, self.channel, "pick queue news"):
            if message.get("type") == events.QUEUE_CHANGED:
                self.changed(message["queue_id"])

    def snapshot(self) -> tuple[dict, dict]:
        """The cached pages and the generations they are valid for (a welcome reads the rest itself)."""
        return dict(self.pages), dict(self.generation)

    def store(self, pages: dict, generations: dict) -> None:
        """Keep ``pages`` read when the queues were at ``generations``, unless a change came since."""
        for queue_id, page in pages.items():
            queue_id = str(queue_id)
            if queue_id in self.followers and self.generation.get(queue_id, 0) == generations.get(queue_id, 0):
                self.pages[queue_id] = page

    def follow(self, socket, queue_ids) -> None:
        """``socket`` (with its ``queue_ids``, replaced here) shows the pick lists of ``queue_ids``."""
        self.unfollow(socket)
        socket.queue_ids = frozenset(str(queue_id) for queue_id in queue_ids)
        for queue_id in socket.queue_ids:
            self.followers.setdefault(queue_id, set()).add(socket)

    def unfollow(self, socket) -> None:
        for queue_id in getattr(socket, "queue_ids", ()):
            followers = self.followers.get(queue_id)
            if followers is not None:
                followers.discard(socket)
                if not followers:
                    del self.followers[queue_id]
                    self.pages.pop(queue_id, None)  # no news of it reaches this process any more
        socket.queue_ids = frozenset()

    def changed(self, queue_id) -> None:
        """The pick list of ``queue_id`` changed: its followers hear it in the next round."""
        queue_id = str(queue_id)
        self.generation[queue_id] = self.generation.get(queue_id, 0) + 1
        self.pages.pop(queue_id, None)
        if queue_id not in self.followers:
            return
        self.dirty.add(queue_id)
        self._schedule()

    def _schedule(self) -> None:
        if self.pending is not None or not self.dirty:
            return
        loop = asyncio.get_running_loop()
        delay = self.last_round + settings.PARLEY_QUEUE_NEWS_INTERVAL - loop.time()
        if delay <= 0:
            self.pending = loop.create_task(self._round())
        else:
            self.pending = loop.call_later(delay, self._start)

    def _start(self) -> None:
        self.pending = asyncio.get_running_loop().create_task(self._round())

    async def _round(self) -> None:
        loop = asyncio.get_running_loop()
        self.last_round = loop.time()
        dirty, self.dirty = self.dirty, set()
        try:
            sockets = {socket for queue_id in dirty for socket in self.followers.get(queue_id, ())}
            if sockets:
                await self._send(sockets)
        except Exception:  # the news is lost, the data is not: the next change or a reload shows it
            logger.exception("pick queue round failed")
        finally:
            self.pending = None
            self.rounds += 1
            self._schedule()  # changes that came in during the round: the next round, an interval later

    async def _send(self, sockets: set) -> None:
        cached, generations = self.snapshot()
        needed = sorted({queue_id for socket in sockets for queue_id in socket.queue_ids} - cached.keys())
        pages = await db(payloads.pick_queue_pages)(needed) if needed else {}
        self.pages_computed += len(needed)
        self.store(pages, generations)
        pages = {**cached, **pages}
        texts: dict[frozenset, str] = {}
        for socket in sockets:
            if not socket.queue_ids or not socket.queue_ids <= pages.keys():
                continue  # it left, or its queues changed (it sent its new list itself), meanwhile
            text = texts.get(socket.queue_ids)
            if text is None:
                text = texts[socket.queue_ids] = payloads.pick_queue_text([pages[q] for q in sorted(socket.queue_ids)])
            try:
                await socket.send(text_data=text)
            except Exception:  # a socket closing meanwhile
                logger.debug("queue frame to a closing socket dropped", exc_info=True)


_by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, QueueNews] = weakref.WeakKeyDictionary()


def hub() -> QueueNews:
    """This event loop's pick-queue news."""
    loop = asyncio.get_running_loop()
    news = _by_loop.get(loop)
    if news is None:
        news = _by_loop[loop] = QueueNews()
    return news

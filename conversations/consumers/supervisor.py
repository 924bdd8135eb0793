"""The supervisor socket: ``/ws/supervisor/`` (../shared/PROTOCOL.md "Supervisor socket"), for users
with the ``routing.supervise`` permission, authenticated by the Django session cookie.

The live figures come from ``StatsHub``: one per server process (per event loop), shared by all of the
process's supervisor sockets. It listens on the channel layer's ``supervisors`` group for news that
something changed (``events.stats_changed``: states, presence, capacity, offers), computes one round of
``live_stats.snapshot`` at most every ``PARLEY_SUPERVISOR_STATS_INTERVAL`` seconds when there was news
(or ``PARLEY_SUPERVISOR_REFRESH`` seconds passed), encodes the ``stats`` frame once and sends the same
text to every socket, only when the figures differ from the last ones sent. A stats round costs the
same with one supervisor or fifty.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
import weakref

from django.conf import settings

from .. import events, live_stats
from ..actions import supervision
from ..protocol import BadFrame, field_str
from .base import FrameConsumer, db, process_channel_messages

logger = logging.getLogger("parley.supervisor")


class StatsHub:
    """The live statistics of one process, computed once per round for all its supervisor sockets."""

    def __init__(self) -> None:
        self.sockets: set[SupervisorConsumer] = set()
        self.latest: dict | None = None  # the newest figures computed
        self.seen: dict[SupervisorConsumer, dict] = {}  # the figures each socket has (welcome or stats)
        self.dirty = True
        self.computed_at = 0.0
        self.rounds = 0  # how many rounds were computed (tests, benchmark)
        self._lock = asyncio.Lock()
        self._ticker: asyncio.Task | None = None
        self._listener: asyncio.Task | None = None
        self._channel: str | None = None
        self._layer = None

    async def add(self, socket: SupervisorConsumer) -> dict:
        """Register ``socket``; the figures for its ``welcome``."""
        self.sockets.add(socket)
        if self._ticker is None or self._ticker.done():
            self.dirty = True
            self._ticker = asyncio.get_running_loop().create_task(self._tick(), name="parley-supervisor-stats")
            await self._listen()
        figures = await self.current()
        self.seen[socket] = figures
        return figures

    async def remove(self, socket: SupervisorConsumer) -> None:
        self.sockets.discard(socket)
        self.seen.pop(socket, None)
        if not self.sockets:
            await self._stop()

    async def current(self) -> dict:
        """The figures now: computed again when there was news or they are older than a round."""
        async with self._lock:
            fresh = time.monotonic() - self.computed_at < settings.PARLEY_SUPERVISOR_STATS_INTERVAL
            if self.latest is None or self.dirty or not fresh:
                await self._compute()
            return self.latest

    async def _compute(self) -> None:
        self.dirty = False
        self.computed_at = time.monotonic()
        self.latest = await db(live_stats.snapshot)()
        self.rounds += 1

    async def round(self) -> None:
        """One round: compute when needed; the sockets whose figures differ get one ``stats`` frame,
        encoded once for all of them."""
        async with self._lock:
            stale = time.monotonic() - self.computed_at >= settings.PARLEY_SUPERVISOR_REFRESH
            if self.dirty or stale or self.latest is None:
                await self._compute()
            latest = self.latest
            behind = [s for s in list(self.sockets) if self.seen.get(s) is not latest and self.seen.get(s) != latest]
            for socket in self.sockets:
                self.seen[socket] = latest
            if not behind:
                return
            text = events.encode({"type": "stats", **latest})
        for socket in behind:
            try:
                await socket.send(text_data=text)
            except Exception:  # a socket closing right now; its disconnect removes it
                logger.debug("stats not sent to a closing supervisor socket", exc_info=True)

    async def _tick(self) -> None:
        while self.sockets:
            await asyncio.sleep(settings.PARLEY_SUPERVISOR_STATS_INTERVAL)
            try:
                await self.round()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("supervisor statistics round failed; trying again")

    async def _listen(self) -> None:
        """Join the ``supervisors`` group with this process's own channel and mark news of changes."""
        from channels.layers import get_channel_layer

        self._layer = get_channel_layer()
        if self._layer is None:
            return
        self._channel = await self._layer.new_channel("supervisors.")
        await self._layer.group_add(events.SUPERVISORS_GROUP, self._channel)
        self._listener = asyncio.get_running_loop().create_task(self._receive(self._layer, self._channel))

    async def _receive(self, layer, channel: str) -> None:
        joined = time.monotonic()
        async for message in process_channel_messages(
            layer, channel, "supervisor news (statistics refresh on their timer)"
        ):
            if message.get("type") == events.STATS_CHANGED:
                self.dirty = True
            if time.monotonic() - joined > 3600:  # group memberships expire after a day: renew
                await layer.group_add(events.SUPERVISORS_GROUP, channel)
                joined = time.monotonic()

    async def _stop(self) -> None:
        for task in (self._ticker, self._listener):
            if task is not None and not task.done():
                task.cancel()
        self._ticker = self._listener = None
        if self._layer is not None and self._channel is not None:
            try:
                await self._layer.group_discard(events.SUPERVISORS_GROUP, self._channel)
            except Exception:
                logger.debug("leaving the supervisors group failed", exc_info=True)
        self._layer = self._channel = None
        self.latest = None
        self.seen.clear()


_hubs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, StatsHub] = weakref.WeakKeyDictionary()


def hub() -> StatsHub:
    """This process's (this event loop's) hub."""
    loop = asyncio.get_running_loop()
    found = _hubs.get(loop)
    if found is None:
        found = _hubs[loop] = StatsHub()
    return found


def _canonical(conversation_id: str) -> str:
    try:
        return str(uuid.UUID(conversation_id))
    except ValueError:
        return conversation_id


def _load_supervisor(user):
    return user if supervision.is_supervisor(user) else None


class SupervisorConsumer(FrameConsumer):
    commands = frozenset({"watch", "unwatch", "transfer", "set_presence"})

    user = None
    watched: set[str]

    async def connect(self) -> None:
        self.watched = set()
        self.user = await db(_load_supervisor)(self.scope.get("user"))
        if self.user is None or not self.origin_allowed(settings.CSRF_TRUSTED_ORIGINS):
            await self.close()  # before accept: HTTP 403
            return
        await self.accept()
        await self.join(events.user_group(self.user.pk))  # closed when the user's access ends
        await self.register()  # closed with 1012 after a channel-layer outage, like every socket (layer_health)
        figures = await hub().add(self)
        name = await db(supervision.supervisor_name)(self.user)
        await self.send_json(
            {
                "type": "welcome",
                "supervisor": {"id": str(self.user.pk), "username": self.user.get_username(), "name": name},
                **figures,
            }
        )

    async def disconnect(self, code) -> None:
        if self.user is not None:
            await hub().remove(self)
        await self.unregister()

    async def on_watch(self, frame: dict):
        conversation_id = field_str(frame, "conversation_id")
        answer = await db(supervision.watch)(self.user.pk, conversation_id)
        key = answer["conversation"]["id"]
        if key not in self.watched:
            await self.join(events.watch_group(key))
            self.watched.add(key)
        return answer

    async def on_unwatch(self, frame: dict):
        conversation_id = _canonical(field_str(frame, "conversation_id"))
        if conversation_id in self.watched:
            await self.leave(events.watch_group(conversation_id))
            self.watched.discard(conversation_id)
        return {"type": "ok"}

    async def on_transfer(self, frame: dict):
        conversation_id = field_str(frame, "conversation_id")
        await db(supervision.transfer)(self.user.pk, conversation_id, frame.get("to"), frame.get("note"))
        return {"type": "ok"}

    async def on_set_presence(self, frame: dict):
        agent_id = frame.get("agent_id")
        if not isinstance(agent_id, str | int) or isinstance(agent_id, bool):
            raise BadFrame("bad_request", "'agent_id' must be a string.")
        status = field_str(frame, "status")
        await db(supervision.set_agent_presence)(self.user.pk, agent_id, status)
        return {"type": "ok"}

"""The server's own timers: every process runs one sweep loop.

The loop starts with the first request or socket the process serves (daphne
does not run ASGI lifespan), so the embedded default needs no extra process.
Each pass refreshes the heartbeats of this process's sockets and runs
``actions.sweep.sweep``; several processes may sweep at once because every change
re-checks its conditions under a row lock.
"""

from __future__ import annotations

import asyncio
import logging
import random

from channels.db import database_sync_to_async
from django.conf import settings

from . import layer_health
from .actions import sessions, sweep
from .webhooks import start as webhook_delivery

logger = logging.getLogger("parley.timers")

# channel names of the sockets this process holds (consumers add and remove)
local_channels: set[str] = set()
_task: asyncio.Task | None = None


async def _run_once() -> None:
    await layer_health.check(local_channels)  # after a channel-layer outage, sockets resync
    await database_sync_to_async(sessions.heartbeat)(list(local_channels))
    await database_sync_to_async(sweep.sweep)()


async def _loop() -> None:
    interval = settings.PARLEY_TIMER_INTERVAL
    while True:
        try:
            await _run_once()
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("timer sweep failed; trying again next interval")
        # A little jitter keeps several processes from sweeping in lockstep.
        await asyncio.sleep(interval * random.uniform(0.8, 1.0))


def ensure_started() -> None:
    global _task
    if _task is None or _task.done():
        _task = asyncio.get_running_loop().create_task(_loop(), name="parley-timers")
        # Webhook deliveries run in the server processes too (conversations/webhooks/start.py).
        webhook_delivery.ensure_started()


def start_with_first_call(app):
    """Wrap the ASGI application so that the first call starts the timers."""

    async def application(scope, receive, send):
        if scope["type"] in ("http", "websocket") and settings.PARLEY_TIMERS_ENABLED:
            ensure_started()
        return await app(scope, receive, send)

    return application

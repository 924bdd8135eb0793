"""Each server process delivers webhooks itself, like its timers (no extra daemon).

The dispatcher is a task on the process's event loop. It takes due outbox rows (``delivery.claim``, in a
database thread), runs each HTTP call in a pool of at most ``PARLEY_WEBHOOK_CONCURRENCY`` threads and
records the outcome (database thread again), so a slow or dead receiver occupies delivery threads, never
the event loop or the chat's database work. It wakes when this process commits an event
(``wakeup.wake``) or a delivery finishes, and polls every ``PARLEY_WEBHOOK_POLL_SECONDS`` for retries
that came due and for rows of other processes (after a crash: when their lease ran out).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import random
import time
from concurrent.futures import ThreadPoolExecutor

from channels.db import database_sync_to_async
from django.conf import settings

from . import delivery, subscriptions, wakeup

logger = logging.getLogger("parley.webhooks")

PRUNE_EVERY_SECONDS = 600


@functools.cache
def _http_threads() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=settings.PARLEY_WEBHOOK_CONCURRENCY, thread_name_prefix="parley-webhook")


def _claim(limit: int, prune: bool) -> list[delivery.Job]:
    if not subscriptions.any_enabled():
        return []
    if prune:
        delivery.prune()
    return delivery.claim(limit)


class Dispatcher:
    def __init__(self) -> None:
        self.event = asyncio.Event()
        self.in_flight: set[asyncio.Task] = set()
        self.pruned_at = 0.0

    async def run_once(self) -> int:
        """Start the delivery of as many due rows as there are free delivery threads; how many."""
        free = settings.PARLEY_WEBHOOK_CONCURRENCY - len(self.in_flight)
        if free <= 0:
            return 0
        prune = time.monotonic() - self.pruned_at > PRUNE_EVERY_SECONDS
        if prune:
            self.pruned_at = time.monotonic()
        jobs = await database_sync_to_async(_claim)(free, prune)
        loop = asyncio.get_running_loop()
        for job in jobs:
            task = loop.create_task(self._deliver(job), name=f"parley-webhook-{job.delivery_id}")
            self.in_flight.add(task)
            task.add_done_callback(self._done)
        return len(jobs)

    def _done(self, task: asyncio.Task) -> None:
        self.in_flight.discard(task)
        self.event.set()  # a thread is free, and the next event of that conversation may be due

    async def _deliver(self, job: delivery.Job) -> None:
        try:
            outcome = await asyncio.get_running_loop().run_in_executor(_http_threads(), delivery.post, job)
            await database_sync_to_async(delivery.record)(job, outcome)
        except Exception:  # the row stays leased and is tried again when the lease runs out
            logger.exception("webhook delivery %s failed unexpectedly", job.delivery_id)

    async def run_forever(self) -> None:
        wakeup.attach(asyncio.get_running_loop(), self.event)
        while True:
            self.event.clear()
            try:
                await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("webhook dispatch failed; trying again at the next poll")
            poll = settings.PARLEY_WEBHOOK_POLL_SECONDS * random.uniform(0.8, 1.0)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.event.wait(), timeout=poll)

    async def drain(self, timeout: float = 30) -> None:
        """Deliver until nothing is due and nothing is in flight (tests, benchmarks)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            started = await self.run_once()
            if self.in_flight:
                await asyncio.wait(set(self.in_flight), timeout=max(0.0, deadline - time.monotonic()))
            elif not started:
                return
        raise TimeoutError("webhook deliveries still due")


_task: asyncio.Task | None = None


def ensure_started() -> None:
    """Start this process's dispatcher on the running loop (``timers.ensure_started`` calls it)."""
    global _task
    if _task is None or _task.done() or _task.get_loop() is not asyncio.get_running_loop():
        _task = asyncio.get_running_loop().create_task(Dispatcher().run_forever(), name="parley-webhooks")

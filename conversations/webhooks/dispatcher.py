"""Each server process delivers webhooks itself, like its timers (no extra daemon).

The dispatcher is a task on an event loop: the loop of the server process's delivery process
(``worker``), or of the server process itself with ``PARLEY_WEBHOOK_PROCESS=false`` (``start``). In
rounds, it records the outcomes that finished since the last round and takes due outbox rows
(``delivery.record_many`` and ``delivery.claim``, one trip to a database thread), and runs each HTTP call
in a pool of at most ``PARLEY_WEBHOOK_CONCURRENCY`` threads (``sender``: kept-alive connections), so a
slow or dead receiver occupies delivery threads, never the event loop or the chat's database work. It
wakes when an event is committed (``wakeup.wake``) or a delivery finishes, and polls every
``PARLEY_WEBHOOK_POLL_SECONDS`` for retries that came due and for rows of other processes (after a
crash: when their lease ran out).
"""

from __future__ import annotations

import asyncio
import collections
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
# Events committed and deliveries finished within this window share one round (one database trip).
CLAIM_WINDOW_SECONDS = 0.05
QUEUED_PER_THREAD = 16  # claimed rows waiting per delivery thread, at most


@functools.cache
def _http_threads() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=settings.PARLEY_WEBHOOK_CONCURRENCY, thread_name_prefix="parley-webhook")


def _record_and_claim(finished: list, limit: int, prune: bool) -> list[delivery.Job]:
    """One trip to the database per round: store the finished deliveries, then lease up to ``limit``
    due rows (recorded first, so that the next event of a conversation just delivered may be taken)."""
    if finished:
        try:
            delivery.record_many(finished)
        except Exception:  # the rows stay leased and are tried again when the lease runs out
            logger.exception("recording %d webhook deliveries failed", len(finished))
    if limit <= 0 or not subscriptions.any_enabled():
        return []
    if prune:
        delivery.prune()
    return delivery.claim(limit)


class Dispatcher:
    """Claims due rows in batches into a local queue, posts them from at most ``PARLEY_WEBHOOK_CONCURRENCY``
    delivery threads, and records the outcomes in batches: however many events a busy chat writes, the
    database sees one trip per round, which records what finished since the last and claims the next."""

    def __init__(self) -> None:
        self.event = asyncio.Event()
        self.queue: collections.deque[delivery.Job] = collections.deque()
        self.in_flight: set[asyncio.Task] = set()  # the workers
        self.finished: list[tuple[delivery.Job, delivery.Outcome]] = []
        self.pruned_at = 0.0

    async def run_once(self) -> int:
        """Record what finished, claim due rows while the local queue has room and start workers; how
        many rows were claimed."""
        concurrency = settings.PARLEY_WEBHOOK_CONCURRENCY
        room = concurrency * QUEUED_PER_THREAD - len(self.queue)
        if room < concurrency:  # plenty queued: claim when it has drained
            room = 0
        batch, self.finished = self.finished, []
        if not batch and not room:
            return 0
        prune = bool(room) and time.monotonic() - self.pruned_at > PRUNE_EVERY_SECONDS
        if prune:
            self.pruned_at = time.monotonic()
        jobs = await database_sync_to_async(_record_and_claim)(batch, room, prune)
        self.queue.extend(jobs)
        loop = asyncio.get_running_loop()
        while self.queue and len(self.in_flight) < concurrency:
            task = loop.create_task(self._work(), name="parley-webhook-worker")
            self.in_flight.add(task)
            task.add_done_callback(self.in_flight.discard)
        return len(jobs)

    async def _work(self) -> None:
        loop = asyncio.get_running_loop()
        while self.queue:
            job = self.queue.popleft()
            if time.monotonic() > job.leased_until:  # held too long in the queue: another process may take it
                continue
            try:
                outcome = await loop.run_in_executor(_http_threads(), delivery.post, job)
            except Exception:  # the row stays leased and is tried again when the lease runs out
                logger.exception("webhook delivery %s failed unexpectedly", job.delivery_id)
                continue
            self.finished.append((job, outcome))
            self.event.set()  # the next round records it (and the next events of its conversation may be due)

    async def run_forever(self) -> None:
        wakeup.attach(asyncio.get_running_loop(), self.event.set)
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
            # Events committed in the same moment are taken by one claim, not one claim each.
            await asyncio.sleep(CLAIM_WINDOW_SECONDS)

    async def drain(self, timeout: float = 30) -> None:
        """Deliver until nothing is due and nothing is in flight (tests, benchmarks)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            started = await self.run_once()
            if self.in_flight:
                await asyncio.wait(set(self.in_flight), timeout=max(0.0, deadline - time.monotonic()))
            if not started and not self.in_flight and not self.finished:
                return
        raise TimeoutError("webhook deliveries still due")

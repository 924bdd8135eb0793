"""Group commit: the messages that arrive while the database thread is busy are stored in one transaction.

With SQLite all database work of a process runs in one thread, one writer at a time (``consumers.base.db``),
and under load every message paid for its own trip to that thread, its own ``BEGIN IMMEDIATE`` and its own
``COMMIT`` (the commit writes the changed pages to the write-ahead log). Here the calls that queue up while
the thread works on a group run together as the next group: one trip, one transaction, and each call in a
savepoint of its own, so a call that fails changes nothing and the others go on as if it had not been
there. The group's news goes out after the commit and before any caller gets its answer (store before you
acknowledge). Under light load a group is a single call and runs exactly as ``db()`` runs it.

Only the consumers' message hot path uses it (docs/performance.md); PostgreSQL serves many writers at once
and stores a message in one statement, so there ``db()`` is used as it is.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from typing import Any

from channels.db import database_sync_to_async
from django.db import transaction

from . import events

logger = logging.getLogger("parley.group_commit")

# (func, args, kwargs, future)
_Call = tuple[Any, tuple, dict, asyncio.Future]


def run_together(calls: list[tuple[Any, tuple, dict]]) -> tuple[list[tuple[bool, Any]], list]:
    """In the database thread: every ``func(*args, **kwargs)`` in one transaction, each in a savepoint.

    Returns ``([(ok, result or exception), ...], news)``. An exception of one call rolls back its savepoint
    only. If the transaction as a whole fails (``BEGIN`` or ``COMMIT``), it raises: nothing was stored."""
    if len(calls) == 1:
        func, args, kwargs = calls[0]
        try:
            result, news = events.collect(func, *args, **kwargs)
        except Exception as exc:  # collect has sent the news of what the call committed before it failed
            return [(False, exc)], []
        return [(True, result)], news

    def all_calls() -> list[tuple[bool, Any]]:
        outcomes = []
        with transaction.atomic():
            for func, args, kwargs in calls:
                try:
                    with transaction.atomic():
                        outcomes.append((True, func(*args, **kwargs)))
                except Exception as exc:
                    outcomes.append((False, exc))
        return outcomes

    return events.collect(all_calls)


class GroupCommit:
    """The calls of one event loop waiting for the database thread, and the task that runs them in groups."""

    def __init__(self) -> None:
        self.waiting: list[_Call] = []
        self.task: asyncio.Task | None = None
        self.run = database_sync_to_async(run_together)

    async def call(self, func, *args, **kwargs):
        future = asyncio.get_running_loop().create_future()
        self.waiting.append((func, args, kwargs, future))
        if self.task is None:
            self.task = asyncio.get_running_loop().create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        try:
            while self.waiting:
                group, self.waiting = self.waiting, []
                try:
                    outcomes, news = await self.run([(func, args, kwargs) for func, args, kwargs, _ in group])
                except asyncio.CancelledError:
                    for *_, future in group + self.waiting:
                        future.cancel()
                    self.waiting = []
                    raise
                except Exception as exc:  # the group's transaction failed: none of it was stored
                    logger.warning("a group of %d database call(s) failed: %s", len(group), exc)
                    outcomes, news = [(False, exc)] * len(group), []
                await events.asend(news)
                for (*_, future), (ok, value) in zip(group, outcomes, strict=True):
                    if future.done():  # its caller is gone (the socket closed)
                        continue
                    if ok:
                        future.set_result(value)
                    else:
                        future.set_exception(value)
        finally:
            self.task = None


_by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, GroupCommit] = weakref.WeakKeyDictionary()


def for_this_loop() -> GroupCommit:
    loop = asyncio.get_running_loop()
    group_commit = _by_loop.get(loop)
    if group_commit is None:
        group_commit = _by_loop[loop] = GroupCommit()
    return group_commit

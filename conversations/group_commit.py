"""Group commit: the messages that arrive while the database is busy are stored in one transaction.

Under load every message paid for its own trip to a database thread and its own transaction: with SQLite
``BEGIN IMMEDIATE`` and a ``COMMIT`` that writes the changed pages to the write-ahead log, with PostgreSQL a
commit that waits for its WAL flush (fsync). Here the calls that queue up while a group is being stored run
together as the next group: one trip, one transaction, one commit. Under light load a group is a single
call and runs exactly as ``db()`` runs it, in autocommit.

In a group each call runs as the service layer runs it alone (its own ``atomic`` blocks become savepoints,
its news waits for the commit). A call that fails with a service error (or any error that is not the
database's) is answered with it and the group goes on: what that call did outside its own ``atomic``
blocks stays, as it would have stayed in autocommit. If a call fails with a database error or leaves the
transaction marked for rollback, or the commit fails, the whole group is rolled back and every call runs
again alone. The group's news goes out after the commit and before any caller gets its answer (store
before you acknowledge). The webhook outbox rows of a group's messages go in with one statement before
its commit (``webhooks.outbox.batched``).

Only the consumers' message hot path uses it (``consumers.base.db_grouped``; docs/performance.md).
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from typing import Any

from django.db import DatabaseError, connection, transaction

from . import events
from .webhooks import outbox

logger = logging.getLogger("parley.group_commit")

Outcome = tuple[bool, Any]  # (True, result) or (False, exception)


class _GroupFailed(Exception):
    pass


def _alone(func, args, kwargs) -> tuple[Outcome, list]:
    try:
        result, news = events.collect(func, *args, **kwargs)
    except Exception as exc:  # collect has sent the news of what the call committed before it failed
        return (False, exc), []
    return (True, result), news


def _together(calls: list[tuple[Any, tuple, dict]]) -> list[Outcome]:
    outcomes = []
    with transaction.atomic(), outbox.batched():
        for func, args, kwargs in calls:
            try:
                outcomes.append((True, func(*args, **kwargs)))
            except DatabaseError as exc:
                raise _GroupFailed from exc
            except Exception as exc:
                outcomes.append((False, exc))
            if connection.needs_rollback:
                raise _GroupFailed
    return outcomes


def run_together(calls: list[tuple[Any, tuple, dict]]) -> tuple[list[Outcome], list]:
    """In a database thread: the ``(func, args, kwargs)`` calls in one transaction (see the module's text).
    Returns the outcomes in order and the news to send."""
    if len(calls) > 1:
        try:
            return events.collect(_together, calls)
        except (_GroupFailed, DatabaseError) as exc:
            cause = exc.__cause__ or exc
            logger.info("a group of %d calls was rolled back (%s); each runs alone", len(calls), cause)
    outcomes, news = [], events.News()
    for func, args, kwargs in calls:
        outcome, own_news = _alone(func, args, kwargs)
        outcomes.append(outcome)
        news.merge(own_news)
    return outcomes, news


class GroupCommit:
    """The calls of one event loop waiting for the database, and the task that runs them in groups."""

    def __init__(self, in_database_thread) -> None:
        self.waiting: list[tuple[Any, tuple, dict, asyncio.Future]] = []
        self.task: asyncio.Task | None = None
        self.run = in_database_thread(run_together)

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
                except Exception as exc:  # not a call's failure: the thread could not run the group
                    logger.exception("a group of %d database calls could not run", len(group))
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


def for_this_loop(in_database_thread) -> GroupCommit:
    """This event loop's group commit; ``in_database_thread(func)`` makes ``func`` awaitable in a database
    thread (``consumers.base``)."""
    loop = asyncio.get_running_loop()
    group_commit = _by_loop.get(loop)
    if group_commit is None:
        group_commit = _by_loop[loop] = GroupCommit(in_database_thread)
    return group_commit

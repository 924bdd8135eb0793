"""Group commit (conversations/group_commit.py): calls that queue up while the database is busy run together
in one transaction; a database error or a failed commit sends every call of the group to run alone."""

from __future__ import annotations

import asyncio
import threading

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.db import OperationalError, connection, connections, transaction

from conversations import events, group_commit
from conversations.consumers.base import in_database_thread
from conversations.errors import ServiceError
from conversations.models import Customer

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


def _add_customer(name: str, *, fail: bool = False, broken: bool = False, news: bool = False):
    """Like a service: its writes in an atomic block of its own. Returns whether it ran in a transaction
    (a group's) and with its name."""
    in_group = connection.in_atomic_block
    if broken:
        with connection.cursor() as cursor:
            cursor.execute("SELECT * FROM no_such_table")
    with transaction.atomic():
        Customer.objects.create(name=name)
        if news:
            events.to_customer(name, "ws", {"type": "notice", "text": name})
        if fail:
            raise ServiceError("not_allowed", f"{name} refused")
    return name, in_group


def _stored() -> list[str]:
    return sorted(Customer.objects.values_list("name", flat=True))


async def _queued_behind_a_busy_thread(calls: list[tuple]) -> tuple[list[asyncio.Future], threading.Event]:
    """Occupy the database with one call, queue ``calls`` behind it; they start when the event is set."""
    started, release = threading.Event(), threading.Event()

    def blocker():
        started.set()
        assert release.wait(10)
        return "alone", connection.in_atomic_block

    runner = group_commit.for_this_loop(in_database_thread)
    first = asyncio.ensure_future(runner.call(blocker))
    await asyncio.to_thread(started.wait, 10)
    queued = [asyncio.ensure_future(runner.call(_add_customer, *args, **kwargs)) for args, kwargs in calls]
    await asyncio.sleep(0.05)
    assert not first.done() and not any(call.done() for call in queued)
    return [first, *queued], release


async def test_calls_that_wait_run_as_one_group_and_a_refused_call_changes_nothing(monkeypatch):
    order = []
    send_news = events.asend

    async def recording(news):
        await send_news(news)
        if news:
            await asyncio.sleep(0.01)  # answers given before the news would be seen now
            order.append(f"{len(news)} news")

    monkeypatch.setattr(events, "asend", recording)
    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.group_add(events.customer_group("c", "ws"), channel)

    (first, a, b, c), release = await _queued_behind_a_busy_thread(
        [(("a",), {}), (("b",), {"fail": True}), (("c",), {"news": True})]
    )
    for call, name in ((a, "a"), (b, "b"), (c, "c")):
        call.add_done_callback(lambda _, name=name: order.append(f"answer {name}"))
    release.set()

    assert await first == ("alone", False)  # a group of one runs as db() runs it, in autocommit
    assert await a == ("a", True)  # the others: one group, one transaction
    with pytest.raises(ServiceError, match="b refused"):
        await b
    assert await c == ("c", True)
    await asyncio.sleep(0.01)  # done callbacks run in the loop's next rounds
    assert order == ["1 news", "answer a", "answer b", "answer c"]  # the news first, then the answers
    assert '"text":"c"' in (await asyncio.wait_for(layer.receive(channel), 5))["text"]
    assert await database_sync_to_async(_stored)() == ["a", "c"]


async def test_a_database_error_rolls_the_group_back_and_each_call_runs_alone():
    (first, a, broken, c), release = await _queued_behind_a_busy_thread(
        [(("a",), {}), (("x",), {"broken": True}), (("c",), {})]
    )
    release.set()
    await first
    assert await a == ("a", False) and await c == ("c", False)  # stored alone, once
    with pytest.raises(Exception, match="no_such_table"):
        await broken
    assert await database_sync_to_async(_stored)() == ["a", "c"]


async def test_a_failed_group_commit_stores_nothing_twice(monkeypatch):
    calls, release = await _queued_behind_a_busy_thread([(("d",), {}), (("e",), {})])
    commit = type(connections["default"])._commit
    failures = []

    def first_commit_fails(self):
        if not failures:  # the group's
            failures.append(True)
            raise OperationalError("disk I/O error")
        return commit(self)

    monkeypatch.setattr(type(connections["default"]), "_commit", first_commit_fails)
    release.set()
    await calls[0]
    assert [await call for call in calls[1:]] == [("d", False), ("e", False)]
    assert failures and await database_sync_to_async(_stored)() == ["d", "e"]

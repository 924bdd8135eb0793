"""Group commit (conversations/group_commit.py): calls that queue up while the database thread is busy run
together in one transaction, each in a savepoint of its own."""

from __future__ import annotations

import asyncio
import threading

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.db import OperationalError, connection, connections

from conversations import events, group_commit
from conversations.models import Customer
from conversations.services import ServiceError

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


def _where_am_i() -> tuple[bool, int]:
    """Inside a transaction? How many savepoints deep?"""
    return connection.in_atomic_block, len(connection.savepoint_ids)


def _add_customer(name: str, *, fail: bool = False, news_to: str | None = None):
    Customer.objects.create(name=name)
    if news_to is not None:
        events.to_customer(name, "ws", {"type": "notice", "text": name}, exclude=None)
    if fail:
        raise ServiceError("not_allowed", f"{name} refused")
    return name, _where_am_i()


async def test_calls_that_wait_run_as_one_group_and_a_failing_call_changes_nothing(monkeypatch):
    started, release = threading.Event(), threading.Event()
    order = []
    send_news = events.asend

    async def recording(news):
        await send_news(news)
        if news:
            await asyncio.sleep(0.01)  # answers given before the news would be seen now
            order.append(f"{len(news)} news")

    monkeypatch.setattr(events, "asend", recording)

    def blocker():
        started.set()
        assert release.wait(10)
        return _where_am_i()

    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.group_add(events.customer_group("c", "ws"), channel)

    runner = group_commit.for_this_loop()
    first = asyncio.ensure_future(runner.call(blocker))
    await asyncio.to_thread(started.wait, 10)
    waiting = [
        asyncio.ensure_future(runner.call(_add_customer, "a")),
        asyncio.ensure_future(runner.call(_add_customer, "b", fail=True)),
        asyncio.ensure_future(runner.call(_add_customer, "c", news_to="c")),
    ]
    for call, name in zip(waiting, "abc", strict=True):
        call.add_done_callback(lambda _, name=name: order.append(f"answer {name}"))
    await asyncio.sleep(0.05)
    assert not any(call.done() for call in waiting)
    release.set()

    assert await first == (False, 0)  # alone: no transaction of its own around it, as db() runs it
    name, (in_transaction, savepoints) = await waiting[0]
    assert name == "a" and in_transaction and savepoints == 1  # the group's transaction, its own savepoint
    with pytest.raises(ServiceError, match="b refused"):
        await waiting[1]
    assert (await waiting[2])[0] == "c"
    await asyncio.sleep(0.01)  # done callbacks run in the loop's next rounds
    assert order == ["1 news", "answer a", "answer b", "answer c"]  # news first, then the answers
    assert '"text":"c"' in (await asyncio.wait_for(layer.receive(channel), 5))["text"]

    stored = await database_sync_to_async(lambda: sorted(Customer.objects.values_list("name", flat=True)))()
    assert stored == ["a", "c"]


async def test_a_group_whose_transaction_fails_stores_nothing_and_tells_every_caller(monkeypatch):
    started, release = threading.Event(), threading.Event()

    def blocker():
        started.set()
        assert release.wait(10)

    runner = group_commit.for_this_loop()
    first = asyncio.ensure_future(runner.call(blocker))
    await asyncio.to_thread(started.wait, 10)
    waiting = [asyncio.ensure_future(runner.call(_add_customer, name)) for name in ("d", "e")]
    await asyncio.sleep(0.05)

    def refuse_commit(*args, **kwargs):
        raise OperationalError("disk I/O error")

    monkeypatch.setattr(type(connections["default"]), "_commit", refuse_commit)
    release.set()
    await first
    for call in waiting:
        with pytest.raises(Exception, match="disk I/O error"):
            await call
    monkeypatch.undo()
    assert not await database_sync_to_async(Customer.objects.filter(name__in=["d", "e"]).exists)()

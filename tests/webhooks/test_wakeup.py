"""``webhooks.wakeup``: committed events wake the dispatcher once per turn of its loop, never not at all."""

from __future__ import annotations

import asyncio
import threading

import pytest

from conversations.webhooks import wakeup

pytestmark = pytest.mark.asyncio


async def test_many_commits_at_once_wake_the_dispatcher_once_and_a_later_one_again():
    calls = []
    wakeup.attach(asyncio.get_running_loop(), lambda: calls.append(1))
    try:
        burst = threading.Thread(target=lambda: [wakeup.wake() for _ in range(100)])
        burst.start()
        burst.join()
        await asyncio.sleep(0.05)
        assert calls == [1]

        await asyncio.to_thread(wakeup.wake)  # after the wake-up ran, the next commit wakes it again
        await asyncio.sleep(0.05)
        assert calls == [1, 1]
    finally:
        wakeup.attach(None, None)


async def test_a_wake_without_a_dispatcher_does_nothing():
    wakeup.attach(None, None)
    wakeup.wake()  # no loop attached (a management command, a test): nothing to wake, no error

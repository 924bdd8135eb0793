"""The embedded channel layer (conversations/layers.py): a channel's queue is a small ``Mailbox``, built
only when the channel has none (Channels' own layer built an ``asyncio.Queue`` on every send and every
receive), and a group's news goes straight into its members' queues."""

import asyncio

import pytest

from conversations import layers


def test_messages_go_through_one_queue_per_channel_without_a_throwaway_queue_per_call(monkeypatch):
    made = []
    real = layers.Mailbox

    class CountingMailbox(real):
        __slots__ = ()

        def __init__(self, *args, **kwargs):
            made.append(1)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(layers, "Mailbox", CountingMailbox)

    async def relay():
        layer = layers.InMemoryChannelLayer()
        channel = await layer.new_channel()
        received = []
        for i in range(10):
            await layer.send(channel, {"type": "x", "n": i})
            received.append((await layer.receive(channel))["n"])
        return received

    assert asyncio.run(relay()) == list(range(10))
    assert len(made) == 10  # one per message (an emptied channel is dropped), not three


def test_a_full_channel_refuses_more():
    from channels.exceptions import ChannelFull

    async def flood():
        layer = layers.InMemoryChannelLayer(capacity=2)
        channel = await layer.new_channel()
        await layer.send(channel, {"type": "x"})
        await layer.send(channel, {"type": "x"})
        with pytest.raises(ChannelFull):
            await layer.send(channel, {"type": "x"})

    asyncio.run(flood())


def test_group_send_puts_a_copy_in_each_members_queue_and_skips_a_full_one(monkeypatch):
    tasks = []
    real_create_task = asyncio.BaseEventLoop.create_task

    def counting_create_task(loop, coro, **kwargs):
        tasks.append(coro)
        return real_create_task(loop, coro, **kwargs)

    async def fan_out():
        layer = layers.InMemoryChannelLayer(capacity=1)
        full, first, second = [await layer.new_channel() for _ in range(3)]
        for channel in (full, first, second):
            await layer.group_add("queue.1", channel)
        await layer.send(full, {"type": "before"})
        message = {"type": "news", "items": [1]}
        monkeypatch.setattr(asyncio.BaseEventLoop, "create_task", counting_create_task)
        await layer.group_send("queue.1", message)
        monkeypatch.undo()
        got = [await layer.receive(channel) for channel in (full, first, second)]
        got[1]["items"].append(2)  # each member has its own copy
        return got, message

    got, message = asyncio.run(fan_out())
    assert got == [{"type": "before"}, {"type": "news", "items": [1, 2]}, {"type": "news", "items": [1]}]
    assert message == {"type": "news", "items": [1]}
    assert tasks == []  # no task per member (Channels' own group_send starts one each)


def test_a_mailbox_gives_each_item_to_one_waiter_in_order():
    async def waiters():
        box = layers.Mailbox()
        first = asyncio.ensure_future(box.get())
        second = asyncio.ensure_future(box.get())
        await asyncio.sleep(0)
        box.put_nowait("a")
        box.put_nowait("b")
        return await first, await second, box.empty()

    assert asyncio.run(waiters()) == ("a", "b", True)


def test_a_cancelled_waiter_loses_no_item():
    async def cancelled():
        box = layers.Mailbox()
        gone = asyncio.ensure_future(box.get())
        woken = asyncio.ensure_future(box.get())
        other = asyncio.ensure_future(box.get())
        await asyncio.sleep(0)
        gone.cancel()  # cancelled while it waits: the next item goes to a waiter still there
        await asyncio.sleep(0)
        box.put_nowait("a")  # wakes `woken`...
        woken.cancel()  # ...which is cancelled before it runs: its item passes to `other`
        await asyncio.sleep(0)
        return gone.cancelled(), woken.cancelled(), await other, box.empty()

    assert asyncio.run(cancelled()) == (True, True, "a", True)


def test_a_full_mailbox_refuses_and_channels_expiry_sweep_empties_it():
    import time

    async def expire():
        layer = layers.InMemoryChannelLayer(capacity=1, expiry=60)
        channel = await layer.new_channel()
        await layer.group_add("g", channel)
        await layer.send(channel, {"type": "x"})
        box = layer.channels[channel]
        with pytest.raises(asyncio.QueueFull):
            box.put_nowait((time.time() + 60, {"type": "y"}))
        box._queue[0] = (time.time() - 1, box._queue[0][1])  # its message expired
        layer._next_clean = 0.0
        layer._clean_expired()
        return channel in layer.channels, layer.groups.get("g", {})

    assert asyncio.run(expire()) == (False, {})  # the channel and its group membership went with it

"""The embedded channel layer builds a channel's queue only when the channel has none
(conversations/layers.py); Channels' own layer built one on every send and every receive."""

import asyncio

import pytest

from conversations import layers


def test_messages_go_through_one_queue_per_channel_without_a_throwaway_queue_per_call(monkeypatch):
    made = []
    real = asyncio.Queue

    class CountingQueue(real):
        def __init__(self, *args, **kwargs):
            made.append(1)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(layers.asyncio, "Queue", CountingQueue)

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

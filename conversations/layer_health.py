"""Recovering from a channel-layer outage (Redis restarted or unreachable).

The database is the truth and the channel layer only carries news
(``events``); news published while Redis is down is lost, and the sockets do
not notice: Channels keeps them open. Each timer pass therefore sends one
probe message through the layer to this process and waits for it. When a
probe fails, news may have been lost; at the first probe that succeeds again,
every socket of this process is closed with 1012 ("service restart"), and
the clients do what they do after any drop: reconnect, ``sync`` from the last
seq they hold and resend what was not acknowledged
(tests/security/test_crash.py). An outage shorter than one timer interval can
pass between two probes unnoticed; docs/security.md says so.
"""

from __future__ import annotations

import asyncio
import logging
import uuid

from channels.layers import get_channel_layer

from . import events, metrics

logger = logging.getLogger("parley.layer")

CLOSE_RESYNC = 1012
PROBE_TIMEOUT = 3.0

_probe_channel: str | None = None
_resync_needed = False


async def _round_trip(layer) -> bool:
    global _probe_channel
    if _probe_channel is None:
        _probe_channel = await layer.new_channel("parley-probe.")
    nonce = uuid.uuid4().hex
    await layer.send(_probe_channel, {"type": "parley.probe", "nonce": nonce})
    while True:
        message = await layer.receive(_probe_channel)
        if message.get("nonce") == nonce:
            return True


async def check(local_channels: set[str]) -> bool:
    """One probe; returns whether the layer works. Closes this process's
    sockets after an outage, once the layer works again."""
    global _probe_channel, _resync_needed
    layer = get_channel_layer()
    if layer is None:
        return True
    try:
        await asyncio.wait_for(_round_trip(layer), PROBE_TIMEOUT)
    except Exception as exc:  # noqa: BLE001 - any failure means news may have been lost
        metrics.channel_layer_probed(False)
        if not _resync_needed:
            logger.warning("channel layer unavailable (%s); sockets will resync when it is back", exc)
        _resync_needed = True
        _probe_channel = None  # a failed receive may have dropped the channel's subscription
        return False
    metrics.channel_layer_probed(True)
    if _resync_needed:
        _resync_needed = False
        names = list(local_channels)
        logger.warning("channel layer back; closing %d sockets so that their clients resync", len(names))
        for name in names:
            try:
                await layer.send(name, {"type": events.CLOSE, "code": CLOSE_RESYNC})
            except Exception:  # noqa: BLE001 - the next probe decides again
                _resync_needed = True
                break
    return True

"""Waiting in an async test for something another process or task brings about."""

from __future__ import annotations

import asyncio
import time


async def until(predicate, timeout: float = 20, interval: float = 0.05):
    """Poll ``predicate()`` until it returns something true, and return that; fail after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not reached within {timeout} s")
        await asyncio.sleep(interval)
    return value

"""How a committed event wakes this process's dispatcher at once instead of at its next poll."""

from __future__ import annotations

import asyncio
import contextlib

_loop: asyncio.AbstractEventLoop | None = None
_event: asyncio.Event | None = None


def attach(loop: asyncio.AbstractEventLoop, event: asyncio.Event) -> None:
    """The dispatcher of this process waits on ``event`` in ``loop``."""
    global _loop, _event
    _loop, _event = loop, event


def wake() -> None:
    """From any thread (an ``on_commit`` hook in a database thread): new rows are due now."""
    loop, event = _loop, _event
    if loop is None or event is None or loop.is_closed():
        return
    # Already woken and not yet cleared: the dispatcher clears the event before it claims, so the rows
    # committed before this call are taken by that claim (a busy chat wakes the loop once per round,
    # not once per message).
    if event.is_set():
        return
    with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
        loop.call_soon_threadsafe(event.set)

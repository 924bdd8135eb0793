"""How a committed event wakes this process's dispatcher (or its delivery process) at once instead of at
its next poll."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

_loop: asyncio.AbstractEventLoop | None = None
_target: Callable[[], None] | None = None
_pending = False


def attach(loop: asyncio.AbstractEventLoop | None, target: Callable[[], None] | None) -> None:
    """``target`` (run in ``loop``) wakes the dispatcher: its event's ``set``, or a byte to the child."""
    global _loop, _target
    _loop, _target = loop, target


def wake() -> None:
    """From any thread (an ``on_commit`` hook in a database thread): new rows are due now.

    While a wake-up is scheduled and has not run, further calls add nothing: the one scheduled runs after
    their commits, and the dispatcher claims after it runs (a busy chat wakes it once per turn of the
    event loop, not once per message)."""
    global _pending
    loop, target = _loop, _target
    if loop is None or target is None or loop.is_closed() or _pending:
        return
    _pending = True
    try:
        loop.call_soon_threadsafe(_fire, target)
    except RuntimeError:  # the loop closed meanwhile
        _pending = False


def _fire(target: Callable[[], None]) -> None:
    global _pending
    _pending = False
    with contextlib.suppress(Exception):
        target()

"""Giving the memory the process freed back to the system (glibc's ``malloc_trim``).

A server process that replaces its sockets all day frees each old socket's objects, but glibc keeps the
freed pages in its heaps and hands them to later allocations only where they fit. The process's RSS then
grows with the turnover of its sockets for a while (a 30-minute soak: +5.67% over 14 minutes, then flat;
docs/performance.md). ``malloc_trim(0)`` returns every whole free page of every heap to the system. The
timer loop calls it at most once per ``PARLEY_MEMORY_TRIM_SECONDS``, in a thread: it takes a few
milliseconds and releases the interpreter lock meanwhile. Where the C library has no ``malloc_trim``
(musl, macOS) nothing is done.
"""

from __future__ import annotations

import ctypes
import logging
import time

from django.conf import settings

logger = logging.getLogger("parley.timers")


def _malloc_trim():
    try:
        return ctypes.CDLL(None).malloc_trim  # the C library the interpreter itself runs on
    except (OSError, AttributeError):
        return None


_trim = _malloc_trim()
_last = float("-inf")  # time.monotonic() of the last trim


def available() -> bool:
    return _trim is not None


def trim() -> bool:
    """Return the free pages to the system now; whether any memory was released."""
    if _trim is None:
        return False
    started = time.perf_counter()
    released = bool(_trim(0))
    logger.debug("malloc_trim: released=%s in %.1f ms", released, (time.perf_counter() - started) * 1000)
    return released


def due(now: float | None = None) -> bool:
    """Whether the timer loop should trim now (and if so, it counts as done)."""
    global _last
    interval = settings.PARLEY_MEMORY_TRIM_SECONDS
    if not interval or _trim is None:
        return False
    now = time.monotonic() if now is None else now
    if now - _last < interval:
        return False
    _last = now
    return True

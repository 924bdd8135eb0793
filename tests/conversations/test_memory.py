"""The server gives freed memory back to the system (conversations/memory.py, docs/performance.md)."""

import pytest

from conversations import memory

pytestmark = pytest.mark.skipif(not memory.available(), reason="the C library has no malloc_trim (not glibc)")

PAGE = 4096


def _rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * PAGE


def test_trim_returns_the_pages_that_freed_objects_left_inside_the_heap():
    # 64 KiB blocks (from the C heap, below glibc's mmap threshold), each followed by a small block that
    # stays: the freed blocks sit between live ones, so free() alone cannot shrink the heap.
    blocks, keep = [], []
    for i in range(1000):
        blocks.append(bytes([i % 256]) * 65_000)
        keep.append(bytes([i % 256]) * 600)
    del blocks
    before = _rss_bytes()
    assert memory.trim()
    assert before - _rss_bytes() > 30 * 1024 * 1024  # most of the 62 MiB freed went back
    assert len(keep) == 1000


def test_the_timer_loop_trims_at_most_once_per_interval(settings, monkeypatch):
    monkeypatch.setattr(memory, "_last", float("-inf"))
    settings.PARLEY_MEMORY_TRIM_SECONDS = 60
    assert memory.due(now=1000.0)
    assert not memory.due(now=1059.0)
    assert memory.due(now=1060.0)
    settings.PARLEY_MEMORY_TRIM_SECONDS = 0
    assert not memory.due(now=5000.0)

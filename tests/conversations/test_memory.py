"""The server gives freed memory back to the system (conversations/memory.py, docs/performance.md)."""

import subprocess
import sys

import pytest
from django.conf import settings

from conversations import memory

pytestmark = pytest.mark.skipif(not memory.available(), reason="the C library has no malloc_trim (not glibc)")

# Run in a fresh interpreter: in the test process, earlier tests' free space decides where the blocks go.
FRAGMENTED_HEAP = """
import sys
from conversations import memory

def rss():
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * 4096

# 64 KiB blocks (from the C heap, below glibc's mmap threshold), each followed by a small block that stays:
# the freed blocks sit between live ones, so free() alone cannot shrink the heap.
blocks, keep = [], []
for i in range(1000):
    blocks.append(bytes([i % 256]) * 65_000)
    keep.append(bytes([i % 256]) * 600)
del blocks
before = rss()
released = memory.trim()
print(released, before - rss(), len(keep))
"""


def test_trim_returns_the_pages_that_freed_objects_left_inside_the_heap():
    out = subprocess.run(
        [sys.executable, "-c", FRAGMENTED_HEAP], capture_output=True, text=True, check=True, cwd=settings.BASE_DIR
    ).stdout.split()
    assert out[0] == "True"
    assert int(out[1]) > 30 * 1024 * 1024  # most of the 62 MiB freed went back
    assert out[2] == "1000"


def test_the_timer_loop_trims_at_most_once_per_interval(settings, monkeypatch):
    monkeypatch.setattr(memory, "_last", float("-inf"))
    settings.PARLEY_MEMORY_TRIM_SECONDS = 60
    assert memory.due(now=1000.0)
    assert not memory.due(now=1059.0)
    assert memory.due(now=1060.0)
    settings.PARLEY_MEMORY_TRIM_SECONDS = 0
    assert not memory.due(now=5000.0)

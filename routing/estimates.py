"""The arithmetic of queue position and average wait time for live chat (docs/routing.md); the news
itself is sent by ``conversations.actions.queueing``.

Average wait: an exponential moving average of how long live conversations
of the queue waited before an agent took them, with the smoothing factor
``2 / (N + 1)`` for a window of N = 20 conversations (the enterprise suite's
window); the first observed wait seeds it. Customers are told the average
only when the queue has observed at least ``MIN_SAMPLES`` waits and the
average is above ``SHOW_AVERAGE_ABOVE_SECONDS`` (the reference shows it only
above one minute): a short or unknown wait is not worth a message.

Position: 1 + the open conversations of the queue ahead in line (oldest
first, the order routing serves). A customer hears it when queued and again
when it changes, in rounds per queue:
- the front of the line (positions up to ``FRONT``, 150) hears changes as they
  happen: the first change is announced at once, and changes within
  ``POSITION_ROUND_SECONDS`` (1 s) of a round are gathered into the next
  round, sent by the next change or the next timer sweep (``flush_positions``);
- everyone further back hears their new position at most every
  ``FULL_ROUND_SECONDS`` (60 s), like the reference's refresh above 150.
A round costs one query and one message per queued live customer it tells
(only those behind the conversation that left), so its cost is bounded per
second instead of multiplying with every assignment.

Persistent chat never gets these notices.
"""

from __future__ import annotations

import math
import threading
import time
from datetime import datetime

from django.db.models import F

from .models import Queue

WINDOW = 20
ALPHA = 2 / (WINDOW + 1)
MIN_SAMPLES = 5
SHOW_AVERAGE_ABOVE_SECONDS = 60
POSITION_ROUND_SECONDS = 1.0
FULL_ROUND_SECONDS = 60.0
FRONT = 150

# Per process and queue: when the last round and the last full round were,
# and the earliest ``queued_at`` that left the queue since the front / the
# back of the line last heard (``EVERYONE``: unknown, tell everyone).
EVERYONE = None
_rounds_lock = threading.Lock()
_last_round: dict[int, float] = {}
_last_full: dict[int, float] = {}
_front_pending: dict[int, datetime | None] = {}
_back_pending: dict[int, datetime | None] = {}
_ABSENT = object()


def next_average(average: float | None, seconds: float) -> float:
    """One step of the moving average."""
    seconds = max(0.0, seconds)
    return seconds if average is None else average + ALPHA * (seconds - average)


def record_wait(queue_id: int, seconds: float) -> None:
    """Fold one observed wait into the queue's average (inside the caller's transaction)."""
    queue = Queue.objects.select_for_update().only("average_wait_seconds").get(pk=queue_id)
    Queue.objects.filter(pk=queue_id).update(
        average_wait_seconds=next_average(queue.average_wait_seconds, seconds), wait_samples=F("wait_samples") + 1
    )


def average_wait_seconds(queue_id: int) -> int | None:
    """The wait to tell customers of this queue, or None when it is not worth telling."""
    row = Queue.objects.filter(pk=queue_id).values_list("average_wait_seconds", "wait_samples").first()
    if row is None or row[0] is None or row[1] < MIN_SAMPLES:
        return None
    seconds = math.ceil(row[0])
    return seconds if seconds > SHOW_AVERAGE_ABOVE_SECONDS else None


def _merge(pending: dict, queue_id: int, since: datetime | None) -> None:
    earlier = pending.get(queue_id, _ABSENT)
    if earlier is _ABSENT:
        pending[queue_id] = since
    elif earlier is EVERYONE or since is EVERYONE:
        pending[queue_id] = EVERYONE
    else:
        pending[queue_id] = min(earlier, since)


def _take_round(queue_id: int, now: float):
    """Under the lock: the round due for the queue now, as (since, limit), or None."""
    front_due = queue_id in _front_pending and now - _last_round.get(queue_id, -math.inf) >= POSITION_ROUND_SECONDS
    full_due = queue_id in _back_pending and now - _last_full.get(queue_id, -math.inf) >= FULL_ROUND_SECONDS
    if not (front_due or full_due):
        return None
    _last_round[queue_id] = now
    if full_due:
        _last_full[queue_id] = now
        if queue_id in _front_pending:
            _merge(_back_pending, queue_id, _front_pending.pop(queue_id))
        return _back_pending.pop(queue_id), None
    return _front_pending.pop(queue_id), FRONT


def note_moved(queue_id: int, since: datetime | None = EVERYONE):
    """A conversation queued at ``since`` left the queue (``EVERYONE``: it changed in an unknown way).
    Returns the round due now, as (since, limit), or None; the rest waits for a later change or
    ``due_rounds``."""
    with _rounds_lock:
        _merge(_front_pending, queue_id, since)
        _merge(_back_pending, queue_id, since)
        return _take_round(queue_id, time.monotonic())


def due_rounds() -> list[tuple[int, tuple[datetime | None, int | None]]]:
    """The rounds that were gathered and are due now, as (queue_id, (since, limit))."""
    now = time.monotonic()
    with _rounds_lock:
        rounds = [(queue_id, _take_round(queue_id, now)) for queue_id in {*_front_pending, *_back_pending}]
    return [(queue_id, due) for queue_id, due in rounds if due is not None]


def forget_rounds() -> None:
    """Tests and the benchmark: start every queue without round history."""
    with _rounds_lock:
        for state in (_last_round, _last_full, _front_pending, _back_pending):
            state.clear()

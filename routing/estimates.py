"""Queue position and average wait time for live chat.

Average wait: an exponential moving average of how long live conversations
of the queue waited before an agent took them, with a smoothing factor of
2/(N+1) for N = 20 conversations (the enterprise suite's window). Until a
queue has seen any wait, nothing is estimated. Position: 1 + the number of
open conversations of the queue that were queued earlier.
Persistent chat never gets these notices.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import F

from conversations.models import Conversation, Mode, State

from .models import Queue

WINDOW = 20
ALPHA = 2 / (WINDOW + 1)


def record_wait(queue_id: int, seconds: float) -> None:
    """Fold one observed wait into the queue's average (inside the caller's transaction)."""
    seconds = max(0.0, seconds)
    queue = Queue.objects.select_for_update().only("average_wait_seconds", "wait_samples").get(pk=queue_id)
    if queue.average_wait_seconds is None:
        average = seconds
    else:
        average = queue.average_wait_seconds + ALPHA * (seconds - queue.average_wait_seconds)
    Queue.objects.filter(pk=queue_id).update(average_wait_seconds=average, wait_samples=F("wait_samples") + 1)


def average_wait_seconds(queue_id: int) -> int | None:
    value = Queue.objects.filter(pk=queue_id).values_list("average_wait_seconds", flat=True).first()
    return None if value is None else round(value)


def queue_position(conversation: Conversation) -> int:
    earlier = Conversation.objects.filter(
        queue_id=conversation.queue_id, state=State.OPEN, queued_at__lt=conversation.queued_at
    ).count()
    return earlier + 1


def _queued(queue_id: int):
    return (
        Conversation.objects.filter(queue_id=queue_id, state=State.OPEN)
        .select_related("widget")
        .order_by("queued_at", "id")
    )


def announce_wait(conversation: Conversation) -> None:
    """A live conversation was queued: its position and the average wait."""
    from conversations import events, notices

    if conversation.mode != Mode.LIVE:
        return
    widget = conversation.widget
    with transaction.atomic():
        position = queue_position(conversation)
        events.to_customer(
            conversation.customer_id, conversation.workstream_id,
            notices.notice(widget, "queue_position", position=position),
        )
        wait = average_wait_seconds(conversation.queue_id)
        if wait is not None:
            events.to_customer(
                conversation.customer_id, conversation.workstream_id,
                notices.notice(widget, "average_wait_time", seconds=wait),
            )


def announce_positions(queue_id: int) -> None:
    """The queue moved: every queued live customer gets their new position."""
    from conversations import events, notices

    with transaction.atomic():
        for position, conversation in enumerate(_queued(queue_id), start=1):
            if conversation.mode != Mode.LIVE:
                continue
            events.to_customer(
                conversation.customer_id, conversation.workstream_id,
                notices.notice(conversation.widget, "queue_position", position=position),
            )

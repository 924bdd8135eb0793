"""What queued live-chat customers hear: their position in line and the queue's average wait
(docs/routing.md). When and to whom a round goes is decided by ``routing.estimates``; this module reads
the queue and sends the notices. Persistent chat never gets these notices."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.db.models import Q

from admin_center.models import ChatWidget
from routing import estimates

from .. import events, notices
from ..models import Conversation, Mode, State
from . import access


def _ahead_of(conversation: Conversation) -> Q:
    return Q(queued_at__lt=conversation.queued_at) | Q(queued_at=conversation.queued_at, id__lt=conversation.id)


def queue_position(conversation: Conversation) -> int:
    ahead = Conversation.objects.filter(_ahead_of(conversation), queue_id=conversation.queue_id, state=State.OPEN)
    return ahead.count() + 1


def announce_wait(conversation: Conversation) -> None:
    """A live conversation was queued (or its customer came back): its position and the average wait."""
    if conversation.mode != Mode.LIVE:
        return
    widget = conversation.widget
    with transaction.atomic():
        position = queue_position(conversation)
        events.to_customer(
            conversation.customer_id,
            conversation.workstream_id,
            notices.notice(widget, "queue_position", position=position),
        )
        wait = estimates.average_wait_seconds(conversation.queue_id)
        if wait is not None:
            events.to_customer(
                conversation.customer_id,
                conversation.workstream_id,
                notices.notice(widget, "average_wait_time", seconds=wait),
            )


def announce_queue_to_customer(conversation_id) -> None:
    """A customer reconnected to a queued live conversation: their position and the average wait again."""
    conversation = access.conversations().filter(pk=conversation_id, state=State.OPEN, mode=Mode.LIVE).first()
    if conversation is not None:
        announce_wait(conversation)


def announce_positions(queue_id: int, since: datetime | None = estimates.EVERYONE, limit: int | None = None) -> int:
    """Send queued live customers of the queue their position: only those
    queued at or after ``since`` when given (nobody ahead of a leaver moved),
    and only up to position ``limit`` when given. Returns how many were told."""
    queued = Conversation.objects.filter(queue_id=queue_id, state=State.OPEN)
    position = 1
    if since is not None:
        position += queued.filter(queued_at__lt=since).count()
        queued = queued.filter(queued_at__gte=since)
    rows = queued.order_by("queued_at", "id").values_list("customer_id", "workstream_id", "widget_id", "mode")
    if limit is not None:
        if position > limit:
            return 0
        rows = rows[: limit - position + 1]
    widgets: dict = {}
    frames = []
    with transaction.atomic():
        for customer_id, workstream_id, widget_id, mode in rows.iterator(chunk_size=2000):
            if mode == Mode.LIVE:
                if widget_id not in widgets:
                    widgets[widget_id] = ChatWidget.objects.filter(pk=widget_id).first()
                frame = notices.notice(widgets[widget_id], "queue_position", position=position)
                frames.append((customer_id, workstream_id, frame))
            position += 1
        events.to_customers(frames)
    return len(frames)


def queue_moved(queue_id: int, since: datetime | None = estimates.EVERYONE) -> None:
    """After commit: a conversation queued at ``since`` left the queue. Announce the round that is due
    now, if any; the rest waits for a later change or the timer sweep (``flush_positions``)."""
    due = estimates.note_moved(queue_id, since)
    if due is not None:
        announce_positions(queue_id, *due)


def flush_positions() -> int:
    """Timer sweep: send the rounds that were gathered and are due. Returns how many rounds."""
    rounds = estimates.due_rounds()
    for queue_id, due in rounds:
        announce_positions(queue_id, *due)
    return len(rounds)

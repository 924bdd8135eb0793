"""Who gets what: push assignment and pick, per ../PROTOCOL.md "Routing rules"
(the rules in words: docs/routing.md).

``dispatch`` is the one locking entry point of push distribution. Each
assignment is its own short transaction that locks the oldest open
conversation of a queue (``SKIP LOCKED`` so that several server processes
share the work instead of queueing behind each other) and then the chosen
agent's row (``FOR UPDATE``, re-checking presence and capacity under that
lock). Locks go conversation first, then agent, as in every service
function. On SQLite every write transaction is ``BEGIN IMMEDIATE``
(settings), which serialises them. On PostgreSQL two assignments can still
deadlock on agent rows; the one PostgreSQL aborts is run again
(``_assign_oldest``).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from datetime import datetime

from django.db import OperationalError, models, transaction
from django.db.models import Exists, ExpressionWrapper, F, IntegerField, OuterRef
from django.utils import timezone

from conversations.models import Conversation, State

from .models import AgentProfile, Presence, Queue

logger = logging.getLogger("parley.routing")


def queue_is_open(queue: Queue, at: datetime | None = None) -> bool:
    hours = queue.operating_hours
    return hours is None or hours.is_open(at or timezone.now())


def eligible_agents(queue: Queue, units: int):
    """Members who may take a conversation needing ``units``, best first."""
    free = ExpressionWrapper(F("capacity") - F("used_capacity"), output_field=IntegerField())
    agents = (
        AgentProfile.objects.filter(queues=queue, presence=Presence.AVAILABLE)
        .annotate(free=free)
        .filter(free__gte=units)
    )
    longest_idle = F("last_assigned_at").asc(nulls_first=True)
    if queue.assignment_method == Queue.AssignmentMethod.HIGHEST_CAPACITY:
        return agents.order_by(F("free").desc(), longest_idle, "id")
    return agents.order_by(longest_idle, "id")


def _queued_push(queue_id) -> models.QuerySet:
    return Conversation.objects.filter(queue_id=queue_id, state=State.OPEN, workstream__distribution="push")


DEADLOCK_RETRIES = 3


def _deadlocked(error: OperationalError) -> bool:
    """PostgreSQL aborted this transaction to break a deadlock (SQLSTATE 40P01)."""
    return getattr(error.__cause__, "sqlstate", None) == "40P01"


def _assign_oldest(queue: Queue) -> bool:
    """``_assign_oldest_once``, again when PostgreSQL chose it to break a deadlock.

    Two assignments can deadlock on agent rows: ``SELECT ... ORDER BY ... LIMIT 1
    FOR UPDATE`` locks a row, re-checks it after waiting, and when another
    transaction has filled that agent's capacity in the meantime moves on to the
    next agent, keeping the first lock until commit. The aborted transaction
    changed nothing, so it is run again (at most ``DEADLOCK_RETRIES`` times)."""
    for attempt in range(DEADLOCK_RETRIES):
        try:
            return _assign_oldest_once(queue)
        except OperationalError as error:
            if (
                attempt + 1 == DEADLOCK_RETRIES
                or not _deadlocked(error)
                or transaction.get_connection().in_atomic_block
            ):
                raise
            logger.info("assignment in queue %s deadlocked; trying again", queue.pk)
    return False


def _assign_oldest_once(queue: Queue) -> bool:
    """Assign the oldest open push conversation of ``queue`` that a member
    can take; False when there is none.

    When nobody has room for the oldest one, a younger conversation that
    needs fewer capacity units (a queue may serve several workstreams) is
    tried, so free capacity is not left idle behind a large conversation.

    The head is locked with a single-table query ordered by ``queued_at``
    alone, which the ``(queue, state, queued_at)`` index serves in order: the
    lookup reads one row however long the queue is.
    """
    from admin_center.models import Workstream
    from conversations import services

    units_by_workstream = dict(Workstream.objects.filter(distribution="push").values_list("id", "capacity_units"))
    candidates = list(units_by_workstream)
    with transaction.atomic():
        while candidates:
            head = (
                Conversation.objects.filter(queue_id=queue.pk, state=State.OPEN, workstream_id__in=candidates)
                .select_for_update(skip_locked=True)
                .order_by("queued_at")
                .only("pk", "workstream_id")
                .first()
            )
            if head is None:
                return False
            units = units_by_workstream[head.workstream_id]
            # Waits for an agent row another transaction holds, then PostgreSQL
            # re-checks presence and free capacity on the newest row version.
            agent = eligible_agents(queue, units).select_for_update(of=("self",)).first()
            if agent is not None:
                conversation = Conversation.objects.select_related("workstream", "customer", "widget").get(pk=head.pk)
                services.activate(conversation, agent, reason="routed")
                return True
            candidates = [workstream for workstream, size in units_by_workstream.items() if size < units]
    return False


def dispatch(queue_ids: Iterable[int] | None = None, *, at: datetime | None = None) -> int:
    """Assign open push conversations, oldest first, while members can take
    them. Call outside a transaction (after commit). Returns how many.

    The cost of one assignment does not depend on how many conversations are
    queued: queues are found with an ``EXISTS`` probe, and each assignment
    reads the head of the queue through the ``(queue, state, queued_at)`` index.
    """
    queues = Queue.objects.select_related("operating_hours")
    if queue_ids is not None:
        queue_ids = list(queue_ids)
        if not queue_ids:
            return 0
        queues = queues.filter(pk__in=queue_ids)
    queues = queues.filter(Exists(_queued_push(OuterRef("pk"))))
    now = at or timezone.now()
    assigned = 0
    for queue in queues:
        if not queue_is_open(queue, now):
            continue
        while _assign_oldest(queue):
            assigned += 1
    return assigned


def pick(agent: AgentProfile, conversation_id: uuid.UUID) -> Conversation:
    """An agent takes an open pick-mode conversation of one of their queues.
    Exactly one of several concurrent picks wins (row lock, then re-check)."""
    from conversations import services
    from conversations.services import ServiceError

    with transaction.atomic():
        conversation = (
            Conversation.objects.select_for_update(of=("self",))
            .select_related("workstream", "customer", "widget", "queue")
            .filter(pk=conversation_id)
            .first()
        )
        if conversation is None:
            raise ServiceError("not_found", "No such conversation.")
        if not conversation.queue.members.filter(pk=agent.pk).exists():
            raise ServiceError("not_allowed", "This conversation is not in one of your queues.")
        if conversation.state != State.OPEN:
            raise ServiceError("already_assigned", "Someone else has already taken this conversation.")
        if conversation.workstream.distribution != "pick":
            raise ServiceError("not_allowed", "This conversation is assigned by routing, not picked.")
        locked = AgentProfile.objects.select_for_update().get(pk=agent.pk)
        if locked.capacity - locked.used_capacity < conversation.workstream.capacity_units:
            raise ServiceError("no_capacity", "You have no free capacity for this conversation.")
        services.activate(conversation, locked, actor=services.agent_actor(locked), reason="picked")
    return conversation


def pick_queue_for(agent: AgentProfile, limit: int = 100) -> list[Conversation]:
    """Open pick-mode conversations in the agent's queues, oldest first."""
    return list(
        Conversation.objects.select_related("workstream", "customer", "agent")
        .filter(queue__members=agent, state=State.OPEN, workstream__distribution="pick")
        .order_by("queued_at", "id")[:limit]
    )

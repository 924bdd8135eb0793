"""Who gets what: push assignment, pick and reassignment, per ../PROTOCOL.md "Routing rules" (the rules
in words: docs/routing.md; the pure decisions: ``routing.policy``).

``dispatch`` is the one locking entry point of push distribution. Each
assignment is its own short transaction that locks the oldest open
conversation of a queue (``SKIP LOCKED`` so that several server processes
share the work instead of queueing behind each other) and then the chosen
agent's row (``FOR UPDATE``, re-checking presence and capacity under that
lock). Locks go conversation first, then agent, as in every action. On
SQLite every write transaction is ``BEGIN IMMEDIATE`` (settings), which
serialises them. On PostgreSQL two assignments can still deadlock on agent
rows; the one PostgreSQL aborts is run again (``assign_oldest``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime

from django.db import OperationalError, models, transaction
from django.db.models import Exists, F, OuterRef
from django.utils import timezone

from admin_center.models import Workstream
from routing import policy
from routing.models import AgentProfile, Queue

from .. import events
from ..errors import NO_CAPACITY, NOT_ALLOWED, NOT_FOUND, ServiceError
from ..models import Conversation, ConversationEvent, State
from . import access, offering
from .changes import activate, announce_capacity
from .payloads import agent_summary
from .transitions import HOLDS_CAPACITY, admin_actor, agent_actor, guard

logger = logging.getLogger("parley.routing")

PUSH, PICK = Workstream.Distribution.PUSH, Workstream.Distribution.PICK
DEADLOCK_RETRIES = 3


def _queued_push(queue_id) -> models.QuerySet:
    return Conversation.objects.filter(queue_id=queue_id, state=State.OPEN, workstream__distribution=PUSH)


def _deadlocked(error: OperationalError) -> bool:
    """PostgreSQL aborted this transaction to break a deadlock (SQLSTATE 40P01)."""
    return getattr(error.__cause__, "sqlstate", None) == "40P01"


def assign_oldest(queue: Queue) -> bool:
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
    pushed = list(Workstream.objects.filter(distribution=PUSH).values_list("id", "capacity_units", "auto_accept"))
    units_by_workstream = {workstream: units for workstream, units, _auto in pushed}
    offered_by_workstream = {workstream for workstream, _units, auto in pushed if not auto}
    candidates = list(units_by_workstream)
    with transaction.atomic():
        while candidates:
            head = (
                Conversation.objects.filter(queue_id=queue.pk, state=State.OPEN, workstream_id__in=candidates)
                # offered to an agent already: that agent answers first (conversations/actions/offers.py)
                .exclude(pk__in=offering.pending_conversations())
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
            if head.workstream_id in offered_by_workstream:
                agent = offering.choose_agent(policy.eligible_agents(queue, units), head.pk)
            else:
                agent = policy.eligible_agents(queue, units).select_for_update(of=("self",)).first()
            if agent is not None:
                conversation = Conversation.objects.select_related("workstream", "customer", "widget", "queue").get(
                    pk=head.pk
                )
                if head.workstream_id in offered_by_workstream:
                    offering.make_offer(conversation, agent)
                else:
                    activate(conversation, agent, reason="routed")
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
        if not policy.queue_is_open(queue, now):
            continue
        while assign_oldest(queue):
            assigned += 1
    return assigned


def dispatch_for_agent(agent_id) -> None:
    """The agent may take more now: route the queues the agent works in."""
    dispatch(list(Queue.objects.filter(members__id=agent_id).values_list("id", flat=True)))


def after_capacity_freed(conversation: Conversation) -> None:
    """Inside the transaction that freed capacity (or closed an open conversation): route after commit."""
    if conversation.agent_id:
        transaction.on_commit(lambda: dispatch_for_agent(conversation.agent_id), robust=True)
    else:
        transaction.on_commit(lambda: dispatch([conversation.queue_id]), robust=True)


def pick(agent: AgentProfile, conversation_id) -> Conversation:
    """An agent takes an open pick-mode conversation of one of their queues.
    Exactly one of several concurrent picks wins (row lock, then re-check)."""
    conversation_id = access.parse_id(conversation_id)
    with transaction.atomic():
        conversation = (
            Conversation.objects.select_for_update(of=("self",))
            .select_related("workstream", "customer", "widget", "queue")
            .filter(pk=conversation_id)
            .first()
        )
        if conversation is None:
            raise ServiceError(NOT_FOUND, "No such conversation.")
        if not conversation.queue.members.filter(pk=agent.pk).exists():
            raise ServiceError(NOT_ALLOWED, "This conversation is not in one of your queues.")
        guard("pick", conversation)
        locked = AgentProfile.objects.select_for_update().get(pk=agent.pk)
        if not policy.can_take(locked, conversation.workstream.capacity_units):
            raise ServiceError(NO_CAPACITY, "You have no free capacity for this conversation.")
        activate(conversation, locked, actor=agent_actor(locked), reason="picked")
    return conversation


def reassign(conversation: Conversation, to_agent: AgentProfile, *, actor_name: str) -> Conversation:
    """Admin center: move a conversation (for example of an agent who left
    the company) to another agent. Both agents are told; capacity moves."""
    actor = admin_actor(actor_name)
    with transaction.atomic():
        conversation = access.conversations().select_for_update(of=("self",)).get(pk=conversation.pk)
        guard("reassign", conversation)
        old_agent = conversation.agent
        if old_agent.pk == to_agent.pk:
            return conversation
        units = conversation.capacity_units if conversation.state in HOLDS_CAPACITY else 0
        if units:
            AgentProfile.objects.filter(pk=old_agent.pk).update(used_capacity=F("used_capacity") - units)
            AgentProfile.objects.filter(pk=to_agent.pk).update(used_capacity=F("used_capacity") + units)
            announce_capacity(old_agent.pk)
            announce_capacity(to_agent.pk)
        conversation.agent = to_agent
        conversation.updated_at = timezone.now()
        conversation.save(update_fields=["agent", "updated_at"])
        ConversationEvent.objects.create(
            conversation=conversation,
            from_state=conversation.state,
            to_state=conversation.state,
            actor_role=actor.role,
            actor_name=actor.name,
            reason=f"reassigned from {old_agent.display_name} to {to_agent.display_name}",
        )
        summary = agent_summary(conversation)
        events.to_agent(old_agent.pk, {"type": "unassigned", "conversation_id": str(conversation.id)})
        events.to_agent(to_agent.pk, {"type": "assigned", "conversation": summary})
        events.to_customer(
            conversation.customer_id,
            conversation.workstream_id,
            {
                "type": "state",
                "conversation_id": str(conversation.id),
                "state": conversation.state,
                "agent": {"name": to_agent.display_name},
            },
        )
    dispatch_for_agent(old_agent.pk)
    return conversation

"""Transfers: a conversation moves to another agent or another queue (../shared/PROTOCOL.md "Agent socket,
additions" and "Supervisor socket", docs/agents.md), and a live conversation whose agent went offline goes
back to its queue ("Routing, additions").

Capacity moves in the transaction of the move, with both agents' rows locked (conversation first, then the
agents in id order, as everywhere). The "same agent" pin is the conversation's agent, so it moves with it.
The move is logged with both agents; the customer is told in the widget's language; consultations end.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from routing import policy
from routing.models import AgentProfile, Presence, Queue

from .. import events
from ..errors import BAD_REQUEST, NO_CAPACITY, NOT_ALLOWED, NOT_FOUND, UNAVAILABLE, ServiceError
from ..models import Conversation, ConversationEvent, Mode, Offer, Role, State
from ..webhooks import events as webhook_events
from . import access, consult, notes
from .assignment import dispatch_for_agent
from .changes import announce_capacity, notice, queue_moved
from .messages import after_opened, check_text
from .payloads import agent_summary
from .transitions import HOLDS_CAPACITY, SYSTEM, Actor, agent_actor, guard


def _target(to) -> tuple[str, int]:
    """``("agent", id)`` or ``("queue", id)`` from ``{"agent_id": …}`` / ``{"queue_id": …}``."""
    if not isinstance(to, dict) or len(to) != 1 or not ({"agent_id", "queue_id"} & set(to)):
        raise ServiceError(BAD_REQUEST, '\'to\' must be {"agent_id": "…"} or {"queue_id": "…"}.')
    kind, value = next(iter(to.items()))
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ServiceError(BAD_REQUEST, f"'{kind}' must be a string.")
    try:
        return kind.removesuffix("_id"), int(value)
    except ValueError:
        raise ServiceError(NOT_FOUND, "No such agent." if kind == "agent_id" else "No such queue.") from None


def _note_text(note) -> str | None:
    if note is None:
        return None
    if not isinstance(note, str):
        raise ServiceError(BAD_REQUEST, "'note' must be a string.")
    if not note.strip():
        return None
    return check_text(note)


def _actor(by, supervisor: bool) -> tuple[Actor, AgentProfile | None, str]:
    """(actor for the log, the author of the note as an agent or None, the author's name)."""
    if isinstance(by, AgentProfile):
        return agent_actor(by), by, by.display_name
    profile = AgentProfile.objects.filter(user=by).first()
    name = profile.display_name if profile else (by.get_full_name() or by.get_username())
    return Actor(Role.ADMIN if supervisor else Role.AGENT, name), profile, name


def transfer(conversation_id, to: dict, *, by, note: str | None = None, supervisor: bool = False) -> Conversation:
    """Move a conversation to an agent or a queue.

    From an agent (``by`` an AgentProfile): their own ``active`` or ``waiting`` conversation. From a
    supervisor (``by`` a User, ``supervisor=True``): any conversation that is not closed (one in wrap-up
    only to an agent). To an agent: a member of the conversation's queue or of its workstream's queue,
    not offline, with free capacity for the workstream's units; the conversation becomes ``active`` and
    theirs. To a queue: it becomes ``open`` there and routing assigns it. Refusals change nothing."""
    kind, target_id = _target(to)
    note_text = _note_text(note)
    actor, author, author_name = _actor(by, supervisor)
    with transaction.atomic():
        conversation = (
            access.conversations().select_for_update(of=("self",)).filter(pk=access.parse_id(conversation_id)).first()
        )
        if conversation is None:
            raise ServiceError(NOT_FOUND, "No such conversation.")
        if supervisor:
            if conversation.state == State.CLOSED:
                raise ServiceError(NOT_ALLOWED, "A closed conversation cannot be transferred.")
            if (
                conversation.state == State.OPEN
                and Offer.objects.filter(conversation=conversation, status=Offer.Status.PENDING).exists()
            ):
                raise ServiceError(NOT_ALLOWED, "This conversation is being offered to an agent; wait for the answer.")
        else:
            if conversation.agent_id != by.pk:
                raise ServiceError(NOT_ALLOWED, "This conversation is not assigned to you.")
            guard("transfer", conversation)
        old_agent = conversation.agent
        if kind == "agent":
            _to_agent(conversation, target_id, actor=actor)
        else:
            if conversation.state == State.WRAP_UP:
                raise ServiceError(NOT_ALLOWED, "A conversation in wrap-up has ended; transfer it to an agent.")
            queue = Queue.objects.filter(pk=target_id).first()
            if queue is None:
                raise ServiceError(NOT_FOUND, "No such queue.")
            to_queue(conversation, queue, actor=actor, reason=_reason(old_agent, queue.name), notice_code="transferred")
        if note_text:
            notes.store_note(conversation, author=author, author_name=author_name, text=note_text)
    if old_agent is not None and old_agent.pk != conversation.agent_id:
        transaction.on_commit(lambda: dispatch_for_agent(old_agent.pk), robust=True)
    return conversation


def _reason(old_agent: AgentProfile | None, to_name: str) -> str:
    frm = old_agent.display_name if old_agent else "the queue"
    return f"transferred from {frm} to {to_name}"[:100]


def _to_agent(conversation: Conversation, agent_id: int, *, actor: Actor) -> None:
    if conversation.agent_id == agent_id:
        raise ServiceError(NOT_ALLOWED, "The conversation is assigned to this agent already.")
    # both agents' rows, in id order: two transfers between the same agents cannot deadlock
    ids = sorted({agent_id, conversation.agent_id} - {None})
    locked = {agent.pk: agent for agent in AgentProfile.objects.select_for_update().filter(pk__in=ids).order_by("pk")}
    target = locked.get(agent_id)
    if target is None:
        raise ServiceError(NOT_FOUND, "No such agent.")
    queue_ids = {conversation.queue_id, conversation.workstream.queue_id}
    if not target.queues.filter(pk__in=queue_ids).exists():
        raise ServiceError(NOT_ALLOWED, f"{target.display_name} is not a member of this conversation's queue.")
    if target.presence == Presence.OFFLINE:
        raise ServiceError(UNAVAILABLE, f"{target.display_name} is offline.")
    to_state = State.WRAP_UP if conversation.state == State.WRAP_UP else State.ACTIVE
    units = conversation.capacity_units if to_state == State.WRAP_UP else conversation.workstream.capacity_units
    if not policy.can_take(target, units):
        raise ServiceError(NO_CAPACITY, f"{target.display_name} has no free capacity for this conversation.")
    old_agent = conversation.agent
    _move(
        conversation,
        to_state=to_state,
        agent=target,
        units=units,
        queue=None,
        actor=actor,
        reason=_reason(old_agent, target.display_name),
    )
    notice(conversation, "transferred", agent=target.display_name)


def to_queue(conversation: Conversation, queue: Queue, *, actor: Actor, reason: str, notice_code: str) -> None:
    """Put a locked conversation back in line in ``queue`` (open, no agent); routing assigns it after commit."""
    _move(conversation, to_state=State.OPEN, agent=None, units=0, queue=queue, actor=actor, reason=reason)
    notice(conversation, notice_code)
    conversation_id = conversation.id
    transaction.on_commit(lambda: after_opened(conversation_id), robust=True)


def _move(conversation: Conversation, *, to_state: str, agent, units: int, queue, actor: Actor, reason: str) -> None:
    """The one writer of a move between agents or queues: capacity of both agents, the row, the log and
    the news to the old agent, the new agent, the customer and the watchers."""
    frm = conversation.state
    old_agent = conversation.agent
    now = timezone.now()
    old_units = conversation.capacity_units if frm in HOLDS_CAPACITY and old_agent is not None else 0
    if old_units:
        AgentProfile.objects.filter(pk=old_agent.pk).update(used_capacity=F("used_capacity") - old_units)
        announce_capacity(old_agent.pk)
    if agent is not None and units and to_state in HOLDS_CAPACITY:
        AgentProfile.objects.filter(pk=agent.pk).update(used_capacity=F("used_capacity") + units)
        announce_capacity(agent.pk)
    conversation.agent = agent
    conversation.state = to_state
    conversation.updated_at = now
    fields = ["agent", "state", "updated_at"]
    if agent is not None:
        conversation.capacity_units = units
        conversation.assigned_at = now
        fields += ["capacity_units", "assigned_at"]
        AgentProfile.objects.filter(pk=agent.pk).update(last_assigned_at=now)
    if to_state == State.ACTIVE:
        conversation.customer_returned = False
        fields.append("customer_returned")
    if queue is not None:
        conversation.queue = queue
        conversation.queued_at = now
        fields += ["queue", "queued_at"]
    conversation.save(update_fields=fields)
    ConversationEvent.objects.create(
        conversation=conversation,
        from_state=frm,
        to_state=to_state,
        actor_role=actor.role,
        actor_name=actor.name,
        reason=reason,
        created_at=now,
    )
    if frm != to_state:
        webhook_events.state_changed(conversation, frm, to_state, reason)
    consult.end_all(conversation, by_name=actor.name, reason="transferred")
    conversation_id = str(conversation.id)
    state_frame = {
        "type": "state",
        "conversation_id": conversation_id,
        "state": to_state,
        "agent": {"name": agent.display_name} if agent else None,
    }
    events.to_customer(conversation.customer_id, conversation.workstream_id, state_frame)
    events.to_watchers(conversation.id, state_frame)
    if old_agent is not None:
        events.to_agent(old_agent.pk, {"type": "unassigned", "conversation_id": conversation_id})
    if agent is not None:
        assigned = {"type": "assigned", "conversation": agent_summary(conversation)}
        if old_agent is not None:
            assigned["transferred_from"] = {"id": str(old_agent.pk), "name": old_agent.display_name}
        events.to_agent(agent.pk, assigned)
    if frm == State.OPEN:
        queue_moved(conversation, left=True)
    if to_state == State.OPEN:
        queue_moved(conversation, left=False)
    events.stats_changed()


def requeue_if_agent_gone(conversation_id) -> bool:
    """A live conversation whose agent went offline (after the presence grace) goes back to its queue;
    the customer gets ``state`` (open, no agent) and the ``agent_disconnected`` notice. A conversation of
    a workstream with "same agent for the entire conversation" stays with its agent. Re-checked under
    lock; returns whether it moved."""
    with transaction.atomic():
        conversation = (
            access.conversations()
            .select_for_update(of=("self",), skip_locked=True)
            .filter(
                pk=conversation_id,
                state=State.ACTIVE,
                mode=Mode.LIVE,
                workstream__same_agent=False,
                agent__presence=Presence.OFFLINE,
            )
            .first()
        )
        if conversation is None:
            return False
        old_agent = conversation.agent
        guard("requeue", conversation)
        queue = conversation.queue
        to_queue(
            conversation,
            queue,
            actor=SYSTEM,
            reason=f"agent {old_agent.display_name} offline"[:100],
            notice_code="agent_disconnected",
        )
    return True


def transfer_targets(agent: AgentProfile, conversation_id) -> dict:
    """What the transfer and consult dialogs list: the queues (with whether they are open and how many
    agents could take a conversation now) and the agents who are not offline, the asker left out, each
    with their free capacity. For the conversation's agent and its consultants."""
    conversation = consult.readable_conversation(agent, conversation_id)
    units = conversation.workstream.capacity_units
    queues = []
    for queue in Queue.objects.select_related("operating_hours").order_by("name"):
        queues.append(
            {
                "id": str(queue.pk),
                "name": queue.name,
                "open": policy.queue_is_open(queue),
                "agents_available": policy.eligible_agents(queue, units).count(),
            }
        )
    members = set(
        Queue.members.through.objects.filter(
            queue_id__in={conversation.queue_id, conversation.workstream.queue_id}
        ).values_list("agentprofile_id", flat=True)
    )
    agents = [
        {
            "id": str(other.pk),
            "name": other.display_name,
            "presence": other.presence,
            "free_capacity": other.free_capacity,
            # whether a transfer to them is possible (consulting is open to every agent listed)
            "member": other.pk in members,
        }
        for other in AgentProfile.objects.exclude(presence=Presence.OFFLINE)
        .filter(user__is_active=True)
        .exclude(pk=agent.pk)
        .order_by("display_name", "pk")
    ]
    return {"type": "transfer_targets", "conversation_id": str(conversation.id), "queues": queues, "agents": agents}

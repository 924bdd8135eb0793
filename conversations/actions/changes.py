"""The one writer of a state change: capacity, timestamps, the event log and the announcements of a move
the table in ``transitions`` allows. Every action that changes a conversation's state ends here."""

from __future__ import annotations

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from admin_center.models import Workstream
from routing import estimates
from routing.models import AgentProfile

from .. import events, metrics, notices
from ..errors import NOT_ALLOWED, ServiceError
from ..models import Conversation, ConversationEvent, Mode, Offer, State
from ..webhooks import events as webhook_events
from . import consult, queueing
from .payloads import agent_summary
from .transitions import ALLOWED_TRANSITIONS, HOLDS_CAPACITY, SYSTEM, Actor


def change_state(conversation: Conversation, to: str, actor: Actor, reason: str = "") -> None:
    """Move a locked conversation to ``to``: capacity, timestamps, the event
    log and the announcements. Call inside a transaction."""
    frm = conversation.state
    if to not in ALLOWED_TRANSITIONS[frm]:
        raise ServiceError(NOT_ALLOWED, f"A conversation in state '{frm}' cannot become '{to}'.")
    now = timezone.now()
    delta = (to in HOLDS_CAPACITY) - (frm in HOLDS_CAPACITY)
    if delta and conversation.agent_id and conversation.capacity_units:
        AgentProfile.objects.filter(pk=conversation.agent_id).update(
            used_capacity=F("used_capacity") + delta * conversation.capacity_units
        )
        announce_capacity(conversation.agent_id)
    conversation.state = to
    conversation.updated_at = now
    fields = ["state", "updated_at"]
    if to == State.WRAP_UP:
        conversation.wrap_up_started_at = now
        fields.append("wrap_up_started_at")
    if to == State.CLOSED:
        conversation.closed_at = now
        fields.append("closed_at")
    if to == State.ACTIVE:
        conversation.customer_returned = False
        fields.append("customer_returned")
    conversation.save(update_fields=fields)
    ConversationEvent.objects.create(
        conversation=conversation,
        from_state=frm,
        to_state=to,
        actor_role=actor.role,
        actor_name=actor.name,
        reason=reason,
        created_at=now,
    )
    webhook_events.state_changed(conversation, frm, to, reason)
    agent = conversation.agent
    state_frame = {
        "type": "state",
        "conversation_id": str(conversation.id),
        "state": to,
        "agent": {"name": agent.display_name} if agent else None,
    }
    events.to_customer(conversation.customer_id, conversation.workstream_id, state_frame)
    if conversation.agent_id:
        # the agent also learns why (the event log's reason, e.g. "customer_ended"), to say so
        agent_frame = {**state_frame, "conversation": agent_summary(conversation), "reason": reason}
        events.to_agent(conversation.agent_id, agent_frame)
    events.to_watchers(conversation.id, state_frame)
    events.stats_changed()
    if to in (State.WRAP_UP, State.CLOSED) and frm != State.WRAP_UP:
        notice(conversation, "conversation_ended")
    if to == State.CLOSED:  # a closed conversation has no consultants
        consult.end_all(conversation, by_name=actor.name, reason="closed")
    if frm == State.OPEN:
        queue_moved(conversation, left=True)
        _withdraw_offer(conversation, to, now)


def _withdraw_offer(conversation: Conversation, to: str, now) -> None:
    """The conversation left ``open`` other than by its offer's accept (which resolves the offer first):
    the pending offer is withdrawn, its reserved capacity freed and its agent told
    (conversations/actions/offers.py)."""
    offer = Offer.objects.select_for_update().filter(conversation=conversation, status=Offer.Status.PENDING).first()
    if offer is None:
        return
    Offer.objects.filter(pk=offer.pk).update(status=Offer.Status.WITHDRAWN, resolved_at=now)
    if offer.capacity_units:
        AgentProfile.objects.filter(pk=offer.agent_id).update(used_capacity=F("used_capacity") - offer.capacity_units)
        announce_capacity(offer.agent_id)
    reason = "assigned" if to == State.ACTIVE else "closed"
    events.to_agent(
        offer.agent_id, {"type": "offer_withdrawn", "conversation_id": str(conversation.id), "reason": reason}
    )


def activate(conversation: Conversation, agent: AgentProfile, *, actor: Actor = SYSTEM, reason: str = "") -> None:
    """open -> active with ``agent``. Routing and pick call this inside their
    transaction, with both rows locked and eligibility already checked."""
    now = timezone.now()
    conversation.agent = agent
    conversation.capacity_units = conversation.workstream.capacity_units
    conversation.assigned_at = now
    conversation.save(update_fields=["agent", "capacity_units", "assigned_at"])
    AgentProfile.objects.filter(pk=agent.pk).update(last_assigned_at=now)
    agent.last_assigned_at = now
    change_state(conversation, State.ACTIVE, actor, reason)
    metrics.assigned(reason)
    if conversation.mode == Mode.LIVE:
        estimates.record_wait(conversation.queue_id, (now - conversation.queued_at).total_seconds())
    events.to_agent(agent.id, {"type": "assigned", "conversation": agent_summary(conversation)})
    notice(conversation, "agent_joined", agent=agent.display_name)


def end_conversation(conversation: Conversation, actor: Actor, reason: str) -> None:
    """Whoever ends it: an open conversation closes, an assigned one goes to wrap-up where the workstream
    has a wrap-up time, else it closes."""
    if conversation.state == State.OPEN:
        change_state(conversation, State.CLOSED, actor, reason)
    elif conversation.workstream.wrap_up_seconds > 0:
        change_state(conversation, State.WRAP_UP, actor, reason)
    else:
        change_state(conversation, State.CLOSED, actor, reason)


def announce_capacity(agent_id) -> None:
    events.stats_changed()

    def send() -> None:
        total, used = AgentProfile.objects.values_list("capacity", "used_capacity").get(pk=agent_id)
        frame = {"type": "capacity", "total": total, "used": used}
        events.committed_news([(events.agent_group(agent_id), events.frame_event(frame))])

    transaction.on_commit(send)


def notice(conversation: Conversation, code: str, **data) -> None:
    events.to_customer(
        conversation.customer_id, conversation.workstream_id, notices.notice(conversation.widget, code, **data)
    )


def queue_moved(conversation: Conversation, *, left: bool) -> None:
    """An open conversation joined its queue or left it: pick lists changed,
    and when it left, the positions of those queued behind it moved."""
    if conversation.workstream.distribution == Workstream.Distribution.PICK:
        events.queue_changed(conversation.queue_id)
    if left:
        transaction.on_commit(lambda: queueing.queue_moved(conversation.queue_id, conversation.queued_at), robust=True)

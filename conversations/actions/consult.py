"""Consultations: the assigned agent invites another online agent to help (../shared/PROTOCOL.md "Agent
socket, additions", docs/agents.md).

The consultant follows the conversation live (their sockets join ``watch.<conversation>``), reads its
messages and notes and writes notes, never messages to the customer, and it uses none of their capacity.
Either side ends it (``leave_consult``); closing or transferring the conversation ends every consultation
of it.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils import timezone

from routing.models import AgentProfile, Presence

from .. import events
from ..errors import BAD_REQUEST, NOT_ALLOWED, NOT_FOUND, UNAVAILABLE, ServiceError
from ..models import Consultation, Conversation, State
from . import access
from .payloads import agent_summary
from .transitions import allows, guard


def _open_consultations():
    return Consultation.objects.filter(ended_at__isnull=True)


def is_consultant(agent: AgentProfile, conversation: Conversation) -> bool:
    return _open_consultations().filter(conversation=conversation, agent=agent).exists()


def check_reader(agent: AgentProfile, conversation: Conversation | None) -> Conversation:
    """``conversation`` when ``agent`` is its agent (no query) or consults on it; else ``not_found`` /
    ``not_allowed``."""
    if conversation is None:
        raise ServiceError(NOT_FOUND, "No such conversation.")
    if conversation.agent_id == agent.id or is_consultant(agent, conversation):
        return conversation
    raise ServiceError(NOT_ALLOWED, "This conversation is not assigned to you.")


def readable_conversation(agent: AgentProfile, conversation_id) -> Conversation:
    """What the agent's ``open``, ``sync`` and ``history`` read: their own conversation or one they consult on."""
    conversation = access.conversations().filter(pk=access.parse_id(conversation_id)).first()
    return check_reader(agent, conversation)


def consultants_of(conversation: Conversation) -> list[dict]:
    return [
        {"id": str(agent_id), "name": name}
        for agent_id, name in _open_consultations()
        .filter(conversation=conversation)
        .order_by("created_at", "id")
        .values_list("agent_id", "agent__display_name")
    ]


def consultant_actions(conversation: Conversation) -> list[str]:
    """The frames a consultant may send for the conversation now."""
    return (["note"] if allows("note", conversation) else []) + ["leave_consult"]


def consultant_summary(conversation: Conversation, agent: AgentProfile) -> dict:
    """The summary a consultant sees: ``consulting`` true, and the frames a consultant may send."""
    summary = agent_summary(conversation, agent.id)
    summary["consulting"] = True
    summary["allowed_actions"] = consultant_actions(conversation)
    return summary


def consulting(agent: AgentProfile) -> list[Conversation]:
    """The conversations the agent consults on now (the ``welcome``'s ``consulting``, the watch groups
    their sockets join)."""
    return list(
        access.conversations()
        .filter(consultations__agent=agent, consultations__ended_at__isnull=True)
        .exclude(state=State.CLOSED)
        .order_by("-updated_at")
    )


def _agent(agent_id) -> AgentProfile:
    if isinstance(agent_id, bool) or not isinstance(agent_id, str | int):
        raise ServiceError(BAD_REQUEST, "'agent_id' must be a string.")
    try:
        pk = int(agent_id)
    except ValueError:
        raise ServiceError(NOT_FOUND, "No such agent.") from None
    agent = AgentProfile.objects.filter(pk=pk).first()
    if agent is None:
        raise ServiceError(NOT_FOUND, "No such agent.")
    return agent


def _announce_consultants(conversation: Conversation) -> None:
    if conversation.agent_id:
        events.to_agent(
            conversation.agent_id,
            {
                "type": "consultants",
                "conversation_id": str(conversation.id),
                "consultants": consultants_of(conversation),
            },
        )


def invite(agent: AgentProfile, conversation_id, agent_id) -> Consultation:
    """The ``consult`` frame: the assigned agent invites another agent who is not offline. Not oneself,
    not twice (while the first invitation lasts)."""
    with transaction.atomic():
        conversation = access.access_conversation_for_agent(agent, conversation_id, lock=True)
        guard("consult", conversation)
        target = _agent(agent_id)
        if target.pk == agent.pk:
            raise ServiceError(NOT_ALLOWED, "You cannot consult yourself.")
        if target.presence == Presence.OFFLINE:
            raise ServiceError(UNAVAILABLE, f"{target.display_name} is offline.")
        if is_consultant(target, conversation):
            raise ServiceError(NOT_ALLOWED, f"{target.display_name} is consulting on this conversation already.")
        try:
            with transaction.atomic():
                consultation = Consultation.objects.create(
                    conversation=conversation, agent=target, invited_by=agent, created_at=timezone.now()
                )
        except IntegrityError:  # the same invitation at the same moment
            raise ServiceError(
                NOT_ALLOWED, f"{target.display_name} is consulting on this conversation already."
            ) from None
        events.consult_joined(
            target.pk,
            conversation.id,
            {
                "type": "consult",
                "conversation": consultant_summary(conversation, target),
                "from": {"id": str(agent.pk), "name": agent.display_name},
            },
        )
        _announce_consultants(conversation)
    return consultation


def _end(conversation: Conversation, consultations: list[Consultation], *, by_name: str, reason: str) -> None:
    """End ``consultations`` (inside the caller's transaction) and tell everyone after commit."""
    if not consultations:
        return
    Consultation.objects.filter(pk__in=[c.pk for c in consultations]).update(ended_at=timezone.now())
    for consultation in consultations:
        events.consult_left(
            consultation.agent_id,
            conversation.id,
            {
                "type": "consult_ended",
                "conversation_id": str(conversation.id),
                "by": {"name": by_name},
                "reason": reason,
            },
        )
    _announce_consultants(conversation)


def leave(agent: AgentProfile, conversation_id, agent_id=None) -> None:
    """The ``leave_consult`` frame: a consultant leaves, or the assigned agent ends the consultation of
    ``agent_id``."""
    with transaction.atomic():
        conversation = (
            access.conversations().select_for_update(of=("self",)).filter(pk=access.parse_id(conversation_id)).first()
        )
        if conversation is None:
            raise ServiceError(NOT_FOUND, "No such conversation.")
        if agent_id is None or (str(agent_id) == str(agent.pk)):
            consultant = agent
        else:
            if conversation.agent_id != agent.pk:
                raise ServiceError(NOT_ALLOWED, "Only the conversation's agent ends someone else's consultation.")
            consultant = _agent(agent_id)
        consultations = list(_open_consultations().filter(conversation=conversation, agent=consultant))
        if not consultations:
            raise ServiceError(NOT_ALLOWED, f"{consultant.display_name} is not consulting on this conversation.")
        reason = "left" if consultant.pk == agent.pk else "ended"
        _end(conversation, consultations, by_name=agent.display_name, reason=reason)


def end_all(conversation: Conversation, *, by_name: str, reason: str) -> None:
    """Every consultation of the conversation ends (it closed or was transferred); inside its transaction."""
    consultations = list(_open_consultations().filter(conversation=conversation))
    _end(conversation, consultations, by_name=by_name, reason=reason)

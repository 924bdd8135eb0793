"""What an agent reads of a conversation through the socket (``open``, ``sync``, ``history``): its own
agent and its consultants read the same messages; ``open`` adds the internal notes and the consultants
(../shared/PROTOCOL.md "Agent socket, additions")."""

from __future__ import annotations

from routing.models import AgentProfile

from . import consult, notes, payloads


def open_frame(agent: AgentProfile, conversation_id) -> dict:
    """The answer to ``open``: the summary with the latest messages, every note and the consultants.
    A consultant's summary says ``consulting`` and lists the frames a consultant may send."""
    conversation = consult.readable_conversation(agent, conversation_id)
    frame = payloads.conversation_frame(conversation, agent.id)
    summary = frame["conversation"]
    if conversation.agent_id != agent.id:
        summary["consulting"] = True
        summary["allowed_actions"] = consult.consultant_actions(conversation)
    summary["notes"] = notes.notes_of(conversation)
    summary["consultants"] = consult.consultants_of(conversation)
    # also beside the conversation, where a client reading the frame's top level looks for them
    frame["notes"] = summary["notes"]
    frame["consultants"] = summary["consultants"]
    return frame


def page_frame(agent: AgentProfile, kind: str, conversation_id, cursor: int, limit: int) -> dict:
    """``sync`` / ``history`` for the agent of the conversation or a consultant."""
    conversation = consult.readable_conversation(agent, conversation_id)
    return payloads.page_frame(kind, conversation, cursor, limit)

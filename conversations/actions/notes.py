"""Internal notes: agents leave each other a word inside a conversation (../shared/PROTOCOL.md "Agent
socket, additions", docs/agents.md).

A note is stored apart from the messages, so the customer's ``seq`` stays gap-free, and it reaches only
agent sockets: its agent's, its consultants' and the supervisors' watching it (``watch.<conversation>``).
Nothing the customer can reach reads this model: not their frames, ``welcome``, ``sync`` or ``history``,
not the transcripts or their data export.
"""

from __future__ import annotations

import uuid

from django.db import IntegrityError, transaction
from django.utils import timezone

from routing.models import AgentProfile

from .. import events
from ..models import Conversation, Note
from ..serializers import iso
from . import access, consult
from .messages import check_client_id, check_text
from .transitions import guard


def note_dict(note: Note) -> dict:
    return {
        "id": str(note.id),
        "conversation_id": str(note.conversation_id),
        "after_seq": note.after_seq,
        "author": {"id": str(note.author_id) if note.author_id else None, "name": note.author_name},
        "text": note.text,
        "created_at": iso(note.created_at),
        "client_id": note.client_id,
    }


def notes_of(conversation: Conversation) -> list[dict]:
    """Every note of the conversation, oldest first (the agent's ``open``)."""
    return [note_dict(note) for note in conversation.notes.order_by("created_at", "id")]


def store_note(
    conversation: Conversation,
    *,
    author: AgentProfile | None,
    author_name: str,
    text: str,
    client_id: str | None = None,
    origin: str | None = None,
) -> Note:
    """Store a note on a conversation (locked by the caller, checks done) and announce it after commit to
    the agent sockets that see the conversation, but ``origin`` (the socket that wrote it gets an ack)."""
    note = Note.objects.create(
        conversation=conversation,
        after_seq=conversation.last_seq,
        author=author,
        author_name=author_name,
        text=text,
        client_id=client_id or f"note-{uuid.uuid4()}",
        created_at=timezone.now(),
    )
    announce(conversation, note, origin)
    return note


def announce(conversation: Conversation, note: Note, origin: str | None) -> None:
    frame = {"type": "note", "note": note_dict(note)}
    if conversation.agent_id:
        events.to_agent(conversation.agent_id, frame, exclude=origin)
    events.to_watchers(conversation.id, frame, exclude=origin)


def write(agent: AgentProfile, conversation_id, *, client_id, text, origin: str | None = None) -> tuple[Note, bool]:
    """The ``note`` frame: the assigned agent or a consultant writes a note, in any state but closed.
    Idempotent by ``client_id`` like ``send``: a repeated one returns the stored note and stores nothing.
    Returns (note, stored_now)."""
    client_id = check_client_id(client_id)
    text = check_text(text)
    conversation_id = access.parse_id(conversation_id)
    try:
        with transaction.atomic():
            return _write(agent, conversation_id, client_id, text, origin)
    except IntegrityError:  # another socket stored this client_id at the same moment: answer with theirs
        with transaction.atomic():
            return _write(agent, conversation_id, client_id, text, origin)


def _write(agent: AgentProfile, conversation_id, client_id: str, text: str, origin: str | None) -> tuple[Note, bool]:
    query = access.conversations().select_for_update(of=("self",)).filter(pk=conversation_id)
    conversation = consult.check_reader(agent, query.first())
    existing = conversation.notes.filter(client_id=client_id).first()
    if existing is not None:
        return existing, False
    guard("note", conversation)
    note = store_note(
        conversation, author=agent, author_name=agent.display_name, text=text, client_id=client_id, origin=origin
    )
    return note, True

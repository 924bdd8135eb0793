"""Transcripts built on the server from what the database holds (never from what a page shows).

The customer's transcript has their conversation's messages and attachments' names; the agent's and the
admin's may also hold the internal notes (``with_notes``), which never reach a customer's transcript.
Two forms: plain text, and a printable HTML page (every text escaped by the template engine).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from ..errors import ServiceError
from ..models import Conversation, Customer, Note, Role
from . import files
from .access import parse_id as _parse_id

FORMATS = ("txt", "html")


@dataclass(frozen=True)
class Entry:
    """One line of a transcript: a message, or (agents only) an internal note after message ``after``."""

    at: datetime
    role: str
    name: str
    text: str
    attachments: tuple[str, ...] = ()
    note: bool = False
    after: int = 0


def _notes(conversation: Conversation) -> list[Entry]:
    return [
        Entry(
            at=note.created_at,
            role="note",
            name=note.author_name or _("Agent"),
            text=note.text,
            note=True,
            after=note.after_seq,
        )
        for note in Note.objects.filter(conversation=conversation).order_by("created_at")
    ]


def entries(conversation: Conversation, *, with_notes: bool = False) -> list[Entry]:
    """Every message of the conversation in ``seq`` order; with ``with_notes`` (agents only) each note
    after the message the customer could last see when it was written, as the workspace shows it."""
    messages = files.load_attachments(list(conversation.messages.order_by("seq")))
    rows = [
        Entry(
            at=m.sent_at,
            role=m.sender_role,
            name=m.sender_name,
            text=m.text,
            attachments=tuple(a.name for a in m.attachment_list),
            after=m.seq,
        )
        for m in messages
    ]
    if with_notes:
        # stable sort: messages stay in seq order, a note follows the message it was written after
        rows = sorted(rows + _notes(conversation), key=lambda entry: (entry.after, entry.note))
    return rows


def _context(conversation: Conversation, *, with_notes: bool) -> dict:
    widget = conversation.widget
    return {
        "conversation": conversation,
        "title": widget.title if widget else conversation.workstream.name,
        "customer": conversation.customer.display_name,
        "agent": conversation.agent.display_name if conversation.agent_id else "",
        "entries": entries(conversation, with_notes=with_notes),
        "with_notes": with_notes,
        "generated_at": timezone.now(),
        "roles": {Role.CUSTOMER: _("Customer"), Role.AGENT: _("Agent"), Role.SYSTEM: _("System"), "note": _("Note")},
    }


def render(conversation: Conversation, fmt: str, *, with_notes: bool = False, language: str | None = None) -> str:
    """The transcript as ``txt`` or ``html`` in ``language`` (default: the widget's)."""
    if fmt not in FORMATS:
        raise ServiceError("bad_request", "The format must be txt or html.")
    if not language:
        widget = conversation.widget if conversation.widget_id else None
        language = widget.language_for(conversation.customer.language) if widget is not None else "en"
    with translation.override(language):
        return render_to_string(f"transcripts/transcript.{fmt}", _context(conversation, with_notes=with_notes))


def filename(conversation: Conversation, fmt: str) -> str:
    return f"transcript-{conversation.created_at:%Y-%m-%d}-{str(conversation.id)[:8]}.{fmt}"


# --- who may have which transcript -------------------------------------------------------------------


def customer_conversation(customer: Customer, widget, conversation_id) -> Conversation:
    """One of the customer's own conversations of this widget's workstream, or ``not_found``."""
    conversation = (
        Conversation.objects.select_related("widget", "workstream", "customer", "agent")
        .filter(pk=_parse_id(conversation_id), customer=customer, workstream_id=widget.workstream_id)
        .first()
    )
    if conversation is None:
        raise ServiceError("not_found", "No such conversation.")
    return conversation


def staff_conversation(conversation_id, *, agent=None, user=None) -> Conversation:
    """The conversation for its agent, a supervisor, or an admin who may view conversations."""
    conversation = (
        Conversation.objects.select_related("widget", "workstream", "customer", "agent")
        .filter(pk=_parse_id(conversation_id))
        .first()
    )
    if conversation is None:
        raise ServiceError("not_found", "No such conversation.")
    if agent is not None and files.agent_may_read(agent, conversation):
        return conversation
    if user is not None and user.is_staff and user.has_perm("conversations.view_conversation"):
        return conversation
    raise ServiceError("not_allowed", "You may not read this conversation.")


def email_to_customer(customer: Customer, widget, conversation_id) -> str:
    """Send the customer's transcript to their known email address (text with the HTML form beside it);
    ``not_allowed`` when no address is known. Returns the address."""
    conversation = customer_conversation(customer, widget, conversation_id)
    address = customer.email
    if not address or "@" not in address:
        raise ServiceError("not_allowed", "We do not know your email address.")
    language = widget.language_for(customer.language)
    with translation.override(language):
        subject = _("Transcript of your conversation: %(title)s") % {"title": widget.title}
    message = EmailMultiAlternatives(
        subject=subject,
        body=render(conversation, "txt", language=language),
        to=[address],
    )
    message.attach_alternative(render(conversation, "html", language=language), "text/html")
    message.send()
    return address

"""Never left alone: telling a live customer at once that nobody can answer now, when the team is back,
and taking a message with an email address instead (the "leave a message" form of the widget)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils import translation
from django.utils.translation import gettext as _

from routing import policy
from routing.models import AgentProfile, Presence

from .. import events, notices
from ..errors import ServiceError
from ..models import Conversation, Customer, Mode, State
from ..serializers import iso
from . import messages
from .pre_chat import SurveyRefused


def next_opening(queue, now=None) -> str | None:
    """When the queue's operating hours open next (ISO, UTC), None while open or with no hours at all."""
    return iso(policy.next_opening(queue, now))


def agents_available(queue) -> bool:
    return AgentProfile.objects.filter(queues=queue, presence=Presence.AVAILABLE, user__is_active=True).exists()


def welcome_fields(widget) -> dict:
    """What ``welcome.widget`` says about availability: the next opening when the hours are over, and
    whether an agent of the queue is available now (live chat offers to leave a message otherwise)."""
    queue = widget.workstream.queue
    return {"next_opening": next_opening(queue), "agents_available": agents_available(queue)}


def after_first_message(conversation_id) -> None:
    """A live customer's first message opened a conversation and routing found nobody: tell them at once
    (notice ``no_agent_available`` with the next opening, if the hours are over) so that they may leave
    a message with their email instead of waiting."""
    conversation = (
        Conversation.objects.select_related("widget", "queue__operating_hours").filter(pk=conversation_id).first()
    )
    if conversation is None or conversation.mode != Mode.LIVE or conversation.state != State.OPEN:
        return
    if conversation.left_message or agents_available(conversation.queue):
        return
    events.to_customer(
        conversation.customer_id,
        conversation.workstream_id,
        notices.notice(
            conversation.widget,
            "no_agent_available",
            conversation_id=str(conversation.id),
            next_opening=next_opening(conversation.queue),
        ),
    )


def check_email(widget, email, language: str = "") -> str:
    """The address of the leave-a-message form, or ``bad_request`` with ``fields.email`` in the widget's
    language (``language``: the visitor's, for a widget set to "auto")."""
    with translation.override(widget.language_for(language)):
        if not isinstance(email, str) or not email.strip():
            raise SurveyRefused({"email": _("Enter your email address so that we can answer you.")})
        email = email.strip()
        try:
            validate_email(email)
        except ValidationError:
            raise SurveyRefused({"email": _("Enter a valid email address.")}) from None
    if len(email) > 254:
        raise ServiceError("bad_request", "The email address is too long.")
    return email


def remember_email(customer: Customer, email: str) -> None:
    """The customer's address for the answer: kept on an anonymous visitor; a signed-in customer's
    address comes from their website's token and stays as it is, unless none was known."""
    if customer.is_anonymous_visitor or not customer.email:
        Customer.objects.filter(pk=customer.pk).update(email=email)
        customer.email = email


def leave_message(customer: Customer, widget, *, client_id, text, email, origin=None, attachments=None):
    """The customer leaves a message with their email address for an agent to answer later, also outside
    operating hours: their conversation is kept however long they are away, and an answer they have not
    seen reaches them by email (with ``email_notifications`` on the widget). Returns what
    ``messages.customer_message`` returns."""
    email = check_email(widget, email, customer.language)
    remember_email(customer, email)
    return messages.customer_message(
        customer,
        widget,
        client_id=client_id,
        text=text,
        origin=origin,
        attachments=attachments,
        left_message=True,
    )

"""Email to an absent customer (../PROTOCOL.md "Email to an absent customer").

With ``email_notifications`` on the widget, an agent's message in a persistent conversation (or in a live
conversation where the customer left a message) that the customer has not seen for
``PARLEY_EMAIL_DELAY`` seconds is emailed to them: one email with the unseen agent messages, at most one
per conversation per delay, never while a socket of theirs is open, never for messages they have seen
(``ReadMark``), never after they unsubscribed. Each email carries a one-click unsubscribe link (RFC 8058):
signed, good for one use.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import F, Max, Q
from django.db.models.functions import Coalesce, Greatest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from ..models import (
    Connection,
    Conversation,
    Customer,
    EmailNotification,
    EmailOptOut,
    Message,
    Mode,
    ReadMark,
    Role,
    State,
    UnsubscribeLink,
)

logger = logging.getLogger("parley.email")

UNSUBSCRIBE_SALT = "parley.unsubscribe"
MAX_MESSAGES_IN_EMAIL = 20


# --- what the customer has seen ----------------------------------------------------------------------


def mark_seen(customer_id, workstream_id) -> None:
    """Every message of the customer's conversations in the workstream reached a socket of theirs (they
    said hello and got the latest messages, or their last socket closed after getting every message
    live)."""
    now = timezone.now()
    for conversation_id, last_seq in (
        Conversation.objects.filter(customer_id=customer_id, workstream_id=workstream_id)
        .exclude(state=State.CLOSED, closed_at__lt=now - timedelta(days=1))
        .values_list("id", "last_seq")
    ):
        updated = ReadMark.objects.filter(conversation_id=conversation_id, seen_seq__lt=last_seq).update(
            seen_seq=last_seq, updated_at=now
        )
        if not updated and not ReadMark.objects.filter(conversation_id=conversation_id).exists():
            ReadMark.objects.create(conversation_id=conversation_id, seen_seq=last_seq, updated_at=now)


# --- unsubscribing -----------------------------------------------------------------------------------


def subscribed(customer: Customer) -> bool:
    return not EmailOptOut.objects.filter(customer=customer).exists()


def set_subscribed(customer: Customer, enabled: bool) -> None:
    """The widget's switch: emails about unseen replies on or off."""
    if enabled:
        EmailOptOut.objects.filter(customer=customer).delete()
    else:
        EmailOptOut.objects.get_or_create(customer=customer)


def unsubscribe_token(link: UnsubscribeLink) -> str:
    return signing.dumps(str(link.id), salt=UNSUBSCRIBE_SALT)


class UnsubscribeRefused(Exception):
    """``forged``: the link was not made by this server; ``used``: it was used before."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def link_for(token: str) -> UnsubscribeLink:
    """The link a token names; ``UnsubscribeRefused("forged")`` when the signature does not hold."""
    try:
        link_id = uuid.UUID(signing.loads(token, salt=UNSUBSCRIBE_SALT))
    except (signing.BadSignature, ValueError, TypeError):
        raise UnsubscribeRefused("forged") from None
    link = UnsubscribeLink.objects.select_related("customer").filter(pk=link_id).first()
    if link is None:
        raise UnsubscribeRefused("forged")
    return link


def unsubscribe(token: str) -> Customer:
    """RFC 8058 one-click: the customer of a valid, unused link gets no more emails; the link is spent."""
    with transaction.atomic():
        link = link_for(token)
        spent = UnsubscribeLink.objects.filter(pk=link.pk, used_at__isnull=True).update(used_at=timezone.now())
        if not spent:
            raise UnsubscribeRefused("used")
        EmailOptOut.objects.get_or_create(customer=link.customer)
    logger.info("customer %s unsubscribed from emails", link.customer_id)
    return link.customer


# --- the sweep ---------------------------------------------------------------------------------------


def _candidates(now: datetime):
    """Conversations that may owe their customer an email: the widget sends emails, the customer has an
    address and did not unsubscribe, the conversation holds messages after what was seen and emailed,
    and no email about it went out within the delay."""
    delay = timedelta(seconds=settings.PARLEY_EMAIL_DELAY)
    return (
        Conversation.objects.filter(widget__email_notifications=True)
        .filter(Q(mode=Mode.PERSISTENT) | Q(left_message=True))
        .exclude(state=State.CLOSED, closed_at__lt=now - delay - timedelta(days=1))
        .exclude(customer__email="")
        .exclude(customer__email_opt_out__isnull=False)
        .annotate(
            seen_seq=Coalesce(F("read_mark__seen_seq"), 0),
            emailed_seq=Coalesce(Max("email_notifications__last_seq"), 0),
            last_email_at=Max("email_notifications__sent_at"),
        )
        .filter(last_seq__gt=Greatest("seen_seq", "emailed_seq"))
        .filter(Q(last_email_at__isnull=True) | Q(last_email_at__lte=now - delay))
        .values_list("id", flat=True)
    )


def sweep(now: datetime | None = None) -> int:
    """Send the emails that are due; returns how many were sent. Every process may run it: each email is
    claimed under the conversation's row lock before it is sent."""
    now = now or timezone.now()
    sent = 0
    for conversation_id in list(_candidates(now)[:200]):
        try:
            sent += _send_due(conversation_id, now)
        except Exception:
            logger.exception("email about conversation %s failed; the next sweep tries again", conversation_id)
    return sent


def _claim(conversation_id, now: datetime) -> tuple[EmailNotification, list[Message], UnsubscribeLink] | None:
    """Under the conversation's lock: what the email holds, recorded as sent; None when nothing is due."""
    delay = timedelta(seconds=settings.PARLEY_EMAIL_DELAY)
    with transaction.atomic():
        conversation = (
            Conversation.objects.select_for_update(of=("self",), skip_locked=True)
            .select_related("customer", "widget", "agent")
            .filter(pk=conversation_id)
            .first()
        )
        if conversation is None or conversation.widget is None:
            return None
        customer = conversation.customer
        if not customer.email or not subscribed(customer):
            return None
        if Connection.objects.filter(customer=customer, widget__workstream_id=conversation.workstream_id).exists():
            return None  # a socket is open: the customer sees the messages there
        last = EmailNotification.objects.filter(conversation=conversation).order_by("-sent_at").first()
        if last is not None and last.sent_at > now - delay:
            return None
        mark = ReadMark.objects.filter(conversation=conversation).first()
        after = max(mark.seen_seq if mark else 0, last.last_seq if last else 0)
        unseen = list(
            conversation.messages.filter(seq__gt=after, sender_role=Role.AGENT).order_by("seq")[
                : MAX_MESSAGES_IN_EMAIL + 1
            ]
        )
        if not unseen or unseen[0].sent_at > now - delay:
            return None
        unseen = unseen[:MAX_MESSAGES_IN_EMAIL]
        notification = EmailNotification.objects.create(
            conversation=conversation,
            to=customer.email,
            first_seq=unseen[0].seq,
            last_seq=conversation.last_seq,
            sent_at=now,
        )
        link = UnsubscribeLink.objects.create(customer=customer)
    return notification, unseen, link


def _send_due(conversation_id, now: datetime) -> int:
    claimed = _claim(conversation_id, now)
    if claimed is None:
        return 0
    notification, messages, link = claimed
    try:
        build_email(notification.conversation, messages, link).send()
    except Exception:
        notification.delete()  # not sent: the next sweep tries again
        link.delete()
        raise
    return 1


def public_url(path: str) -> str:
    return settings.PARLEY_PUBLIC_URL.rstrip("/") + path


def build_email(conversation: Conversation, messages: list[Message], link: UnsubscribeLink) -> EmailMultiAlternatives:
    """The email: plain text and HTML in the widget's language, with the one-click unsubscribe headers."""
    widget = conversation.widget
    unsubscribe_url = public_url(reverse("email-unsubscribe", args=[unsubscribe_token(link)]))
    agent = conversation.agent.display_name if conversation.agent_id else ""
    language = widget.language_for(conversation.customer.language)
    with translation.override(language):
        context = {
            "title": widget.title,
            "customer": conversation.customer.display_name,
            "agent": agent,
            "messages": messages,
            "return_url": widget.return_url,
            "unsubscribe_url": unsubscribe_url,
            "language": language,
        }
        if agent:
            subject = _("%(agent)s answered you: %(title)s") % {"agent": agent, "title": widget.title}
        else:
            subject = _("You have an answer: %(title)s") % {"title": widget.title}
        text = render_to_string("email/absent_customer.txt", context)
        html = render_to_string("email/absent_customer.html", context)
    email = EmailMultiAlternatives(
        subject=subject,
        body=text,
        to=[conversation.customer.email],
        headers={
            "List-Unsubscribe": f"<{unsubscribe_url}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "Auto-Submitted": "auto-generated",
        },
    )
    email.attach_alternative(html, "text/html")
    return email

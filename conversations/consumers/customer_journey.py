"""The customer socket's frames of the customer's journey (../PROTOCOL.md "Version 2 additions"):
the pre-chat survey, ratings, earlier conversations, transcripts by email and the email switch.

A mixin of ``CustomerConsumer``: each handler parses its frame, calls one action in a database thread
and answers. The rules are in ``conversations/actions``.
"""

from __future__ import annotations

from django.db import transaction

from ..actions import availability, earlier, files, notifications, pre_chat, ratings, transcripts
from ..protocol import BadFrame, field_bool
from ..serializers import message_dict
from .base import db

JOURNEY_COMMANDS = frozenset(
    {"pre_chat", "rate", "leave_message", "earlier_conversations", "email_transcript", "email_notifications"}
)


def welcome_additions(widget, customer) -> tuple[dict, dict, str]:
    """What ``welcome`` gains: fields of ``widget``, fields of ``customer`` and the upload token."""
    widget_fields = {
        "pre_chat": pre_chat.welcome_fields(widget, customer),
        "post_chat_survey": widget.post_chat_survey,
        "email_notifications": widget.email_notifications,
        **availability.welcome_fields(widget),
    }
    customer_fields = {
        "email_known": bool(customer.email),
        "email_notifications": widget.email_notifications and notifications.subscribed(customer),
    }
    return widget_fields, customer_fields, files.upload_token(customer, widget)


def survey_error(refused: pre_chat.SurveyRefused) -> dict:
    return {"type": "error", "code": refused.code, "message": refused.message, "fields": refused.fields}


def _echo_client_id(frame: dict) -> dict:
    client_id = frame.get("client_id")
    return {"client_id": client_id} if isinstance(client_id, str) else {}


class JourneyFrames:
    """Handlers for ``JOURNEY_COMMANDS``; expects ``self.customer``, ``self.widget``, ``_require_hello`` and
    ``stored_customer``."""

    def _stored_then(self, action, *args, **kwargs):
        """``action(customer, *args, **kwargs)`` in one transaction with the storing of an anonymous
        visitor's row, if this is the first thing they store (in a database thread)."""
        with transaction.atomic():
            return action(self.stored_customer(), *args, **kwargs)

    async def on_pre_chat(self, frame: dict):
        self._require_hello()
        if "answers" not in frame:
            raise BadFrame("bad_request", "'answers' is missing.")
        try:
            await db(self._stored_then)(pre_chat.submit, self.widget, frame["answers"])
        except pre_chat.SurveyRefused as refused:
            return survey_error(refused)
        return {"type": "ok"}

    async def on_leave_message(self, frame: dict):
        self._require_hello()
        self.take_send_token()
        try:
            message, conversation, _stored = await db(self._stored_then)(
                availability.leave_message,
                self.widget,
                client_id=frame.get("client_id"),
                text=frame.get("text"),
                email=frame.get("email"),
                origin=self.channel_name,
                attachments=frame.get("attachments"),
            )
        except pre_chat.SurveyRefused as refused:
            return {**survey_error(refused), **_echo_client_id(frame)}
        self.conversation_id = conversation.id
        return {"type": "ack", "client_id": message.client_id, "message": message_dict(message)}

    async def on_rate(self, frame: dict):
        self._require_hello()
        await db(ratings.rate)(
            self.customer, self.widget, frame.get("conversation_id"), frame.get("score"), frame.get("comment")
        )
        return {"type": "ok"}

    async def on_earlier_conversations(self, frame: dict):
        self._require_hello()
        return await db(earlier.earlier_conversations)(self.customer, self.widget, frame.get("before"))

    async def on_email_transcript(self, frame: dict):
        self._require_hello()
        address = await db(transcripts.email_to_customer)(self.customer, self.widget, frame.get("conversation_id"))
        return {"type": "ok", "email": address}

    async def on_email_notifications(self, frame: dict):
        self._require_hello()
        enabled = field_bool(frame, "enabled")
        await db(self._stored_then)(notifications.set_subscribed, enabled)
        return {"type": "ok"}

"""Wire shapes of the shared objects (../PROTOCOL.md "Shared objects")."""

from __future__ import annotations

import hashlib
import hmac
import time
from datetime import UTC, datetime

from django.conf import settings

from .models import Conversation, Message


def iso(moment: datetime | None) -> str | None:
    """ISO 8601 in UTC with a ``Z`` suffix and milliseconds."""
    return None if moment is None else _iso_utc(moment)


def _iso_utc(moment: datetime) -> str:
    if moment.utcoffset():  # the database and timezone.now() give UTC already; a naive time is taken as UTC
        moment = moment.astimezone(UTC)
    return moment.replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"


def message_dict(message: Message) -> dict:
    return {
        "id": str(message.id),
        "conversation_id": str(message.conversation_id),
        "seq": message.seq,
        "sender": {"role": message.sender_role, "name": message.sender_name},
        "text": message.text,
        "sent_at": _iso_utc(message.sent_at),
        "client_id": message.client_id,
        # Attachments come with the message only where they were loaded (``actions.files.load_attachments``)
        # or just attached: a plain text message costs no query here.
        "attachments": [attachment_dict(a) for a in getattr(message, "attachment_list", ())],
    }


def attachment_dict(attachment) -> dict:
    return {
        "id": str(attachment.id),
        "name": attachment.name,
        "size": attachment.size,
        "content_type": attachment.content_type,
        "url": signed_file_url(attachment.id),
    }


FILE_URL_SALT = b"parley.file-url"
FILE_URL_TTL_SECONDS = 24 * 3600


def file_url_signature(attachment_id, expires: int) -> str:
    key = hashlib.sha256(FILE_URL_SALT + settings.SECRET_KEY.encode()).digest()
    return hmac.new(key, f"{attachment_id}:{expires}".encode(), hashlib.sha256).hexdigest()[:32]


def signed_file_url(attachment_id, now: float | None = None) -> str:
    """A file's address with an expiring signature: valid for a day after the next full hour, so that one
    message keeps one address for an hour and the browser's cache works."""
    now = time.time() if now is None else now
    expires = (int(now) // 3600 + 1) * 3600 + FILE_URL_TTL_SECONDS
    return f"/files/{attachment_id}/?expires={expires}&sig={file_url_signature(attachment_id, expires)}"


def conversation_summary(conversation: Conversation) -> dict:
    """The conversation summary; expects workstream, customer and agent loaded."""
    workstream = conversation.workstream
    agent = conversation.agent
    return {
        "id": str(conversation.id),
        "state": conversation.state,
        "mode": conversation.mode,
        "workstream": {"id": str(workstream.id), "name": workstream.name, "distribution": workstream.distribution},
        "customer": {"id": str(conversation.customer_id), "name": conversation.customer.display_name},
        "agent": {"id": str(agent.id), "name": agent.display_name} if agent else None,
        "last_seq": conversation.last_seq,
        "created_at": _iso_utc(conversation.created_at),
        "updated_at": _iso_utc(conversation.updated_at),
    }


def integration_summary(conversation: Conversation) -> dict:
    """The summary the REST API and webhooks send: the protocol's, with the agents' fields (queue, context,
    pre-chat answers) and when it closed; expects workstream, customer, agent and queue loaded."""
    summary = conversation_summary(conversation)
    summary["queue"] = {"id": str(conversation.queue_id), "name": conversation.queue.name}
    summary["context"] = conversation.context
    summary["pre_chat"] = conversation.pre_chat
    summary["closed_at"] = iso(conversation.closed_at)
    return summary

"""Files both ways: uploads, their type, who may read them, and the sweep of unattached uploads.

An upload is checked by its bytes (``filetype``), never by its name or the type the browser claims, and
stored through Django's storage API. It becomes part of a message when a ``send`` names it
(``attach_for_customer`` / ``attach_for_agent``, called inside the message's transaction); uploads left
unattached for ``PARLEY_UPLOAD_TTL`` seconds are deleted by the timers. Deleting an attachment row (the
customer's erasure, retention, the sweep) deletes its file (``delete_stored_file``).
"""

from __future__ import annotations

import hmac
import logging
import os
import time
import uuid
from datetime import datetime, timedelta

import filetype
from django.conf import settings
from django.core import signing
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ..errors import ServiceError
from ..models import Attachment, Conversation, Customer, Message
from ..serializers import file_url_signature

logger = logging.getLogger("parley.files")

MAX_ATTACHMENTS = 5
# Raster images shown inline (a preview); everything else is downloaded.
INLINE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
# What a customer or an agent may upload, by the type found in the bytes, with the extension it gets.
ALLOWED_TYPES = {
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/gif": ".gif",
    "image/webp": ".webp",
    "image/bmp": ".bmp",
    "image/tiff": ".tif",
    "image/heic": ".heic",
    "application/pdf": ".pdf",
    "text/plain": ".txt",
    "application/rtf": ".rtf",
    "application/msword": ".doc",
    "application/vnd.ms-excel": ".xls",
    "application/vnd.ms-powerpoint": ".ppt",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ".xlsx",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": ".pptx",
    "application/vnd.oasis.opendocument.text": ".odt",
    "application/vnd.oasis.opendocument.spreadsheet": ".ods",
    "application/vnd.oasis.opendocument.presentation": ".odp",
}
# Text that a browser would run or draw as markup is not "plain text", whatever its name says.
_MARKUP_STARTS = (b"<!doctype", b"<html", b"<svg", b"<?xml", b"<script", b"<head", b"<body", b"<iframe", b"<!--")
UPLOAD_TOKEN_SALT = "parley.upload-token"  # noqa: S105 (a signing salt, not a secret)


class UploadRefused(Exception):
    """An upload the server will not store: ``status`` is the HTTP answer (400, 413, 415)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


# --- the customer's upload token ------------------------------------------------------------------


def upload_token(customer: Customer, widget) -> str:
    """Identifies a widget customer to the upload and transcript endpoints (sent in ``welcome``)."""
    return signing.dumps({"c": str(customer.id), "w": widget.public_id}, salt=UPLOAD_TOKEN_SALT, compress=True)


def customer_from_upload_token(token: str, widget) -> Customer | None:
    """The customer the token names, if it is valid (signed, not older than a day) for this widget."""
    try:
        data = signing.loads(token, salt=UPLOAD_TOKEN_SALT, max_age=settings.PARLEY_UPLOAD_TTL)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict) or data.get("w") != widget.public_id:
        return None
    try:
        customer_id = uuid.UUID(str(data.get("c")))
    except ValueError:
        return None
    customer = Customer.objects.filter(pk=customer_id).first()
    if customer is None and widget.authentication_id is None:
        # an anonymous visitor's first upload stores their row (the socket's hello did not)
        customer, _created = Customer.objects.get_or_create(
            pk=customer_id, authentication=None, defaults={"last_seen_at": timezone.now()}
        )
    return customer


# --- checking and storing an upload --------------------------------------------------------------


def sniff(head: bytes) -> str | None:
    """The content type the bytes show, from the allowed list, or None."""
    kind = filetype.guess(head)
    if kind is not None:
        return kind.mime if kind.mime in ALLOWED_TYPES else None
    if _is_plain_text(head):
        return "text/plain"
    return None


def _is_plain_text(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as error:
        if error.start < len(head) - 4:  # not just a character cut at the end of the sample
            return False
        text = head[: error.start].decode("utf-8")
    start = text.lstrip("\ufeff \t\r\n").lower().encode()
    if start.startswith(_MARKUP_STARTS):
        return False
    return not any(ord(c) < 32 and c not in "\t\r\n\f" for c in text)


def _clean_name(name: str, extension: str) -> str:
    """The customer's file name without any path, control characters or misleading extension: the
    extension is the one of the type found in the bytes."""
    base = os.path.basename((name or "").replace("\\", "/"))
    base = "".join(c for c in base if c.isprintable() and c not in '<>:"/\\|?*').strip(" .")
    stem = os.path.splitext(base)[0].strip(" .")[:100] or _("file")
    return f"{stem}{extension}"


def store_upload(upload: UploadedFile, *, customer: Customer | None = None, agent=None) -> Attachment:
    """Check ``upload`` and store it for ``customer`` or ``agent``; raises ``UploadRefused``."""
    if upload.size == 0:
        raise UploadRefused(400, "bad_request", _("The file is empty."))
    if upload.size > settings.PARLEY_MAX_UPLOAD_BYTES:
        raise UploadRefused(413, "too_large", too_large_message())
    upload.seek(0)
    head = upload.read(8192)
    upload.seek(0)
    content_type = sniff(head)
    if content_type is None:
        raise UploadRefused(
            415,
            "unsupported_type",
            _("This type of file cannot be sent. Send images, PDF, plain text or office documents."),
        )
    extension = ALLOWED_TYPES[content_type]
    attachment = Attachment(
        name=_clean_name(upload.name, extension),
        size=upload.size,
        content_type=content_type,
        extension=extension,
        customer=customer,
        agent=agent,
    )
    attachment.file.save(f"{attachment.id.hex}{extension}", upload, save=False)
    try:
        attachment.save(force_insert=True)
    except Exception:
        attachment.file.delete(save=False)
        raise
    return attachment


def too_large_message() -> str:
    megabytes = settings.PARLEY_MAX_UPLOAD_BYTES / (1024 * 1024)
    return _("The file is too big: at most %(size)s MB.") % {"size": f"{megabytes:g}"}


def upload_dict(attachment: Attachment) -> dict:
    """The upload endpoint's answer."""
    return {
        "id": str(attachment.id),
        "name": attachment.name,
        "size": attachment.size,
        "content_type": attachment.content_type,
    }


# --- attaching uploads to a message ----------------------------------------------------------------


def check_upload_ids(value) -> list[uuid.UUID]:
    """The ``attachments`` field of a ``send``: a list of at most 5 distinct upload ids."""
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ServiceError("bad_request", "'attachments' must be a list of upload ids.")
    if len(value) > MAX_ATTACHMENTS:
        raise ServiceError("bad_request", f"A message has at most {MAX_ATTACHMENTS} attachments.")
    ids = []
    for item in value:
        try:
            upload_id = uuid.UUID(item)
        except ValueError:
            raise ServiceError("not_found", "No such upload.") from None
        if upload_id not in ids:
            ids.append(upload_id)
    return ids


def lock_uploads(ids: list[uuid.UUID], *, customer: Customer | None = None, agent=None) -> list[Attachment]:
    """The uploads ``ids`` of this customer or agent that no message holds yet, locked, in the given
    order; ``not_found`` when any is missing, someone else's, attached already or expired."""
    if not ids:
        return []
    owner = {"customer": customer} if customer is not None else {"agent": agent}
    fresh_after = timezone.now() - timedelta(seconds=settings.PARLEY_UPLOAD_TTL)
    rows = {
        row.id: row
        for row in Attachment.objects.select_for_update().filter(
            pk__in=ids, message__isnull=True, created_at__gt=fresh_after, **owner
        )
    }
    if len(rows) != len(ids):
        raise ServiceError("not_found", "An attachment is not one of your uploads, or it was sent or deleted.")
    return [rows[upload_id] for upload_id in ids]


def attach(uploads: list[Attachment], message: Message) -> None:
    """Make the locked ``uploads`` part of ``message`` (same transaction) and keep them on it for its
    wire shape."""
    if uploads:
        Attachment.objects.filter(pk__in=[u.pk for u in uploads]).update(
            message=message, conversation_id=message.conversation_id
        )
        for upload in uploads:
            upload.message_id = message.pk
            upload.conversation_id = message.conversation_id
    message.attachment_list = list(uploads)


def load_attachments(messages: list[Message]) -> list[Message]:
    """Give each of ``messages`` its attachments for ``message_dict``: one query for a page of messages
    (none for messages that were just stored and know theirs)."""
    wanted = [m for m in messages if not hasattr(m, "attachment_list")]
    if not wanted:
        return messages
    by_message: dict = {m.pk: [] for m in wanted}
    for attachment in Attachment.objects.filter(message_id__in=list(by_message)).order_by("created_at", "id"):
        by_message[attachment.message_id].append(attachment)
    for message in wanted:
        message.attachment_list = by_message[message.pk]
    return messages


# --- reading a file ---------------------------------------------------------------------------------


def signature_valid(attachment_id, expires: str, sig: str) -> bool:
    try:
        expires_at = int(expires)
    except (TypeError, ValueError):
        return False
    if expires_at < time.time():
        return False
    return hmac.compare_digest(file_url_signature(attachment_id, expires_at), str(sig))


def readable_attachment(attachment_id, *, expires=None, sig=None, customer=None, agent=None, user=None):
    """The attachment if this reader may have it, else None (the view answers 404 either way).

    A valid signature in the address; or the conversation's customer (upload token); or an agent who
    may see the conversation (its agent, a consultant, a supervisor) or a staff user with the
    conversation's view permission; an unattached upload only for whoever uploaded it."""
    try:
        attachment_id = uuid.UUID(str(attachment_id))
    except ValueError:
        return None
    attachment = Attachment.objects.select_related("conversation").filter(pk=attachment_id).first()
    if attachment is None:
        return None
    if attachment.message_id is None:
        mine = (customer is not None and attachment.customer_id == customer.pk) or (
            agent is not None and attachment.agent_id == agent.pk
        )
        return attachment if mine else None
    if expires is not None and sig is not None and signature_valid(attachment.pk, expires, sig):
        return attachment
    conversation = attachment.conversation
    if customer is not None and conversation.customer_id == customer.pk:
        return attachment
    if agent is not None and agent_may_read(agent, conversation):
        return attachment
    if user is not None and user.is_staff and user.has_perm("conversations.view_conversation"):
        return attachment
    return None


def agent_may_read(agent, conversation: Conversation) -> bool:
    """The conversation's agent, or a supervisor."""
    return conversation.agent_id == agent.pk or agent.user.has_perm("routing.supervise")


# --- the timers ------------------------------------------------------------------------------------


def sweep_unattached(now: datetime | None = None) -> int:
    """Delete uploads no message took within ``PARLEY_UPLOAD_TTL`` seconds (their files too)."""
    cutoff = (now or timezone.now()) - timedelta(seconds=settings.PARLEY_UPLOAD_TTL)
    stale = list(Attachment.objects.filter(message__isnull=True, created_at__lte=cutoff)[:500])
    for attachment in stale:
        attachment.delete()
    return len(stale)


def delete_stored_file(sender, instance: Attachment, **kwargs) -> None:
    """``post_delete`` of an attachment: its file goes too, once the deletion is committed."""
    name = instance.file.name
    storage = instance.file.storage
    if name:
        transaction.on_commit(lambda: _delete_quietly(storage, name))


def _delete_quietly(storage, name: str) -> None:
    try:
        storage.delete(name)
    except OSError:
        logger.warning("could not delete stored file %s; it stays orphaned", name, exc_info=True)

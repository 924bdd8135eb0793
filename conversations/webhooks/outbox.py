"""``emit``: write an event to the outbox inside the transaction of the change it describes."""

from __future__ import annotations

import functools
import uuid
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from admin_center.models import WebhookEndpoint

from . import document, subscriptions, wakeup
from .models import Delivery

# Columns the outbox insert fills; the endpoint id comes from the endpoint table itself.
_VALUES = ("event_id", "event_type", "conversation_id", "body", "status", "attempts", "created_at",
           "next_attempt_at", "retry_until", "last_error")  # fmt: skip
_FIELDS = {f.attname: f for f in Delivery._meta.concrete_fields}


@functools.cache
def _insert_sql(vendor: str, endpoints: int) -> str:
    q = connection.ops.quote_name
    columns = ", ".join(q(_FIELDS[name].column) for name in ("endpoint_id", *_VALUES))
    endpoint = q(WebhookEndpoint._meta.db_table)
    values = ", ".join(["%s"] * len(_VALUES))
    ids = ", ".join(["%s"] * endpoints)
    # Identifiers from the models' metadata, quoted; every value is a parameter.
    return (
        f"INSERT INTO {q(Delivery._meta.db_table)} ({columns}) SELECT {endpoint}.{q('id')}, {values}"  # noqa: S608
        f" FROM {endpoint} WHERE {endpoint}.{q('id')} IN ({ids}) AND {endpoint}.{q('enabled')} = %s"
    )


def emit(event_type: str, conversation, data: dict) -> None:
    """Write ``event_type`` with ``data`` for every enabled endpoint subscribed to it.

    Call it INSIDE the transaction of the change, so that the event exists exactly when the change does
    (a rolled-back change sends nothing; a process dying after the commit loses nothing). With no
    subscriber it returns at once without a query (``subscriptions``). ``conversation`` (or None) orders
    the deliveries: one conversation's events reach each endpoint in the order they were written.
    ``data`` gains ``conversation_id`` when it has none."""
    endpoint_ids = subscriptions.endpoints_for(event_type)
    if not endpoint_ids:
        return
    conversation_id = getattr(conversation, "pk", conversation)
    if conversation_id is not None and "conversation_id" not in data:
        data = {"conversation_id": str(conversation_id), **data}
    write(event_type, conversation_id, data, endpoint_ids)
    transaction.on_commit(wakeup.wake)


def write(event_type: str, conversation_id, data: dict, endpoint_ids) -> uuid.UUID:
    """One outbox row per endpoint in ``endpoint_ids`` that exists and is enabled (one statement)."""
    now = timezone.now()
    event_id = uuid.uuid4()
    # Only the UUIDs and the times need the database's form (the rest are plain strings and numbers);
    # the message hot path writes this row for every message when an endpoint subscribes.
    uuid_field, time_field = _FIELDS["event_id"], _FIELDS["created_at"]
    at = time_field.get_db_prep_value(now, connection)
    values = {
        "event_id": uuid_field.get_db_prep_value(event_id, connection),
        "event_type": event_type,
        "conversation_id": uuid_field.get_db_prep_value(conversation_id, connection),
        "body": document.encode(event_id, event_type, now, data),
        "status": str(Delivery.Status.PENDING),
        "attempts": 0,
        "created_at": at,
        "next_attempt_at": at,
        "retry_until": time_field.get_db_prep_value(
            now + timedelta(seconds=settings.PARLEY_WEBHOOK_RETRY_FOR), connection
        ),
        "last_error": "",
    }
    params = [values[name] for name in _VALUES]
    params += list(endpoint_ids) + [True]
    with connection.cursor() as cursor:
        cursor.execute(_insert_sql(connection.vendor, len(endpoint_ids)), params)
    return event_id


def forget(conversation_ids) -> int:
    """Delete the events of these conversations, whatever their status (erasure and retention: the
    delivery log must not keep what was deleted elsewhere). Returns how many."""
    deleted, _ = Delivery.objects.filter(conversation_id__in=list(conversation_ids)).delete()
    return deleted

"""``emit``: write an event to the outbox inside the transaction of the change it describes.

Inside a group commit (``batched``) the rows written at the top level of the group's transaction are
kept and inserted together before the commit: one statement for the group instead of one per message.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import os
import random
import threading
import uuid
from datetime import timedelta

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.utils import timezone

from admin_center.models import WebhookEndpoint

from . import document, subscriptions, wakeup
from .models import Delivery

# Columns the outbox insert fills; the endpoint id comes from the endpoint table itself.
_VALUES = ("event_id", "event_type", "conversation_id", "body", "status", "attempts", "created_at",
           "next_attempt_at", "retry_until", "last_error")  # fmt: skip
_FIELDS = {f.attname: f for f in Delivery._meta.concrete_fields}
_PENDING = str(Delivery.Status.PENDING)


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


def write(event_type: str, conversation_id, data: dict, endpoint_ids) -> uuid.UUID:
    """One outbox row per endpoint in ``endpoint_ids`` that exists and is enabled (one statement, or a
    share of the group's statement in ``batched``)."""
    db = connections[DEFAULT_DB_ALIAS]
    now = timezone.now()
    event_id = new_event_id()
    # The values in the database's form, prepared here rather than by the fields (the message hot path
    # writes this row for every message when an endpoint subscribes).
    at = db.ops.adapt_datetimefield_value(now)
    retry_until = db.ops.adapt_datetimefield_value(now + timedelta(seconds=settings.PARLEY_WEBHOOK_RETRY_FOR))
    native_uuid = db.features.has_native_uuid_field
    params = [
        event_id if native_uuid else event_id.hex,
        event_type,
        _uuid(conversation_id, native_uuid),
        document.encode(event_id, event_type, now, data),
        _PENDING,
        0,
        at,
        at,
        retry_until,
        "",
        *endpoint_ids,
        True,
    ]
    sql = _insert_sql(db.vendor, len(endpoint_ids))
    rows = _batch.rows
    if rows is not None and not any(db.savepoint_ids):  # at the group's top level (see ``batched``)
        rows.append((sql, params))
        return event_id
    flush()  # nothing waits inside a savepoint (it opened after a flush); this keeps the order regardless
    with db.cursor() as cursor:
        cursor.execute(sql, params)
    transaction.on_commit(wakeup.wake)
    return event_id


# Event ids: random version-4 UUIDs from a generator seeded once per process (again after a fork) from
# the system's randomness. ``uuid.uuid4`` reads ``os.urandom`` for each id, a system call that makes the
# database thread give up and wait again for the interpreter lock on the message hot path. The ids only
# need to be unique (receivers deduplicate by them), not unpredictable.
_random = random.Random()
os.register_at_fork(after_in_child=_random.seed)


def new_event_id() -> uuid.UUID:
    return uuid.UUID(int=_random.getrandbits(128), version=4)


def _uuid(value, native: bool):
    if value is None:
        return None
    if not isinstance(value, uuid.UUID):
        value = uuid.UUID(str(value))
    return value if native else value.hex


# --- group commit: the rows of a group in one statement ---------------------------------------------


class _Batch(threading.local):
    rows: list[tuple[str, list]] | None = None  # None: rows are inserted as they are written


_batch = _Batch()


@contextlib.contextmanager
def batched():
    """In a database thread, inside the transaction of a group commit (``conversations.group_commit``):
    rows written at the transaction's top level wait and go in together, in the order they were written,
    when the block ends without an error (one ``executemany`` per run of rows with the same statement).

    Rows written inside a savepoint (an action's own ``atomic``) are inserted at once, as always, because
    a rolled-back savepoint must take them with it; the waiting rows are inserted before any savepoint
    opens, so the outbox keeps the order of the events. If the block ends with an error the waiting rows
    are dropped: the caller's transaction is rolled back with it."""
    if _batch.rows is not None:  # already inside one: its end inserts them
        yield
        return
    db = connections[DEFAULT_DB_ALIAS]
    _batch.rows = []
    try:
        with db.execute_wrapper(_flush_before_savepoint):
            yield
            flush()
    finally:
        _batch.rows = None


def flush() -> None:
    """Insert the rows ``batched`` holds (a savepoint is about to open, or the group ends)."""
    rows = _batch.rows
    if not rows:
        return
    _batch.rows = []
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        for sql, run in itertools.groupby(rows, key=lambda row: row[0]):
            cursor.executemany(sql, [params for _, params in run])
    transaction.on_commit(wakeup.wake)


def _flush_before_savepoint(execute, sql, params, many, context):
    if _batch.rows and sql.startswith("SAVEPOINT"):
        flush()
    return execute(sql, params, many, context)


def forget(conversation_ids) -> int:
    """Delete the events of these conversations, whatever their status (erasure and retention: the
    delivery log must not keep what was deleted elsewhere). Returns how many."""
    deleted, _ = Delivery.objects.filter(conversation_id__in=list(conversation_ids)).delete()
    return deleted

"""The message hot path in SQL (docs/performance.md).

Storing a message takes the conversation's next ``seq`` and inserts the message. Through the ORM that
was a locking ``SELECT`` of the whole row, an ``INSERT`` and an ``UPDATE``, each statement compiled
anew for every message. Here it is one ``UPDATE ... RETURNING``, which takes the row lock and the next
``seq`` at once, and one ``INSERT ... RETURNING id``; their text is built once per database vendor.
On PostgreSQL the two are one statement (a data-modifying ``WITH``). PostgreSQL and
SQLite 3.35 or newer have ``RETURNING``; with an older SQLite ``supported()`` is false and the service
layer keeps the ORM path.

Only the service layer calls these: the rules (who may write, which state, what is announced) stay there.
"""

from __future__ import annotations

import contextlib
import functools
from datetime import datetime

from django.db import DatabaseError, connection, transaction

from .models import CURRENT_STATES, Conversation, Message, Role, State

# What the service layer reads from the conversation it writes in, in the model's field order
# (``Model.from_db`` takes the values of a partial row in that order).
_WANTED = {
    "id",
    "customer_id",
    "workstream_id",
    "queue_id",
    "agent_id",
    "state",
    "mode",
    "last_seq",
    "customer_returned",
}
RETURNED = tuple(f.attname for f in Conversation._meta.concrete_fields if f.attname in _WANTED)
_MESSAGE_FIELDS = [f.attname for f in Message._meta.concrete_fields]
_INSERTED = [name for name in _MESSAGE_FIELDS if name != "id"]
_GIVEN = [name for name in _INSERTED if name not in ("conversation_id", "seq")]  # not from the conversation row
_FIELDS = {model: {f.attname: f for f in model._meta.concrete_fields} for model in (Conversation, Message)}


def supported() -> bool:
    return connection.features.can_return_columns_from_insert


def _one_statement() -> bool:
    """Whether ``_append`` stores a message in one statement (a data-modifying ``WITH``): on PostgreSQL."""
    return connection.vendor == "postgresql"


def _one_transaction():
    """What keeps ``_append``'s UPDATE and INSERT (SQLite) together: a transaction of their own, or the
    caller's transaction when there is one (group commit). The INSERT is not refused there (the UPDATE
    found no such ``client_id`` and ``BEGIN IMMEDIATE`` made the transaction the only writer); should it
    be, the caller's transaction is marked for rollback, since the UPDATE cannot be undone alone."""
    if connection.in_atomic_block:
        return _or_roll_back()
    return transaction.atomic()


@contextlib.contextmanager
def _or_roll_back():
    try:
        yield
    except DatabaseError:
        transaction.set_rollback(True)
        raise


def _column(model, attname: str) -> str:
    return connection.ops.quote_name(_FIELDS[model][attname].column)


@functools.cache
def _statements(vendor: str) -> dict[str, str]:
    q = connection.ops.quote_name
    conv = q(Conversation._meta.db_table)
    returning = ", ".join(_column(Conversation, name) for name in RETURNED)

    def advance(where: str, customer: bool, fresh: bool = False) -> str:
        sets = [f"{_column(Conversation, 'last_seq')} = {_column(Conversation, 'last_seq')} + 1"]
        sets += [f"{_column(Conversation, name)} = %s" for name in ("last_message_at", "updated_at")]
        if customer:
            sets.append(f"{_column(Conversation, 'last_customer_message_at')} = %s")
            # a customer writing in a waiting conversation has returned (the agent is told)
            returned = _column(Conversation, "customer_returned")
            sets.append(f"{returned} = CASE WHEN {_column(Conversation, 'state')} = %s THEN %s ELSE {returned} END")
        if fresh:
            # a client_id stored before: the UPDATE finds nothing and the caller's checking path answers
            message = q(Message._meta.db_table)
            where += (
                f" AND NOT EXISTS (SELECT 1 FROM {message} WHERE {message}.{_column(Message, 'conversation_id')}"  # noqa: S608
                f" = {conv}.{_column(Conversation, 'id')} AND {message}.{_column(Message, 'client_id')} = %s)"
            )
        # Identifiers from the models' metadata, quoted; every value is a parameter.
        return f"UPDATE {conv} SET {', '.join(sets)} WHERE {where} RETURNING {returning}"  # noqa: S608

    states = ", ".join(["%s"] * len(CURRENT_STATES))
    current = (
        f"{_column(Conversation, 'customer_id')} = %s AND {_column(Conversation, 'workstream_id')} = %s"
        f" AND {_column(Conversation, 'state')} IN ({states})"
    )
    by_id = f"{_column(Conversation, 'id')} = %s"
    agents_active = f"{by_id} AND {_column(Conversation, 'agent_id')} = %s AND {_column(Conversation, 'state')} = %s"

    def append(update: str) -> str:
        # PostgreSQL: the UPDATE and the INSERT in one statement, atomic by itself (a data-modifying WITH)
        names = ", ".join(_column(Message, n) for n in ["conversation_id", "seq", *_GIVEN])
        casts = ", ".join(f"CAST(%s AS {_FIELDS[Message][n].cast_db_type(connection)})" for n in _GIVEN)
        picked = ", ".join(f"c.{_column(Conversation, n)}" for n in RETURNED)
        return (
            f"WITH c AS ({update}), m AS (INSERT INTO {q(Message._meta.db_table)} ({names})"  # noqa: S608
            f" SELECT c.{_column(Conversation, 'id')}, c.{_column(Conversation, 'last_seq')}, {casts} FROM c"
            f" RETURNING {_column(Message, 'id')}) SELECT {picked}, m.{_column(Message, 'id')} FROM c, m"
        )

    columns = ", ".join(_column(Message, n) for n in _INSERTED)
    insert = f"INSERT INTO {q(Message._meta.db_table)} ({columns}) VALUES ({', '.join(['%s'] * len(_INSERTED))})"  # noqa: S608
    return {
        "current_customer": advance(current, customer=True, fresh=True),
        "by_id_customer": advance(by_id, customer=True),
        "by_id_other": advance(by_id, customer=False),
        "agents_active": advance(agents_active, customer=False, fresh=True),
        "insert": f"{insert} RETURNING {_column(Message, 'id')}",
        "append_current_customer": append(advance(current, customer=True, fresh=True)),
        "append_agents_active": append(advance(agents_active, customer=False, fresh=True)),
    }


def _sql(name: str) -> str:
    return _statements(connection.vendor)[name]


def _db_value(model, attname: str, value):
    return _FIELDS[model][attname].get_db_prep_value(value, connection)


def _set_params(now: datetime, customer: bool) -> list:
    """The parameters of the UPDATE's SET clause (see ``_statements``)."""
    moment = connection.ops.adapt_datetimefield_value(now)
    return [moment, moment, moment, State.WAITING, True] if customer else [moment, moment]


def _conversation(row, now: datetime, customer: bool) -> Conversation:
    """A conversation instance holding the returned fields (and the times just set); any other field is
    loaded on access, and ``save(update_fields=...)`` writes only what it names."""
    fields = _FIELDS[Conversation]
    values = [fields[name].to_python(value) for name, value in zip(RETURNED, row, strict=True)]
    conversation = Conversation.from_db(connection.alias, list(RETURNED), values)
    conversation.last_message_at = conversation.updated_at = now
    if customer:
        conversation.last_customer_message_at = now
    return conversation


def _message(values: dict) -> Message:
    return Message.from_db(connection.alias, _MESSAGE_FIELDS, [values[name] for name in _MESSAGE_FIELDS])


def _advance(name: str, where: list, now: datetime, customer: bool) -> Conversation | None:
    """Run the UPDATE ``name`` (``where``: its WHERE parameters); the updated conversation or None."""
    with connection.cursor() as cursor:
        cursor.execute(_sql(name), [*_set_params(now, customer), *where])
        row = cursor.fetchone()
    return None if row is None else _conversation(row, now, customer)


def _insert(conversation: Conversation, message: dict) -> Message:
    """Insert ``message`` (the ``_GIVEN`` fields) numbered ``conversation.last_seq``."""
    values = {**message, "conversation_id": conversation.pk, "seq": conversation.last_seq}
    with connection.cursor() as cursor:
        cursor.execute(_sql("insert"), [_db_value(Message, name, values[name]) for name in _INSERTED])
        (values["id"],) = cursor.fetchone()
    return _message(values)


def _append(
    kind: str, where: list, now: datetime, customer: bool, message: dict
) -> tuple[Conversation, Message] | None:
    """Lock the conversation the UPDATE ``kind`` finds, take its next ``seq`` and insert ``message``: one
    statement on PostgreSQL, the UPDATE and the INSERT in one transaction on SQLite. None when the UPDATE
    finds no conversation or the conversation holds the ``client_id`` already; if another writer stores
    that ``client_id`` at the same moment, ``IntegrityError`` and nothing changed (on PostgreSQL inside a
    transaction, the transaction is aborted: group commit then runs each call alone)."""
    message = {**message, "sent_at": now}
    if not _one_statement():
        with _one_transaction():
            conversation = _advance(kind, where, now, customer)
            return None if conversation is None else (conversation, _insert(conversation, message))
    params = [*_set_params(now, customer), *where, *(_db_value(Message, n, message[n]) for n in _GIVEN)]
    with connection.cursor() as cursor:
        cursor.execute(_sql(f"append_{kind}"), params)
        row = cursor.fetchone()
    if row is None:
        return None
    conversation = _conversation(row[:-1], now, customer)
    message.update(id=row[-1], conversation_id=conversation.pk, seq=conversation.last_seq)
    return conversation, _message(message)


def append_customer_message(
    customer, workstream, *, now: datetime, text: str, client_id: str | None
) -> tuple[Conversation, Message] | None:
    """Store a customer's message in their current conversation in ``workstream`` (``_append``); None
    when they have no current conversation."""
    where = [_db_value(Conversation, "customer_id", customer.pk), workstream.pk, *CURRENT_STATES, client_id]
    message = {"client_id": client_id, "sender_role": Role.CUSTOMER, "sender_name": customer.display_name, "text": text}
    appended = _append("current_customer", where, now, True, message)
    if appended is not None:
        appended[0].customer = customer
        appended[0].workstream = workstream
    return appended


def append_agent_message(
    agent, conversation_id, *, now: datetime, text: str, client_id: str | None
) -> tuple[Conversation, Message] | None:
    """Store ``agent``'s message in their active conversation ``conversation_id`` (``_append``); None when
    it is not theirs, not active, or does not exist (the caller finds out which)."""
    where = [_db_value(Conversation, "id", conversation_id), agent.pk, State.ACTIVE, client_id]
    message = {"client_id": client_id, "sender_role": Role.AGENT, "sender_name": agent.display_name, "text": text}
    appended = _append("agents_active", where, now, False, message)
    if appended is not None:
        appended[0].agent = agent
    return appended


def store_message(
    conversation: Conversation, *, role: str, name: str, text: str, client_id: str | None, now: datetime
) -> Message:
    """Take ``conversation``'s next ``seq`` (its row locked by the caller's transaction) and insert the
    message; the instance is brought up to date. A repeated ``client_id`` raises ``IntegrityError``."""
    customer = role == Role.CUSTOMER
    statement = "by_id_customer" if customer else "by_id_other"
    fresh = _advance(statement, [_db_value(Conversation, "id", conversation.pk)], now, customer)
    for attname in ("last_seq", "customer_returned", "last_message_at", "updated_at", "last_customer_message_at"):
        if attname in fresh.__dict__:
            setattr(conversation, attname, getattr(fresh, attname))
    return _insert(
        conversation, {"client_id": client_id, "sender_role": role, "sender_name": name, "text": text, "sent_at": now}
    )

"""The outbox rows of a group commit go in together before its commit, in the order of their events
(``webhooks.outbox.batched``, docs/webhooks.md "Delivery guarantees")."""

from __future__ import annotations

import json
import uuid

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from conversations import group_commit
from conversations.actions import lifecycle, messages
from conversations.errors import ServiceError
from conversations.models import Message
from conversations.webhooks import events as webhook_events
from conversations.webhooks import outbox
from conversations.webhooks.models import Delivery

from .test_conversation_events import setup, subscribe

pytestmark = pytest.mark.django_db(transaction=True)

MESSAGE_AND_STATE = ["message.created", "conversation.state_changed"]


def _active_conversation():
    widget, alice, carol = setup()
    _message, conversation, _ = messages.customer_message(carol, widget, client_id="c0", text="Hello")
    subscribe(events=MESSAGE_AND_STATE)
    return alice, conversation


def _reply(alice, conversation, client_id: str):
    return messages.agent_message, (alice, conversation.id), {"client_id": client_id, "text": f"Reply {client_id}"}


def _written() -> list[tuple[str, str]]:
    """(event, the message's client_id or the new state) of every outbox row, in delivery order."""
    rows = []
    for row in Delivery.objects.order_by("id"):
        data = json.loads(row.body)["data"]
        rows.append((row.event_type, data["message"]["client_id"] if "message" in data else data["to"]))
    return rows


def _outbox_statements(captured) -> list[str]:
    return [query["sql"] for query in captured.captured_queries if Delivery._meta.db_table in query["sql"]]


def test_a_group_inserts_its_messages_events_with_one_statement_in_their_order():
    alice, conversation = _active_conversation()
    with CaptureQueriesContext(connection) as captured:
        outcomes, _news = group_commit.run_together([_reply(alice, conversation, f"a{i}") for i in range(5)])
    assert all(ok for ok, _ in outcomes)
    assert len(_outbox_statements(captured)) == 1
    assert _written() == [("message.created", f"a{i}") for i in range(5)]
    assert len({row.event_id for row in Delivery.objects.all()}) == 5


def test_an_event_written_in_a_savepoint_keeps_its_place_after_the_waiting_ones():
    # Ending the conversation writes its state change inside the action's own atomic block (a savepoint
    # in the group): the two replies' rows, still waiting, must go in before it.
    alice, conversation = _active_conversation()
    end = (lifecycle.end, (alice, conversation.id), {})
    calls = [_reply(alice, conversation, "a1"), _reply(alice, conversation, "a2"), end]
    outcomes, _news = group_commit.run_together(calls)
    assert all(ok for ok, _ in outcomes)
    assert _written() == [
        ("message.created", "a1"),
        ("message.created", "a2"),
        ("conversation.state_changed", "closed"),
    ]


def test_a_refused_call_takes_its_own_events_back_and_leaves_the_waiting_ones():
    alice, conversation = _active_conversation()

    def refused():
        with transaction.atomic():
            webhook_events.state_changed(conversation, "active", "waiting", "agent_set_aside")
            raise ServiceError("not_allowed", "refused after writing its event")

    outcomes, _news = group_commit.run_together(
        [_reply(alice, conversation, "a1"), (refused, (), {}), _reply(alice, conversation, "a2")]
    )
    assert [ok for ok, _ in outcomes] == [True, False, True]
    assert _written() == [("message.created", "a1"), ("message.created", "a2")]


def test_a_group_rolled_back_writes_each_event_once_when_its_calls_run_alone():
    alice, conversation = _active_conversation()

    def broken():
        with connection.cursor() as cursor:
            cursor.execute("SELECT * FROM no_such_table")

    outcomes, _news = group_commit.run_together(
        [_reply(alice, conversation, "a1"), (broken, (), {}), _reply(alice, conversation, "a2")]
    )
    assert [ok for ok, _ in outcomes] == [True, False, True]
    assert _written() == [("message.created", "a1"), ("message.created", "a2")]
    assert Message.objects.filter(conversation=conversation).count() == 3


def test_event_ids_are_distinct_version_4_uuids():
    ids = [outbox.new_event_id() for _ in range(10_000)]
    assert len(set(ids)) == len(ids)
    assert {event_id.version for event_id in ids} == {4}
    assert {event_id.variant for event_id in ids} == {uuid.RFC_4122}

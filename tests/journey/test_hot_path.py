"""Attachments cost plain text messages nothing: the hot path (conversations/storage.py) stays as it was."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from conversations.actions import messages
from conversations.models import Customer
from routing.models import Presence
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_plain_message_in_a_running_conversation_never_touches_attachments_or_the_survey():
    widget = factories.make_setup(persistent=True)
    alice = factories.make_agent("alice", presence=Presence.AVAILABLE, queues=[widget.workstream.queue])
    carol = Customer.objects.create(authentication=widget.authentication, subject="carol", name="Carol")
    _m, conversation, _ = messages.customer_message(carol, widget, client_id="c1", text="first")
    with CaptureQueriesContext(connection) as customer_queries:
        message, _c, stored = messages.customer_message(carol, widget, client_id="c2", text="second")
    with CaptureQueriesContext(connection) as agent_queries:
        messages.agent_message(alice, conversation.id, client_id="a1", text="answer")
    assert stored and message.seq == 2
    for captured in (customer_queries, agent_queries):
        statements = " ".join(query["sql"] for query in captured.captured_queries)
        assert "conversations_attachment" not in statements
        assert "conversations_prechatanswers" not in statements
    # the store itself: one UPDATE ... RETURNING and one INSERT on SQLite (one statement on PostgreSQL)
    writes = [q["sql"] for q in customer_queries.captured_queries if q["sql"].startswith(("UPDATE", "INSERT", "WITH"))]
    assert len(writes) <= 2

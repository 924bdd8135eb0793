"""Notes never reach what a customer can take away: their data export and their transcript."""

from __future__ import annotations

import pytest

from conversations.actions import messages, notes, privacy, transcripts
from conversations.models import Customer
from routing.models import Presence
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_customers_export_and_transcript_hold_no_note_but_the_agents_transcript_does():
    widget = factories.make_setup()
    agent = factories.make_agent("alice", presence=Presence.AVAILABLE, queues=[widget.workstream.queue])
    customer = Customer.objects.create(name="Dana")
    _message, conversation, _stored = messages.customer_message(customer, widget, client_id="c1", text="Hello")
    conversation.refresh_from_db()
    assert conversation.agent_id == agent.id
    notes.write(agent, conversation.id, client_id="n1", text="Secret: VIP customer")
    assert "Secret" not in str(privacy.export_customer(customer))
    assert "Secret" not in transcripts.render(conversation, "txt")
    assert "Secret" in transcripts.render(conversation, "txt", with_notes=True)

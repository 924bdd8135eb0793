"""Transcripts built on the server: the customer's (never with notes) and the agent's or admin's (notes on
request), as text and printable HTML."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from conversations.actions import files, messages
from conversations.models import Customer, Note
from routing.models import Presence
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def chat():
    """carol asked, alice answered and wrote an internal note about it."""
    widget = factories.make_setup(persistent=True)
    widget.title = "Shop support"
    widget.save()
    alice = factories.make_agent("alice", name="Alice", presence=Presence.AVAILABLE, queues=[widget.workstream.queue])
    carol = Customer.objects.create(authentication=widget.authentication, subject="carol", name="Carol")
    _m, conversation, _ = messages.customer_message(carol, widget, client_id="c1", text="Is <b>42</b> shipped?")
    messages.agent_message(alice, conversation.id, client_id="a1", text="Yes, today.")
    Note.objects.create(
        conversation=conversation, after_seq=1, author=alice, author_name="Alice", text="VIP, be quick", client_id="n1"
    )
    return widget, alice, carol, conversation


def customer_get(widget, customer, conversation_id, fmt="txt"):
    return Client().get(
        f"/files/widget/{widget.public_id}/transcript/{conversation_id}/?format={fmt}",
        HTTP_AUTHORIZATION=f"Bearer {files.upload_token(customer, widget)}",
    )


def test_the_customer_downloads_a_text_transcript_of_every_message_without_notes(chat):
    widget, _alice, carol, conversation = chat
    answer = customer_get(widget, carol, conversation.id)
    assert answer.status_code == 200
    assert answer["Content-Type"] == "text/plain; charset=utf-8"
    assert answer["Content-Disposition"].startswith('attachment; filename="transcript-')
    body = answer.content.decode()
    assert "Shop support" in body
    assert body.index("Carol: Is <b>42</b> shipped?") < body.index("Alice: Yes, today.")
    assert "VIP" not in body


def test_the_printable_html_transcript_escapes_every_text(chat):
    widget, _alice, carol, conversation = chat
    answer = customer_get(widget, carol, conversation.id, "html")
    assert answer.status_code == 200 and answer["Content-Type"] == "text/html; charset=utf-8"
    body = answer.content.decode()
    assert "Is &lt;b&gt;42&lt;/b&gt; shipped?" in body and "<b>42</b>" not in body
    assert "VIP" not in body


def test_another_customer_or_no_token_gets_no_transcript(chat):
    widget, _alice, _carol, conversation = chat
    mallory = Customer.objects.create(authentication=widget.authentication, subject="mallory", name="Mallory")
    assert customer_get(widget, mallory, conversation.id).status_code == 404
    assert Client().get(f"/files/widget/{widget.public_id}/transcript/{conversation.id}/").status_code == 401
    assert customer_get(widget, mallory, "not-an-id").status_code == 404


def test_an_unknown_format_is_a_bad_request(chat):
    widget, _alice, carol, conversation = chat
    assert customer_get(widget, carol, conversation.id, "pdf").status_code == 400


def test_the_agent_gets_the_transcript_with_notes_only_when_asked(chat):
    _widget, alice, _carol, conversation = chat
    client = Client()
    client.force_login(alice.user)
    plain = client.get(f"/workspace/transcript/{conversation.id}/?format=txt").content.decode()
    assert "VIP" not in plain
    noted = client.get(f"/workspace/transcript/{conversation.id}/?format=txt&notes=1").content.decode()
    assert noted.index("Is <b>42</b>") < noted.index("VIP, be quick") < noted.index("Yes, today.")


def test_another_agent_gets_no_transcript_and_an_admin_does(chat):
    _widget, _alice, _carol, conversation = chat
    mallory = factories.make_agent("mallory")
    client = Client()
    client.force_login(mallory.user)
    assert client.get(f"/workspace/transcript/{conversation.id}/").status_code == 403
    ada = get_user_model().objects.create_superuser("ada", "ada@example.com", "pw-ada-long-enough")
    client.force_login(ada)
    answer = client.get(f"/workspace/transcript/{conversation.id}/?format=html&notes=1")
    assert answer.status_code == 200 and "VIP, be quick" in answer.content.decode()
    assert Client().get(f"/workspace/transcript/{conversation.id}/").status_code == 401

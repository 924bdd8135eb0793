"""Internal notes (../shared/PROTOCOL.md "Agent socket, additions"): stored apart from messages, seen by
agents only, never by the customer."""

from __future__ import annotations

import pytest

from conversations.models import Note
from tests.support import sockets

from .support import db, scene, token_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


async def test_a_note_is_acknowledged_reaches_the_agents_other_sockets_and_never_the_customer():
    s = await scene()
    second, _ = await sockets.agent(s.alice)
    ack = await s.alice_socket.request(
        {"type": "note", "conversation_id": s.conversation_id, "client_id": "n1", "text": "VIP, be kind"}
    )
    assert ack["type"] == "ack" and ack["client_id"] == "n1"
    note = ack["note"]
    assert note["after_seq"] == 1 and note["text"] == "VIP, be kind"
    assert note["author"] == {"id": str(s.alice.id), "name": "Alice"}
    assert note["conversation_id"] == s.conversation_id and note["created_at"].endswith("Z")
    assert (await second.expect("note"))["note"] == note
    await s.customer.nothing("note")

    # the customer's numbering stays gap-free, and nothing of the note reaches their frames
    answer = await s.alice_socket.request(
        {"type": "send", "conversation_id": s.conversation_id, "client_id": "a1", "text": "Hello"}
    )
    assert answer["message"]["seq"] == 2
    synced = await s.customer.request({"type": "sync", "after_seq": 0})
    assert [m["seq"] for m in synced["messages"]] == [1, 2]
    history = await s.customer.request({"type": "history", "before_seq": 3, "limit": 50})
    assert "VIP" not in str(history)
    again, welcome = await sockets.customer(s.widget, token=token_for("dana"))
    assert "VIP" not in str(welcome) and "note" not in str(welcome["conversation"])
    await again.close()

    # the agent reads it back with the conversation, between the messages by after_seq
    opened = await s.alice_socket.request({"type": "open", "conversation_id": s.conversation_id})
    assert opened["conversation"]["notes"] == [note]
    assert opened["notes"] == [note] and opened["consultants"] == []
    await second.close()
    await s.close()


async def test_a_repeated_client_id_answers_the_stored_note_and_stores_nothing():
    s = await scene()
    frame = {"type": "note", "conversation_id": s.conversation_id, "client_id": "n1", "text": "first"}
    first = await s.alice_socket.request(frame)
    second = await s.alice_socket.request({**frame, "text": "second"})
    assert second["note"] == first["note"]
    assert await db(Note.objects.count)() == 1
    await s.close()


async def test_bad_notes_are_refused_and_store_nothing():
    s = await scene()
    base = {"type": "note", "conversation_id": s.conversation_id, "client_id": "n1"}
    assert (await s.alice_socket.request({**base, "text": "x" * 4001}))["code"] == "too_large"
    assert (await s.alice_socket.request({**base, "text": "   "}))["code"] == "bad_request"
    assert (await s.alice_socket.request({**base, "client_id": "", "text": "x"}))["code"] == "bad_request"
    # bob neither has the conversation nor consults on it
    assert (await s.bob_socket.request({**base, "text": "hi"}))["code"] == "not_allowed"
    unknown = {**base, "conversation_id": "00000000-0000-0000-0000-000000000000", "text": "x"}
    assert (await s.alice_socket.request(unknown))["code"] == "not_found"
    # closed: no more notes
    await s.alice_socket.request({"type": "end", "conversation_id": s.conversation_id})
    summary = (await s.alice_socket.expect("state", state="closed"))["conversation"]
    assert "note" not in summary["allowed_actions"]
    assert (await s.alice_socket.request({**base, "text": "late"}))["code"] == "not_allowed"
    assert await db(Note.objects.count)() == 0
    await s.close()


async def test_notes_are_allowed_in_wrap_up_and_listed_in_allowed_actions():
    s = await scene(wrap_up_seconds=60)
    opened = await s.alice_socket.request({"type": "open", "conversation_id": s.conversation_id})
    assert opened["conversation"]["allowed_actions"] == ["send", "set_waiting", "end", "transfer", "consult", "note"]
    await s.alice_socket.request({"type": "end", "conversation_id": s.conversation_id})
    summary = (await s.alice_socket.expect("state", state="wrap_up"))["conversation"]
    assert summary["allowed_actions"] == ["close", "note"]
    ack = await s.alice_socket.request(
        {"type": "note", "conversation_id": s.conversation_id, "client_id": "w", "text": "refund sent"}
    )
    assert ack["type"] == "ack"
    await s.close()

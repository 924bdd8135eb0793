"""Consultations (../shared/PROTOCOL.md "Agent socket, additions"): the consultant follows the
conversation live, writes notes but no messages, uses no capacity; either side or closing ends it."""

from __future__ import annotations

import pytest

from conversations.models import Consultation
from routing.models import AgentProfile, Presence
from tests import factories
from tests.support import sockets

from .support import db, scene

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


async def consult(s):
    answer = await s.alice_socket.request(
        {"type": "consult", "conversation_id": s.conversation_id, "agent_id": str(s.bob.id)}
    )
    assert answer["type"] == "ok"
    return await s.bob_socket.expect("consult")


async def test_the_consultant_follows_the_conversation_live_writes_notes_but_no_messages():
    s = await scene(capacity_units=40)
    invitation = await consult(s)
    assert invitation["from"] == {"id": str(s.alice.id), "name": "Alice"}
    summary = invitation["conversation"]
    assert summary["id"] == s.conversation_id and summary["consulting"] is True
    assert summary["allowed_actions"] == ["note", "leave_consult"]
    changed = await s.alice_socket.expect("consultants", conversation_id=s.conversation_id)
    assert changed["consultants"] == [{"id": str(s.bob.id), "name": "Bob"}]

    # bob reads the conversation and sees its messages live
    opened = await s.bob_socket.request({"type": "open", "conversation_id": s.conversation_id})
    assert [m["text"] for m in opened["conversation"]["messages"]] == ["My parcel is late"]
    assert opened["conversation"]["consultants"] == [{"id": str(s.bob.id), "name": "Bob"}]
    assert opened["conversation"]["allowed_actions"] == ["note", "leave_consult"]
    synced = await s.bob_socket.request({"type": "sync", "conversation_id": s.conversation_id, "after_seq": 0})
    assert len(synced["messages"]) == 1
    await s.customer.request({"type": "send", "client_id": "c2", "text": "Hello?"})
    assert (await s.bob_socket.expect("message"))["message"]["text"] == "Hello?"
    await s.alice_socket.request(
        {"type": "send", "conversation_id": s.conversation_id, "client_id": "a1", "text": "One moment"}
    )
    assert (await s.bob_socket.expect("message"))["message"]["text"] == "One moment"

    # notes both ways; no messages from bob; no capacity used
    ack = await s.bob_socket.request(
        {"type": "note", "conversation_id": s.conversation_id, "client_id": "b1", "text": "Offer a voucher"}
    )
    assert ack["note"]["author"]["name"] == "Bob"
    assert (await s.alice_socket.expect("note"))["note"]["text"] == "Offer a voucher"
    await s.alice_socket.request(
        {"type": "note", "conversation_id": s.conversation_id, "client_id": "a2", "text": "Thanks"}
    )
    assert (await s.bob_socket.expect("note"))["note"]["text"] == "Thanks"
    refused = await s.bob_socket.request(
        {"type": "send", "conversation_id": s.conversation_id, "client_id": "b2", "text": "Hi customer"}
    )
    assert refused["code"] == "not_allowed"
    refused = await s.bob_socket.request({"type": "end", "conversation_id": s.conversation_id})
    assert refused["code"] == "not_allowed"
    await s.customer.nothing("note")
    assert (await db(AgentProfile.objects.get)(pk=s.bob.pk)).used_capacity == 0

    # bob leaves: no more news, no more notes
    assert (await s.bob_socket.request({"type": "leave_consult", "conversation_id": s.conversation_id}))["type"] == "ok"
    ended = await s.bob_socket.expect("consult_ended", conversation_id=s.conversation_id)
    assert ended["reason"] == "left"
    assert (await s.alice_socket.expect("consultants", consultants=[]))["conversation_id"] == s.conversation_id
    await s.customer.request({"type": "send", "client_id": "c3", "text": "Still there?"})
    await s.alice_socket.expect("message")
    await s.bob_socket.nothing("message")
    late = await s.bob_socket.request(
        {"type": "note", "conversation_id": s.conversation_id, "client_id": "b3", "text": "late"}
    )
    assert late["code"] == "not_allowed"
    await s.close()


async def test_consult_refusals():
    s = await scene()
    olga = await db(factories.make_agent)("olga", presence=Presence.OFFLINE)

    def invite(agent_id, socket=None):
        return (socket or s.alice_socket).request(
            {"type": "consult", "conversation_id": s.conversation_id, "agent_id": agent_id}
        )

    assert (await invite(str(s.alice.id)))["code"] == "not_allowed"  # oneself
    assert (await invite(str(olga.id)))["code"] == "unavailable"  # offline
    assert (await invite("999999"))["code"] == "not_found"
    assert (await invite(None))["code"] == "bad_request"
    assert (await invite(str(s.alice.id), socket=s.bob_socket))["code"] == "not_allowed"  # not bob's conversation
    assert (await invite(str(s.bob.id)))["type"] == "ok"
    assert (await invite(str(s.bob.id)))["code"] == "not_allowed"  # twice
    assert await db(Consultation.objects.count)() == 1
    # nobody consulting: nothing to leave
    carol = await db(factories.make_agent)("carol", presence=Presence.AVAILABLE)
    carols, _ = await sockets.agent(carol)
    refused = await carols.request({"type": "leave_consult", "conversation_id": s.conversation_id})
    assert refused["code"] == "not_allowed"
    refused = await carols.request(
        {"type": "leave_consult", "conversation_id": s.conversation_id, "agent_id": str(s.bob.id)}
    )
    assert refused["code"] == "not_allowed"  # only alice ends bob's consultation
    await carols.close()
    await s.close()


async def test_the_assigned_agent_ends_a_consultation_and_closing_ends_them_all():
    s = await scene()
    await consult(s)
    answer = await s.alice_socket.request(
        {"type": "leave_consult", "conversation_id": s.conversation_id, "agent_id": str(s.bob.id)}
    )
    assert answer["type"] == "ok"
    ended = await s.bob_socket.expect("consult_ended", conversation_id=s.conversation_id)
    assert ended["reason"] == "ended" and ended["by"] == {"name": "Alice"}

    await consult(s)  # invited again after it ended
    await s.alice_socket.request({"type": "end", "conversation_id": s.conversation_id})
    ended = await s.bob_socket.expect("consult_ended", conversation_id=s.conversation_id)
    assert ended["reason"] == "closed"
    assert await db(Consultation.objects.filter(ended_at__isnull=True).count)() == 0
    await s.close()


async def test_a_consultant_who_reconnects_keeps_following_the_conversation():
    s = await scene()
    await consult(s)
    await s.bob_socket.close()
    s.bob_socket, welcome = await sockets.agent(s.bob)
    [summary] = welcome["consulting"]
    assert summary["id"] == s.conversation_id and summary["allowed_actions"] == ["note", "leave_consult"]
    assert welcome["conversations"] == []
    await s.customer.request({"type": "send", "client_id": "c2", "text": "Anyone?"})
    assert (await s.bob_socket.expect("message"))["message"]["text"] == "Anyone?"
    await s.close()


async def test_a_transfer_ends_the_consultations():
    s = await scene()
    await consult(s)
    await s.alice_socket.request(
        {"type": "transfer", "conversation_id": s.conversation_id, "to": {"agent_id": str(s.bob.id)}}
    )
    ended = await s.bob_socket.expect("consult_ended", conversation_id=s.conversation_id)
    assert ended["reason"] == "transferred"
    assigned = await s.bob_socket.expect("assigned")
    assert assigned["conversation"]["allowed_actions"][0] == "send"
    await s.close()

"""The customer socket, frame by frame (../PROTOCOL.md "Customer socket")."""

from __future__ import annotations

import json

import pytest
from channels.db import database_sync_to_async

from conversations.models import Conversation, Message
from routing.models import Presence
from tests import factories
from tests.support import sockets
from tests.support.tokens import customer_token, make_key_pair

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]
db = database_sync_to_async


@pytest.fixture
def live_widget():
    return factories.make_setup()


@pytest.fixture
def persistent_widget():
    return factories.make_setup(persistent=True)


def token_for(sub="cust-1", **kw):
    return customer_token(make_key_pair()[0], sub, **kw)


# --- handshake -------------------------------------------------------------------


async def test_unknown_or_disabled_widget_is_refused(live_widget):
    connected, _ = await sockets.connect("/ws/widget/no-such-widget/")
    assert not connected
    live_widget.enabled = False
    await db(live_widget.save)()
    connected, _ = await sockets.connect(f"/ws/widget/{live_widget.public_id}/")
    assert not connected


async def test_foreign_origin_is_refused_allowed_and_own_origins_accepted(live_widget):
    connected, _ = await sockets.connect(
        f"/ws/widget/{live_widget.public_id}/", headers=[(b"origin", b"https://evil.example.net")]
    )
    assert not connected
    for origin in (b"https://shop.example.com", b"http://testserver"):
        connected, client = await sockets.connect(
            f"/ws/widget/{live_widget.public_id}/", headers=[(b"origin", origin), (b"host", b"testserver")]
        )
        assert connected, origin
        await client.close()


async def test_hello_timeout_closes_4408(live_widget, settings):
    settings.PARLEY_HELLO_TIMEOUT = 0.2
    connected, client = await sockets.connect(f"/ws/widget/{live_widget.public_id}/")
    assert connected
    assert await client.wait_closed(timeout=3) == 4408


async def test_frames_before_hello_are_refused(live_widget):
    _, client = await sockets.connect(f"/ws/widget/{live_widget.public_id}/")
    await client.send({"type": "send", "client_id": "a", "text": "hi"})
    error = await client.expect("error", client_id="a")
    assert error["code"] == "bad_request"
    assert await db(Message.objects.count)() == 0
    await client.close()


# --- authentication ----------------------------------------------------------------


async def test_persistent_widget_requires_token(persistent_widget):
    _, client = await sockets.connect(f"/ws/widget/{persistent_widget.public_id}/")
    await client.send({"type": "hello", "token": None, "visitor": None})
    assert (await client.expect("error"))["code"] == "auth_required"
    assert await client.wait_closed() == 4401


@pytest.mark.parametrize(
    "make_token",
    [
        pytest.param(lambda: token_for(exp_in=-120), id="expired"),
        pytest.param(lambda: customer_token(make_key_pair("rsa", 1)[0], "x"), id="wrong-key"),
        pytest.param(lambda: "not.a.jwt", id="garbage"),
        pytest.param(lambda: _unsigned("cust-1"), id="alg-none"),
        pytest.param(lambda: _hmac_with_public_key("cust-1"), id="hmac-with-public-key"),
        pytest.param(lambda: token_for(extra={"sub": ""}), id="empty-sub"),
        pytest.param(lambda: _without("sub"), id="missing-sub"),
        pytest.param(lambda: _without("exp"), id="missing-exp"),
    ],
)
async def test_bad_tokens_fail_and_close_4401(persistent_widget, make_token):
    _, client = await sockets.connect(f"/ws/widget/{persistent_widget.public_id}/")
    await client.send({"type": "hello", "token": make_token(), "visitor": None})
    assert (await client.expect("error"))["code"] == "auth_failed"
    assert await client.wait_closed() == 4401


def _unsigned(sub):
    import base64

    def b64(obj):
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    import time

    now = int(time.time())
    return f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64({'sub': sub, 'iat': now, 'exp': now + 600})}."


def _hmac_with_public_key(sub):
    import base64
    import hashlib
    import hmac
    import time

    def b64(raw: bytes) -> str:
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    now = int(time.time())
    head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = b64(json.dumps({"sub": sub, "iat": now, "exp": now + 600}).encode())
    key = make_key_pair()[1].encode()
    signature = b64(hmac.new(key, f"{head}.{body}".encode(), hashlib.sha256).digest())
    return f"{head}.{body}.{signature}"


def _without(claim):
    import time

    import jwt

    now = int(time.time())
    claims = {"sub": "cust-1", "iat": now, "exp": now + 600}
    claims.pop(claim)
    return jwt.encode(claims, make_key_pair()[0], algorithm="RS256")


async def test_ec_tokens_and_profile_claims(settings):
    private_pem, public_pem = make_key_pair("ec")
    auth = await db(factories.make_auth_setting)(public_pem, issuer="https://shop.example.com")
    widget = await db(factories.make_setup)(persistent=True, auth=auth)
    token = customer_token(private_pem, "ec-1", alg="ES256", name="Erin", iss="https://shop.example.com")
    client, welcome = await sockets.customer(widget, token=token)
    assert welcome["customer"]["name"] == "Erin"
    assert welcome["visitor"] is None
    await client.close()
    wrong_issuer = customer_token(private_pem, "ec-1", alg="ES256", iss="https://other.example.com")
    _, client = await sockets.connect(f"/ws/widget/{widget.public_id}/")
    await client.send({"type": "hello", "token": wrong_issuer})
    assert (await client.expect("error"))["code"] == "auth_failed"


# --- visitors and welcome ------------------------------------------------------------


async def test_visitor_token_resumes_live_conversation_and_forged_one_does_not(live_widget):
    client, welcome = await sockets.customer(live_widget)
    assert welcome["widget"] == {
        "id": live_widget.public_id,
        "title": "Chat with us",
        "mode": "live",
        "customer_can_end": True,
        "online": True,
        "language": "en",
        # version 2: the customer's journey
        "pre_chat": None,
        "post_chat_survey": False,
        "email_notifications": False,
        "next_opening": None,
        "agents_available": False,
    }
    assert welcome["conversation"] is None
    visitor = welcome["visitor"]
    ack = await client.request({"type": "send", "client_id": "m1", "text": "Hello"})
    assert ack["type"] == "ack" and ack["message"]["seq"] == 1
    await client.close()

    client, again = await sockets.customer(live_widget, visitor=visitor)
    assert again["customer"]["id"] == welcome["customer"]["id"]
    assert [m["text"] for m in again["conversation"]["messages"]] == ["Hello"]
    await client.close()

    client, forged = await sockets.customer(live_widget, visitor=visitor[:-2] + "xx")
    assert forged["customer"]["id"] != welcome["customer"]["id"]
    assert forged["conversation"] is None
    await client.close()


async def test_persistent_same_sub_gets_same_conversation_on_every_device(persistent_widget):
    phone, _ = await sockets.customer(persistent_widget, token=token_for("dana"))
    await phone.request({"type": "send", "client_id": "p1", "text": "From my phone"})
    laptop, welcome = await sockets.customer(persistent_widget, token=token_for("dana"))
    conversation = welcome["conversation"]
    assert [m["text"] for m in conversation["messages"]] == ["From my phone"]
    assert welcome["widget"]["customer_can_end"] is False

    await laptop.request({"type": "send", "client_id": "l1", "text": "And my laptop"})
    relayed = await phone.expect("message")
    assert relayed["message"]["text"] == "And my laptop"
    await phone.close()
    await laptop.close()


async def test_welcome_has_latest_50_and_history_pages(persistent_widget, settings):
    settings.PARLEY_SEND_BURST = 100
    client, _ = await sockets.customer(persistent_widget, token=token_for("many"))
    for i in range(1, 61):
        await client.request({"type": "send", "client_id": f"c{i}", "text": f"message {i}"})
    await client.close()
    client, welcome = await sockets.customer(persistent_widget, token=token_for("many"))
    conversation = welcome["conversation"]
    assert [m["seq"] for m in conversation["messages"]] == list(range(11, 61))
    assert conversation["has_more"] is True and conversation["last_seq"] == 60
    page = await client.request({"type": "history", "before_seq": 11, "limit": 8})
    assert [m["seq"] for m in page["messages"]] == [3, 4, 5, 6, 7, 8, 9, 10] and page["has_more"] is True
    page = await client.request({"type": "history", "before_seq": 3, "limit": 8})
    assert [m["seq"] for m in page["messages"]] == [1, 2] and page["has_more"] is False
    synced = await client.request({"type": "sync", "after_seq": 57})
    assert [m["seq"] for m in synced["messages"]] == [58, 59, 60] and synced["has_more"] is False
    await client.close()


# --- messages -------------------------------------------------------------------------------


async def test_send_is_idempotent_by_client_id(live_widget):
    client, _ = await sockets.customer(live_widget)
    first = await client.request({"type": "send", "client_id": "same", "text": "once"})
    again = await client.request({"type": "send", "client_id": "same", "text": "once"})
    assert first["message"]["id"] == again["message"]["id"] and again["message"]["seq"] == 1
    assert await db(Message.objects.count)() == 1
    await client.close()


async def test_first_send_creates_open_conversation_with_state_and_queue_notices(live_widget):
    client, _ = await sockets.customer(live_widget)
    await client.send({"type": "send", "client_id": "a", "text": "Is anyone there?"})
    await client.expect("ack", client_id="a")
    state = await client.expect("state")
    assert state["state"] == "open" and state["agent"] is None
    notice = await client.expect("notice", code="queue_position")
    assert notice["data"] == {"position": 1} and "1" in notice["text"]
    await client.close()


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ("not json", "bad_request"),
        ("[1, 2]", "bad_request"),
        (json.dumps({"type": "dance"}), "bad_request"),
        (json.dumps({"no": "type"}), "bad_request"),
        (json.dumps({"type": "send", "client_id": "x", "text": 5}), "bad_request"),
        (json.dumps({"type": "send", "client_id": "x", "text": "   "}), "bad_request"),
        (json.dumps({"type": "send", "client_id": "", "text": "hi"}), "bad_request"),
        (json.dumps({"type": "send", "client_id": "x" * 65, "text": "hi"}), "bad_request"),
        (json.dumps({"type": "send", "client_id": "x", "text": "a" * 4001}), "too_large"),
        (json.dumps({"type": "send", "client_id": "x", "text": "a" * 17000}), "too_large"),
        (json.dumps({"type": "sync", "after_seq": "1"}), "bad_request"),
        (json.dumps({"type": "sync", "after_seq": True}), "bad_request"),
        (json.dumps({"type": "history", "before_seq": 5, "limit": 101}), "bad_request"),
        (json.dumps({"type": "history", "before_seq": 5, "limit": 0}), "bad_request"),
        (json.dumps({"type": "typing", "active": "yes"}), "bad_request"),
    ],
)
async def test_bad_frames_get_errors_and_the_socket_stays_open(live_widget, frame, code):
    client, _ = await sockets.customer(live_widget)
    await client.send(frame)
    error = await client.expect("error")
    assert error["code"] == code, error
    assert error["message"]
    ack = await client.request({"type": "send", "client_id": "after", "text": "still here"})
    assert ack["type"] == "ack"
    assert await db(Message.objects.filter(client_id="x").count)() == 0
    await client.close()


async def test_errors_echo_req_and_client_id(live_widget):
    client, _ = await sockets.customer(live_widget)
    await client.send({"type": "send", "client_id": "cid-7", "text": "", "req": "r-7"})
    error = await client.expect("error")
    assert error["req"] == "r-7" and error["client_id"] == "cid-7"
    await client.close()


async def test_rate_limit(live_widget, settings):
    settings.PARLEY_SEND_RATE = 0.001
    settings.PARLEY_SEND_BURST = 3
    client, _ = await sockets.customer(live_widget)
    for i in range(3):
        assert (await client.request({"type": "send", "client_id": f"ok{i}", "text": "hi"}))["type"] == "ack"
    limited = await client.request({"type": "send", "client_id": "over", "text": "hi"})
    assert limited["code"] == "rate_limited" and limited["client_id"] == "over"
    assert not await db(Message.objects.filter(client_id="over").exists)()
    await client.close()


# --- ending ---------------------------------------------------------------------------------------


async def test_customer_cannot_end_persistent_chat(persistent_widget):
    client, _ = await sockets.customer(persistent_widget, token=token_for("p"))
    await client.request({"type": "send", "client_id": "a", "text": "hi"})
    answer = await client.request({"type": "end"})
    assert answer["type"] == "error" and answer["code"] == "not_allowed"
    assert await db(Conversation.objects.filter(state="open").count)() == 1
    await client.close()


async def test_customer_ends_live_chat(live_widget):
    client, _ = await sockets.customer(live_widget)
    await client.request({"type": "send", "client_id": "a", "text": "hi"})
    assert (await client.request({"type": "end"}))["type"] == "ok"
    assert (await client.expect("state", state="closed"))["conversation_id"]
    await client.expect("notice", code="conversation_ended")
    assert await db(Conversation.objects.filter(state="closed").count)() == 1
    await client.close()


async def test_no_queue_notices_for_persistent_chat(persistent_widget):
    client, _ = await sockets.customer(persistent_widget, token=token_for("p2"))
    await client.request({"type": "send", "client_id": "a", "text": "hi"})
    await client.expect("state", state="open")
    await client.nothing("notice", timeout=0.5)
    await client.close()


# --- with an agent ------------------------------------------------------------------------------------


async def test_live_flow_with_agent(live_widget):
    queue = await db(lambda: live_widget.workstream.queue)()
    profile = await db(factories.make_agent)("alice", presence=Presence.AVAILABLE, queues=[queue])
    agent, _ = await sockets.agent(profile)
    client, _ = await sockets.customer(live_widget)
    await client.request({"type": "send", "client_id": "c1", "text": "Hi, my order?"})
    assigned = await agent.expect("assigned")
    conversation_id = assigned["conversation"]["id"]
    assert assigned["conversation"]["state"] == "active"
    await client.expect("state", state="active")
    joined = await client.expect("notice", code="agent_joined")
    assert joined["data"] == {"agent": "Alice"}
    capacity = await agent.expect("capacity")
    assert capacity == {"type": "capacity", "total": 100, "used": 50}

    await client.send({"type": "typing", "active": True})
    typing = await agent.expect("typing")
    assert typing == {"type": "typing", "conversation_id": conversation_id, "role": "customer", "active": True}

    ack = await agent.request({"type": "send", "conversation_id": conversation_id, "client_id": "a1", "text": "Hello!"})
    assert ack["type"] == "ack" and ack["message"]["sender"] == {"role": "agent", "name": "Alice"}
    message = await client.expect("message")
    assert message["message"]["text"] == "Hello!" and message["message"]["seq"] == 2

    assert (await agent.request({"type": "set_waiting", "conversation_id": conversation_id}))["code"] == "not_allowed"
    assert (await agent.request({"type": "end", "conversation_id": conversation_id}))["type"] == "ok"
    await client.expect("state", state="closed")
    assert (await agent.expect("capacity"))["used"] == 0
    await agent.close()
    await client.close()


async def test_a_message_during_wrap_up_starts_a_new_conversation():
    """For the customer a conversation in wrap-up has ended; the agent's after-work is not disturbed."""
    widget = await db(factories.make_setup)(wrap_up_seconds=600)
    queue = await db(lambda: widget.workstream.queue)()
    profile = await db(factories.make_agent)("alice", presence=Presence.AVAILABLE, queues=[queue])
    agent, _ = await sockets.agent(profile)
    client, welcome = await sockets.customer(widget)
    await client.request({"type": "send", "client_id": "c1", "text": "Hi"})
    first = (await agent.expect("assigned"))["conversation"]["id"]
    assert (await agent.request({"type": "end", "conversation_id": first}))["type"] == "ok"
    await client.expect("state", state="wrap_up")
    await client.expect("notice", code="conversation_ended")

    ack = await client.request({"type": "send", "client_id": "c2", "text": "One more thing"})
    assert ack["type"] == "ack" and ack["message"]["seq"] == 1
    second = ack["message"]["conversation_id"]
    assert second != first
    states = dict(await db(lambda: list(Conversation.objects.values_list("id", "state")))())
    states = {str(k): v for k, v in states.items()}
    assert states[first] == "wrap_up" and states[second] in ("open", "active")  # routed like any new one
    assert (await db(Message.objects.filter(conversation_id=first).count)()) == 1

    again, welcome = await sockets.customer(widget, visitor=welcome["visitor"])
    assert welcome["conversation"]["id"] == second
    assert (await agent.request({"type": "close", "conversation_id": first}))["type"] == "ok"
    for socket in (again, client, agent):
        await socket.close()


async def test_the_agent_learns_that_the_customer_ended_a_live_chat():
    widget = await db(factories.make_setup)(wrap_up_seconds=600)
    queue = await db(lambda: widget.workstream.queue)()
    profile = await db(factories.make_agent)("alice", presence=Presence.AVAILABLE, queues=[queue])
    agent, _ = await sockets.agent(profile)
    client, _ = await sockets.customer(widget)
    await client.request({"type": "send", "client_id": "c1", "text": "Never mind, found it"})
    conversation_id = (await agent.expect("assigned"))["conversation"]["id"]
    assert (await client.request({"type": "end"}))["type"] == "ok"
    state = await agent.expect("state", state="wrap_up")
    assert state["conversation_id"] == conversation_id and state["reason"] == "customer_ended"
    await agent.close()
    await client.close()

"""Property-based fuzzing of both consumers (in-process): arbitrary JSON,
wrong types, huge numbers, unicode edge cases and wrong ids. No exception
escapes, every bad frame gets exactly one contract error, the socket stays
open, and the stored conversations stay consistent."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from conversations.models import Conversation, Customer
from routing.models import AgentProfile
from tests import factories
from tests.support import sockets
from tests.support.tokens import customer_token, make_key_pair

pytestmark = pytest.mark.django_db(transaction=True)

CONTRACT_CODES = {
    "bad_request",
    "too_large",
    "auth_required",
    "auth_failed",
    "not_allowed",
    "not_found",
    "no_capacity",
    "already_assigned",
    "rate_limited",
}  # "unavailable" is left out on purpose: it means the server failed on this frame
FUZZ = settings(
    max_examples=100,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# --- strategies --------------------------------------------------------------------------------------------

edge_text = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        [
            "",
            " ",
            "\u0000",
            "\ud800",  # a lone surrogate: valid in JSON (as \\ud800), not in UTF-8
            "\udfff x",
            "\u202e\u200b\ufeff",
            "👩‍👩‍👧‍👦" * 50,
            "<script>alert(1)</script>",
            "../../etc/passwd",
            "' OR 1=1 --",
            "a" * 4001,
            "é" * 4000,
            "00000000-0000-0000-0000-000000000000",
        ]
    ),
)
huge = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([2**31, 2**63, 2**64, -(2**63) - 1, 10**100]),
    st.floats(allow_nan=True, allow_infinity=True),
)
scalar = st.one_of(st.none(), st.booleans(), huge, edge_text)
json_value = st.recursive(
    scalar,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=10,
)


def frames(commands, ids):
    """Frames of a known or unknown type whose fields are plausible or anything at all."""
    plausible = {
        "conversation_id": st.sampled_from(ids),
        "client_id": st.text(min_size=1, max_size=70),
        "text": st.text(min_size=1, max_size=50),
        "after_seq": st.integers(min_value=-3, max_value=10),
        "before_seq": st.integers(min_value=-3, max_value=10),
        "limit": st.integers(min_value=-3, max_value=120),
        "active": st.booleans(),
        "status": st.sampled_from(["available", "busy", "away", "offline", "AVAILABLE", ""]),
        "req": st.text(max_size=10),
    }
    typed = st.fixed_dictionaries(
        {"type": st.one_of(st.sampled_from(sorted(commands)), json_value)},
        optional={name: st.one_of(value, edge_text, huge, json_value) for name, value in plausible.items()}
        | {"token": json_value, "visitor": json_value},
    )
    return st.one_of(typed, json_value)


# Frames that once broke a consumer, always tried first.
KNOWN = [
    '{"type": "send", "client_id": "\\ud800", "text": "x"}',
    '{"type": "send", "client_id": "ok", "text": "\\udfff lone"}',
    '{"type": "sync", "after_seq": 0, "req": "\\ud800"}',
    "[" * 6000 + "]" * 6000,
    '{"type": "sync", "x": ' + "[" * 3000 + "]" * 3000 + "}",
    '{"type": "sync", "after_seq": 100000000000000000000000}',
    '{"type": "history", "before_seq": 9223372036854775808, "limit": 5}',
    '{"type": "sync", "after_seq": 1e999}',
    '{"type": "history", "before_seq": 2, "limit": 1.0}',
    '{"type": "typing", "active": 1}',
]


def with_known(test):
    for payload in reversed(KNOWN):
        test = example(payload)(test)
    return test


raw_text = st.one_of(
    st.text(max_size=200),
    st.sampled_from(["", "{", "[]", "null", '{"type": "send"', "\x00", '{"type": "sync", "after_seq": 1e999}']),
)


# --- driving a socket from a synchronous hypothesis test ---------------------------------------------------


class Driver:
    """One event loop and one socket for all examples of a test."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()

    def run(self, coroutine):
        return self.loop.run_until_complete(coroutine)

    def close(self, client) -> None:
        self.run(client.close())
        self.loop.close()


async def exchange(client, payload: str, marker: dict) -> list[dict]:
    """Send one raw frame, then a marker request; return every frame that
    arrived before the marker's answer (frames of one socket are handled in order)."""
    await client.communicator.send_input({"type": "websocket.receive", "text": payload})
    req = f"marker-{uuid.uuid4().hex}"
    await client.communicator.send_input({"type": "websocket.receive", "text": json.dumps({**marker, "req": req})})
    received = []
    while True:
        output = await client.communicator.receive_output(20)
        assert output["type"] == "websocket.send", f"socket closed after {payload!r}: {output}"
        text = output["text"]
        text.encode("utf-8")  # what a real server must be able to put on the wire
        frame = json.loads(text)
        if frame.get("req") == req:
            return received
        if str(frame.get("req", "")).startswith("marker-"):
            continue  # the late answer to an earlier example's marker, after that example failed
        received.append(frame)


def check_answers(payload: str, received: list[dict], *, must_fail: bool) -> None:
    errors = [f for f in received if f.get("type") == "error"]
    for error in errors:
        assert error["code"] in CONTRACT_CODES, (payload, error)
        assert isinstance(error["message"], str) and error["message"]
    answers = [f for f in received if f.get("type") in ("error", "ok", "ack", "sync", "history", "conversation")]
    assert len(answers) <= 1, (payload, received)
    if must_fail:
        assert errors, (payload, received)


def is_object_of(payload: str, commands) -> bool:
    try:
        frame = json.loads(payload)
    except (ValueError, RecursionError):
        return False
    return isinstance(frame, dict) and isinstance(frame.get("type"), str) and frame["type"] in commands


def assert_consistent() -> None:
    """Gapless seqs, capacity equal to what the agent holds, valid states."""
    for conversation in Conversation.objects.all():
        seqs = list(conversation.messages.order_by("seq").values_list("seq", flat=True))
        assert seqs == list(range(1, conversation.last_seq + 1)), conversation.id
        assert conversation.state in ("open", "active", "waiting", "wrap_up", "closed")
    for agent in AgentProfile.objects.all():
        held = sum(
            Conversation.objects.filter(agent=agent, state__in=("active", "wrap_up")).values_list(
                "capacity_units", flat=True
            )
        )
        assert agent.used_capacity == held, agent


def serialise(frame) -> str:
    return json.dumps(frame, ensure_ascii=False, allow_nan=True)


# --- the tests ------------------------------------------------------------------------------------------------


def test_customer_socket_survives_arbitrary_frames(caplog):
    caplog.set_level(logging.ERROR)
    widget = factories.make_setup(persistent=True)
    factories.make_agent("alice", presence="available", queues=[widget.workstream.queue])
    driver = Driver()
    client, welcome = driver.run(sockets.customer(widget, token=customer_token(make_key_pair()[0], "carol")))
    ack = driver.run(client.request({"type": "send", "client_id": "first", "text": "hello"}))
    assert ack["type"] == "ack"
    ids = [ack["message"]["conversation_id"], str(uuid.uuid4()), "first"]
    commands = {"hello", "send", "sync", "history", "typing", "end"}
    marker = {"type": "sync", "after_seq": 0}

    @FUZZ
    @with_known
    @given(st.one_of(frames(commands, ids).map(serialise), raw_text))
    def one_frame(payload):
        received = driver.run(exchange(client, payload, marker))
        check_answers(payload, received, must_fail=not is_object_of(payload, commands))

    try:
        one_frame()
    finally:
        driver.close(client)
    assert not [r for r in caplog.records if r.name.startswith("parley")], caplog.text
    assert_consistent()
    assert Customer.objects.filter(subject="carol").count() == 1


def test_agent_socket_survives_arbitrary_frames(caplog):
    caplog.set_level(logging.ERROR)
    widget = factories.make_setup(persistent=True, wrap_up_seconds=60)
    alice = factories.make_agent("alice", presence="available", queues=[widget.workstream.queue])
    factories.make_agent("bob", queues=[widget.workstream.queue])
    driver = Driver()
    customer, _ = driver.run(sockets.customer(widget, token=customer_token(make_key_pair()[0], "carol")))
    driver.run(customer.request({"type": "send", "client_id": "c1", "text": "hello"}))
    agent, _ = driver.run(sockets.agent(alice))
    conversation_id = str(Conversation.objects.get().id)
    ids = [conversation_id, str(uuid.uuid4()), "not-a-uuid", conversation_id.upper()]
    commands = {
        "presence",
        "open",
        "send",
        "set_waiting",
        "resume",
        "end",
        "close",
        "pick",
        "typing",
        "sync",
        "history",
    }
    marker = {"type": "sync", "conversation_id": str(uuid.uuid4()), "after_seq": 0}

    @FUZZ
    @with_known
    @given(st.one_of(frames(commands, ids).map(serialise), raw_text))
    def one_frame(payload):
        received = driver.run(exchange(agent, payload, marker))
        check_answers(payload, received, must_fail=not is_object_of(payload, commands))

    try:
        one_frame()
    finally:
        driver.run(customer.close())
        driver.close(agent)
    assert not [r for r in caplog.records if r.name.startswith("parley")], caplog.text
    assert_consistent()

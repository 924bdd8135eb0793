"""The fuzzing pass of issue 18: both sockets get hypothesis-generated frames of every kind (the version-2
frames too: survey, rating, messages left, transcripts, notes, transfers, consults, offers), oversized
frames, and frames about other customers' conversations. After every frame:

- the process stays responsive: a second client's round trip (another customer's ``sync``) stays under
  ``ROUND_TRIP_BOUND`` seconds;
- nothing outside the fuzzed customer's conversation changes: another customer's conversation, its
  messages, notes and transitions, and the other customer, are exactly as before.
"""

from __future__ import annotations

import asyncio
import logging
import uuid

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from conversations.models import Conversation, ConversationEvent, Customer, Message, Note
from tests import factories
from tests.security.test_fuzz import Driver, check_answers, edge_text, exchange, huge, json_value, serialise
from tests.support import sockets
from tests.support.tokens import customer_token, make_key_pair

pytestmark = pytest.mark.django_db(transaction=True)

ROUND_TRIP_BOUND = 2.0  # seconds; in-process, a healthy round trip takes a few milliseconds
FUZZ = hypothesis_settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
OVERSIZED = st.sampled_from(["x" * 17000, "é" * 9000, "\U0001f600" * 4500])

CUSTOMER_FIELDS = {
    "client_id": st.text(min_size=1, max_size=70),
    "text": st.one_of(st.text(min_size=1, max_size=50), OVERSIZED),
    "after_seq": st.integers(min_value=-3, max_value=10),
    "before_seq": st.integers(min_value=-3, max_value=10),
    "limit": st.integers(min_value=-3, max_value=120),
    "active": st.booleans(),
    "answers": st.dictionaries(st.sampled_from(["name", "email", "topic", "x"]), edge_text, max_size=3),
    "score": st.integers(min_value=-1, max_value=7),
    "comment": edge_text,
    "email": st.sampled_from(["carol@example.com", "not-an-email", "", "a@b"]),
    "before": st.one_of(st.none(), edge_text),
    "enabled": st.booleans(),
    "req": st.text(max_size=10),
}
AGENT_FIELDS = {
    "client_id": st.text(min_size=1, max_size=70),
    "text": st.one_of(st.text(min_size=1, max_size=50), OVERSIZED),
    "note": edge_text,
    "after_seq": st.integers(min_value=-3, max_value=10),
    "before_seq": st.integers(min_value=-3, max_value=10),
    "limit": st.integers(min_value=-3, max_value=120),
    "active": st.booleans(),
    "status": st.sampled_from(["available", "busy", "away", "offline", ""]),
    "req": st.text(max_size=10),
}


def frames(commands: set[str], fields: dict, ids: list[str], people: list[str]):
    """Frames of every kind the socket knows (and unknown ones), each field plausible or anything."""
    plausible = {
        **fields,
        "conversation_id": st.sampled_from(ids),
        "agent_id": st.sampled_from(people),
        "to": st.one_of(
            st.fixed_dictionaries({"agent_id": st.sampled_from(people)}),
            st.fixed_dictionaries({"queue_id": st.sampled_from(people)}),
            json_value,
        ),
    }
    return st.fixed_dictionaries(
        {"type": st.one_of(st.sampled_from(sorted(commands)), json_value)},
        optional={name: st.one_of(value, value, edge_text, huge, json_value) for name, value in plausible.items()},
    ).map(serialise)


def snapshot(customer_id) -> dict:
    """Everything about one customer and their conversations that a frame of someone else must not change."""
    conversations = Conversation.objects.filter(customer_id=customer_id)
    return {
        "customer": list(Customer.objects.filter(pk=customer_id).values()),
        "conversations": list(conversations.order_by("pk").values()),
        "messages": list(Message.objects.filter(conversation__in=conversations).order_by("pk").values()),
        "notes": list(Note.objects.filter(conversation__in=conversations).order_by("pk").values()),
        "events": ConversationEvent.objects.filter(conversation__in=conversations).count(),
    }


async def round_trip(client) -> float:
    loop = asyncio.get_running_loop()
    started = loop.time()
    answer = await client.request({"type": "sync", "after_seq": 0}, timeout=10)
    assert answer["type"] == "sync", answer
    return loop.time() - started


@pytest.fixture
def fuzz_limits(settings):
    """The per-socket buckets out of the way: the fuzzer sends much faster than a person (the buckets are
    fuzzed by tests/security/test_hardening.py)."""
    settings.PARLEY_FRAME_RATE = 100000
    settings.PARLEY_FRAME_BURST = 100000
    settings.PARLEY_SEND_RATE = 100000
    settings.PARLEY_SEND_BURST = 100000
    settings.PARLEY_NEW_CONVERSATIONS_PER_IP_HOUR = 0


def two_customers():
    """carol (fuzzed) and dave (the bystander) on one persistent widget; alice answers carol, bob (alone in
    another queue) answers dave on a second widget of the same authentication setting."""
    private_pem, public_pem = make_key_pair()
    auth = factories.make_auth_setting(public_pem)
    carols = factories.make_setup(persistent=True, auth=auth, wrap_up_seconds=60)
    daves = factories.make_setup(persistent=True, auth=auth)
    alice = factories.make_agent("alice", presence="available", queues=[carols.workstream.queue])
    bob = factories.make_agent("bob", presence="available", queues=[daves.workstream.queue])
    return private_pem, carols, daves, alice, bob


def test_fuzzed_customer_frames_change_nothing_of_another_customer_and_keep_the_process_responsive(caplog, fuzz_limits):
    caplog.set_level(logging.ERROR)
    private_pem, carols, daves, _alice, bob = two_customers()
    driver = Driver()
    carol, _ = driver.run(sockets.customer(carols, token=customer_token(private_pem, "carol")))
    dave, _ = driver.run(sockets.customer(daves, token=customer_token(private_pem, "dave")))
    mine = driver.run(carol.request({"type": "send", "client_id": "c1", "text": "hello"}))["message"]
    theirs = driver.run(dave.request({"type": "send", "client_id": "d1", "text": "hello"}))["message"]
    dave_id = Conversation.objects.get(pk=theirs["conversation_id"]).customer_id
    before = snapshot(dave_id)
    ids = [mine["conversation_id"], theirs["conversation_id"], str(uuid.uuid4()), "not-a-uuid"]
    commands = {"hello", "send", "sync", "history", "typing", "end"} | {
        "pre_chat",
        "rate",
        "leave_message",
        "earlier_conversations",
        "email_transcript",
        "email_notifications",
    }
    marker = {"type": "sync", "after_seq": 0}
    slowest = [0.0]

    @FUZZ
    @given(frames(commands, CUSTOMER_FIELDS, ids, [str(bob.pk), "0", "x"]))
    def one_frame(payload):
        received = driver.run(exchange(carol, payload, marker))
        check_answers(payload, received, must_fail=False)
        slowest[0] = max(slowest[0], driver.run(round_trip(dave)))
        assert slowest[0] < ROUND_TRIP_BOUND, payload

    try:
        one_frame()
    finally:
        driver.run(dave.close())
        driver.close(carol)
    assert snapshot(dave_id) == before
    assert not [r for r in caplog.records if r.name.startswith("parley")], caplog.text


def test_fuzzed_agent_frames_change_nothing_outside_their_customers_conversation(caplog, fuzz_limits):
    caplog.set_level(logging.ERROR)
    private_pem, carols, daves, alice, bob = two_customers()
    driver = Driver()
    carol, _ = driver.run(sockets.customer(carols, token=customer_token(private_pem, "carol")))
    dave, _ = driver.run(sockets.customer(daves, token=customer_token(private_pem, "dave")))
    mine = driver.run(carol.request({"type": "send", "client_id": "c1", "text": "hello"}))["message"]
    theirs = driver.run(dave.request({"type": "send", "client_id": "d1", "text": "hello"}))["message"]
    dave_id = Conversation.objects.get(pk=theirs["conversation_id"]).customer_id
    before = snapshot(dave_id)
    agent, _ = driver.run(sockets.agent(alice))
    ids = [mine["conversation_id"], theirs["conversation_id"], str(uuid.uuid4()), "not-a-uuid"]
    people = [str(bob.pk), str(alice.pk), str(carols.workstream.queue_id), str(daves.workstream.queue_id), "x"]
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
        "accept",
        "decline",
        "note",
        "transfer",
        "transfer_targets",
        "consult",
        "leave_consult",
    }
    marker = {"type": "sync", "conversation_id": str(uuid.uuid4()), "after_seq": 0}

    @FUZZ
    @given(frames(commands, AGENT_FIELDS, ids, people))
    def one_frame(payload):
        received = driver.run(exchange(agent, payload, marker))
        check_answers(payload, received, must_fail=False)
        assert driver.run(round_trip(dave)) < ROUND_TRIP_BOUND, payload

    try:
        one_frame()
    finally:
        driver.run(carol.close())
        driver.run(dave.close())
        driver.close(agent)
    # a transfer of carol's conversation may move it to bob; dave's conversation is never touched
    assert snapshot(dave_id) == before
    assert not [r for r in caplog.records if r.name.startswith("parley")], caplog.text


def test_an_anonymous_visitor_fuzzing_the_widget_stores_at_most_their_own_row(caplog, fuzz_limits):
    caplog.set_level(logging.ERROR)
    widget = factories.make_setup()
    private_pem, _carols, daves, _alice, _bob = two_customers()
    driver = Driver()
    visitor, _ = driver.run(sockets.customer(widget))
    dave, _ = driver.run(sockets.customer(daves, token=customer_token(private_pem, "dave")))
    theirs = driver.run(dave.request({"type": "send", "client_id": "d1", "text": "hello"}))["message"]
    dave_id = Conversation.objects.get(pk=theirs["conversation_id"]).customer_id
    before = snapshot(dave_id)
    commands = {"send", "sync", "history", "typing", "end", "pre_chat", "rate", "earlier_conversations"}

    @FUZZ
    @given(frames(commands, CUSTOMER_FIELDS, [theirs["conversation_id"], str(uuid.uuid4())], ["x"]))
    def one_frame(payload):
        received = driver.run(exchange(visitor, payload, {"type": "sync", "after_seq": 0}))
        check_answers(payload, received, must_fail=False)
        assert driver.run(round_trip(dave)) < ROUND_TRIP_BOUND, payload

    try:
        one_frame()
    finally:
        driver.run(dave.close())
        driver.close(visitor)
    assert snapshot(dave_id) == before
    assert Customer.objects.filter(authentication__isnull=True).count() <= 1  # the visitor, once they wrote
    assert Conversation.objects.filter(widget=widget).count() <= 1
    assert not [r for r in caplog.records if r.name.startswith("parley")], caplog.text

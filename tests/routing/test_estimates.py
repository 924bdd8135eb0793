"""Queue position and average wait time notices (routing/estimates.py)."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from conversations import events
from conversations.actions import lifecycle, messages, queueing, sessions, sweep
from conversations.models import Conversation, Customer
from routing import estimates
from routing.models import Presence, Queue
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def sent(monkeypatch):
    """Every frame sent to a customer group, as (customer_id, frame), in order."""
    estimates.forget_rounds()
    frames: list[tuple[str, dict]] = []

    def record(target: str, message: dict) -> None:
        if target.startswith("cust.") and message.get("type") == events.FRAME:
            frames.append((target.split(".")[1], json.loads(message["text"])))

    monkeypatch.setattr(events, "_send_all", lambda messages: [record(t, m) for t, m, _group in messages])
    yield frames
    estimates.forget_rounds()


def notices(sent, customer: Customer, code: str) -> list[dict]:
    return [f["data"] for c, f in sent if c == str(customer.pk) and f["type"] == "notice" and f["code"] == code]


def write(widget, customer: Customer) -> Conversation:
    _message, conversation, _ = messages.customer_message(customer, widget, client_id=uuid.uuid4().hex, text="Hi")
    return Conversation.objects.get(pk=conversation.pk)


def customers(n: int) -> list[Customer]:
    return [Customer.objects.create(name=f"Customer {i}") for i in range(n)]


def test_average_is_an_exponential_moving_average_of_about_twenty_waits():
    assert estimates.next_average(None, 100) == 100
    assert estimates.next_average(100, 310) == pytest.approx(100 + (2 / 21) * 210)
    average = None
    for _ in range(40):
        average = estimates.next_average(average, 60)
    for _ in range(20):
        average = estimates.next_average(average, 300)
    assert 260 < average < 300  # twenty new waits outweigh forty older ones


@pytest.mark.parametrize(
    ("average", "samples", "told"),
    [(None, 0, None), (90.0, 4, None), (90.0, 5, 90), (60.0, 30, None), (60.2, 30, 61), (3600.0, 20, 3600)],
)
def test_average_wait_is_told_only_from_enough_waits_and_above_one_minute(average, samples, told):
    queue = factories.make_setup().workstream.queue
    Queue.objects.filter(pk=queue.pk).update(average_wait_seconds=average, wait_samples=samples)
    assert estimates.average_wait_seconds(queue.pk) == told


def test_assignment_records_how_long_a_live_conversation_waited():
    widget = factories.make_setup()
    alice = factories.make_agent("alice", queues=[widget.workstream.queue])
    (carol,) = customers(1)
    conversation = write(widget, carol)
    Conversation.objects.filter(pk=conversation.pk).update(queued_at=timezone.now() - timedelta(seconds=120))
    sessions.set_presence(alice, Presence.AVAILABLE)
    queue = Queue.objects.get(pk=widget.workstream.queue_id)
    assert queue.wait_samples == 1 and 119 < queue.average_wait_seconds < 125


def test_persistent_waits_do_not_count():
    widget = factories.make_setup(persistent=True)
    alice = factories.make_agent("alice", queues=[widget.workstream.queue])
    write(widget, customers(1)[0])
    sessions.set_presence(alice, Presence.AVAILABLE)
    queue = Queue.objects.get(pk=widget.workstream.queue_id)
    assert queue.wait_samples == 0 and queue.average_wait_seconds is None


def test_queued_live_customer_hears_position_and_average_wait(sent):
    widget = factories.make_setup()
    Queue.objects.filter(pk=widget.workstream.queue_id).update(average_wait_seconds=150, wait_samples=20)
    first, second = customers(2)
    write(widget, first)
    write(widget, second)
    assert notices(sent, first, "queue_position") == [{"position": 1}]
    assert notices(sent, second, "queue_position") == [{"position": 2}]
    assert notices(sent, second, "average_wait_time") == [{"seconds": 150}]
    text = next(f["text"] for c, f in sent if f.get("code") == "average_wait_time")
    assert "3 min" in text


def test_customers_behind_hear_their_new_position_as_the_head_is_assigned(sent):
    widget = factories.make_setup(capacity_units=100)
    alice = factories.make_agent("alice", capacity=100, queues=[widget.workstream.queue])
    first, second, third = customers(3)
    for customer in (first, second, third):
        write(widget, customer)
    sent.clear()
    sessions.set_presence(alice, Presence.AVAILABLE)
    assert notices(sent, first, "queue_position") == []
    assert notices(sent, first, "agent_joined") == [{"agent": "Alice"}]
    assert notices(sent, second, "queue_position") == [{"position": 1}]
    assert notices(sent, third, "queue_position") == [{"position": 2}]


def test_customer_leaving_the_queue_moves_only_those_behind(sent):
    widget = factories.make_setup()
    first, second, third = customers(3)
    for customer in (first, second, third):
        write(widget, customer)
    sent.clear()
    lifecycle.customer_end(second, widget)
    assert notices(sent, first, "queue_position") == []
    assert notices(sent, third, "queue_position") == [{"position": 2}]


def test_changes_within_a_round_are_gathered_and_sent_by_the_timer_sweep(sent, monkeypatch):
    widget = factories.make_setup()
    first, second, third, fourth = customers(4)
    for customer in (first, second, third, fourth):
        write(widget, customer)
    sent.clear()
    lifecycle.customer_end(first, widget)  # a round at once
    lifecycle.customer_end(second, widget)  # within the round interval: held back
    assert notices(sent, fourth, "queue_position") == [{"position": 3}]
    assert sweep.sweep()["positions"] == 0  # not due yet
    monkeypatch.setattr(estimates, "POSITION_ROUND_SECONDS", 0)
    assert sweep.sweep()["positions"] == 1
    assert notices(sent, third, "queue_position") == [{"position": 2}, {"position": 1}]
    assert notices(sent, fourth, "queue_position") == [{"position": 3}, {"position": 2}]


def test_persistent_chat_never_gets_wait_notices(sent):
    widget = factories.make_setup(persistent=True, capacity_units=100)
    Queue.objects.filter(pk=widget.workstream.queue_id).update(average_wait_seconds=300, wait_samples=20)
    alice = factories.make_agent("alice", capacity=100, queues=[widget.workstream.queue])
    first, second = customers(2)
    write(widget, first)
    write(widget, second)
    sessions.set_presence(alice, Presence.AVAILABLE)
    for customer in (first, second):
        assert notices(sent, customer, "queue_position") == []
        assert notices(sent, customer, "average_wait_time") == []


def test_position_counts_every_open_conversation_ahead_in_the_queue(sent):
    live = factories.make_setup()
    persistent = factories.make_setup(persistent=True)
    persistent.workstream.queue = live.workstream.queue
    persistent.workstream.save()
    first, second = customers(2)
    write(persistent, first)
    conversation = write(live, second)
    assert queueing.queue_position(conversation) == 2
    assert notices(sent, second, "queue_position") == [{"position": 2}]


def test_front_of_the_line_hears_at_once_and_the_back_in_full_rounds(sent, monkeypatch):
    widget = factories.make_setup()
    people = customers(5)
    for customer in people:
        write(widget, customer)
    monkeypatch.setattr(estimates, "FRONT", 2)
    monkeypatch.setattr(estimates, "POSITION_ROUND_SECONDS", 0)
    sent.clear()
    lifecycle.customer_end(people[0], widget)  # first change: a full round
    assert [notices(sent, c, "queue_position") for c in people[1:]] == [[{"position": n}] for n in (1, 2, 3, 4)]
    sent.clear()
    lifecycle.customer_end(people[1], widget)  # within the full-round interval: the front only
    assert [notices(sent, c, "queue_position") for c in people[2:]] == [[{"position": 1}], [{"position": 2}], []]
    assert sweep.sweep()["positions"] == 0
    monkeypatch.setattr(estimates, "FULL_ROUND_SECONDS", 0)
    assert sweep.sweep()["positions"] == 1
    assert notices(sent, people[4], "queue_position") == [{"position": 3}]

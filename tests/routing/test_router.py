"""Push routing and pick, one rule per test (../PROTOCOL.md "Routing rules")."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from conversations.actions import assignment, lifecycle, messages, payloads, sessions, sweep
from conversations.errors import ServiceError
from conversations.models import Conversation, ConversationEvent, Customer, State
from routing import policy
from routing.models import AgentProfile, Presence
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)

WEEKDAYS_9_TO_17 = {day: [["09:00", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}
CLOSED_ALL_WEEK: dict = {}


def write(widget, name: str = "Carol", customer: Customer | None = None) -> Conversation:
    customer = customer or Customer.objects.create(name=name)
    _message, conversation, _ = messages.customer_message(customer, widget, client_id=uuid.uuid4().hex, text="Hello")
    return Conversation.objects.get(pk=conversation.pk)


def fresh(obj):
    obj.refresh_from_db()
    return obj


def used(agent: AgentProfile) -> int:
    return AgentProfile.objects.get(pk=agent.pk).used_capacity


def test_conversation_goes_to_available_member_and_uses_capacity():
    widget = factories.make_setup(capacity_units=40)
    alice = factories.make_agent("alice", presence=Presence.AVAILABLE, queues=[widget.workstream.queue])
    conversation = write(widget)
    assert conversation.state == State.ACTIVE and conversation.agent_id == alice.id
    assert conversation.capacity_units == 40 and used(alice) == 40


@pytest.mark.parametrize("presence", [Presence.BUSY, Presence.AWAY, Presence.OFFLINE])
def test_members_who_are_not_available_get_nothing(presence):
    widget = factories.make_setup()
    factories.make_agent("alice", presence=presence, queues=[widget.workstream.queue])
    assert write(widget).state == State.OPEN


def test_available_agents_outside_the_queue_get_nothing():
    widget = factories.make_setup()
    other = factories.make_setup()
    factories.make_agent("mallory", presence=Presence.AVAILABLE, queues=[other.workstream.queue])
    assert write(widget).state == State.OPEN


def test_highest_capacity_picks_the_most_free_capacity():
    widget = factories.make_setup(capacity_units=10)
    queue = widget.workstream.queue
    factories.make_agent("alice", capacity=50, presence=Presence.AVAILABLE, queues=[queue])
    bob = factories.make_agent("bob", capacity=80, presence=Presence.AVAILABLE, queues=[queue])
    assert write(widget).agent_id == bob.id


def test_highest_capacity_ties_go_to_the_longest_since_last_assignment():
    widget = factories.make_setup(capacity_units=10)
    queue = widget.workstream.queue
    now = timezone.now()
    alice = factories.make_agent("alice", capacity=50, presence=Presence.AVAILABLE, queues=[queue])
    bob = factories.make_agent("bob", capacity=50, presence=Presence.AVAILABLE, queues=[queue])
    AgentProfile.objects.filter(pk=alice.pk).update(last_assigned_at=now - timedelta(minutes=1))
    AgentProfile.objects.filter(pk=bob.pk).update(last_assigned_at=now - timedelta(minutes=5))
    assert write(widget).agent_id == bob.id


def test_agent_never_assigned_counts_as_longest_since_last_assignment():
    widget = factories.make_setup(capacity_units=10, assignment_method="round_robin")
    queue = widget.workstream.queue
    alice = factories.make_agent("alice", presence=Presence.AVAILABLE, queues=[queue])
    AgentProfile.objects.filter(pk=alice.pk).update(last_assigned_at=timezone.now() - timedelta(days=30))
    bob = factories.make_agent("bob", presence=Presence.AVAILABLE, queues=[queue])
    assert write(widget).agent_id == bob.id


def test_round_robin_ignores_free_capacity_and_takes_turns():
    widget = factories.make_setup(capacity_units=10, assignment_method="round_robin")
    queue = widget.workstream.queue
    alice = factories.make_agent("alice", capacity=30, presence=Presence.AVAILABLE, queues=[queue])
    bob = factories.make_agent("bob", capacity=100, presence=Presence.AVAILABLE, queues=[queue])
    AgentProfile.objects.filter(pk=alice.pk).update(last_assigned_at=timezone.now() - timedelta(minutes=5))
    AgentProfile.objects.filter(pk=bob.pk).update(last_assigned_at=timezone.now() - timedelta(minutes=1))
    agents = [write(widget, f"C{i}").agent_id for i in range(4)]
    assert agents == [alice.id, bob.id, alice.id, bob.id]


def test_highest_capacity_spreads_work_to_the_least_loaded():
    widget = factories.make_setup(capacity_units=10)
    queue = widget.workstream.queue
    alice = factories.make_agent("alice", capacity=100, presence=Presence.AVAILABLE, queues=[queue])
    bob = factories.make_agent("bob", capacity=100, presence=Presence.AVAILABLE, queues=[queue])
    for i in range(6):
        write(widget, f"C{i}")
    assert used(alice) == used(bob) == 30


def test_routing_never_puts_an_agent_over_capacity():
    widget = factories.make_setup(capacity_units=40)
    alice = factories.make_agent("alice", capacity=100, presence=Presence.AVAILABLE, queues=[widget.workstream.queue])
    first, second, third = (write(widget, name) for name in ("A", "B", "C"))
    assert [first.agent_id, second.agent_id] == [alice.id, alice.id]
    assert third.state == State.OPEN and used(alice) == 80


def test_agent_becoming_available_takes_queued_conversations_oldest_first():
    widget = factories.make_setup(capacity_units=50)
    alice = factories.make_agent("alice", capacity=100, queues=[widget.workstream.queue])
    conversations = [write(widget, f"C{i}") for i in range(3)]
    assert all(c.state == State.OPEN for c in conversations)
    sessions.set_presence(alice, Presence.AVAILABLE)
    assert [fresh(c).agent_id for c in conversations] == [alice.id, alice.id, None]


def test_freed_capacity_goes_to_the_oldest_queued_conversation():
    widget = factories.make_setup(capacity_units=100)
    alice = factories.make_agent("alice", capacity=100, presence=Presence.AVAILABLE, queues=[widget.workstream.queue])
    first = write(widget, "First")
    second, third = write(widget, "Second"), write(widget, "Third")
    lifecycle.end(alice, first.id)
    assert fresh(second).agent_id == alice.id and fresh(third).state == State.OPEN


def _shared_queue_setups():
    big = factories.make_setup(capacity_units=80)
    small = factories.make_setup(capacity_units=20)
    small.workstream.queue = big.workstream.queue
    small.workstream.save()
    return big, small


def test_oldest_conversation_that_fits_is_served_first():
    big, small = _shared_queue_setups()
    alice = factories.make_agent("alice", capacity=100, queues=[big.workstream.queue])
    older_small, big_one, younger_small = write(small, "A"), write(big, "B"), write(small, "C")
    sessions.set_presence(alice, Presence.AVAILABLE)
    # 100 free: A (20) first, then B (80) takes the rest; C waits.
    assert fresh(older_small).agent_id == fresh(big_one).agent_id == alice.id
    assert fresh(younger_small).state == State.OPEN


def test_capacity_too_small_for_the_oldest_goes_to_a_younger_smaller_conversation():
    big, small = _shared_queue_setups()
    alice = factories.make_agent("alice", capacity=100, presence=Presence.AVAILABLE, queues=[big.workstream.queue])
    held = write(big, "Held")  # 80 used, 20 free
    waiting_big, waiting_small = write(big, "Big"), write(small, "Small")
    assert fresh(waiting_big).state == State.OPEN
    assert fresh(waiting_small).agent_id == alice.id and used(alice) == 100
    lifecycle.end(alice, held.id)
    assert fresh(waiting_big).agent_id == alice.id


def test_wrap_up_holds_capacity_until_it_closes():
    widget = factories.make_setup(capacity_units=100, wrap_up_seconds=60)
    alice = factories.make_agent("alice", capacity=100, presence=Presence.AVAILABLE, queues=[widget.workstream.queue])
    first = write(widget, "First")
    second = write(widget, "Second")
    lifecycle.end(alice, first.id)
    assert fresh(first).state == State.WRAP_UP and used(alice) == 100
    assert fresh(second).state == State.OPEN
    lifecycle.close(alice, first.id)
    assert fresh(second).agent_id == alice.id


def test_wrap_up_expiry_by_the_timer_routes_the_next_conversation():
    widget = factories.make_setup(capacity_units=100, wrap_up_seconds=30)
    alice = factories.make_agent("alice", capacity=100, presence=Presence.AVAILABLE, queues=[widget.workstream.queue])
    first = write(widget, "First")
    second = write(widget, "Second")
    lifecycle.end(alice, first.id)
    Conversation.objects.filter(pk=first.pk).update(wrap_up_started_at=timezone.now() - timedelta(seconds=31))
    sweep.sweep()
    assert fresh(first).state == State.CLOSED and fresh(second).agent_id == alice.id


def test_set_aside_frees_capacity_and_routes_the_next_persistent_conversation():
    widget = factories.make_setup(persistent=True, capacity_units=100)
    alice = factories.make_agent("alice", capacity=100, presence=Presence.AVAILABLE, queues=[widget.workstream.queue])
    first = write(widget, "First")
    second = write(widget, "Second")
    lifecycle.set_waiting(alice, first.id)
    assert fresh(first).state == State.WAITING and fresh(second).agent_id == alice.id and used(alice) == 100


def test_returning_customer_stays_with_the_same_agent_even_when_offline():
    widget = factories.make_setup(persistent=True, capacity_units=50)
    queue = widget.workstream.queue
    alice = factories.make_agent("alice", presence=Presence.AVAILABLE, queues=[queue])
    carol = Customer.objects.create(name="Carol")
    conversation = write(widget, customer=carol)
    lifecycle.set_waiting(alice, conversation.id)
    sessions.set_presence(alice, Presence.OFFLINE)
    factories.make_agent("bob", capacity=500, presence=Presence.AVAILABLE, queues=[queue])
    again = write(widget, customer=carol)
    assert again.pk == conversation.pk
    assert again.agent_id == alice.id and again.state == State.WAITING and again.customer_returned
    sweep.sweep()
    assert fresh(again).agent_id == alice.id
    assert ConversationEvent.objects.filter(conversation=conversation, to_state=State.ACTIVE).count() == 1


def test_resume_is_allowed_past_capacity_but_routing_then_gives_nothing_more():
    widget = factories.make_setup(persistent=True, capacity_units=100)
    alice = factories.make_agent("alice", capacity=100, presence=Presence.AVAILABLE, queues=[widget.workstream.queue])
    first = write(widget, "First")
    second = write(widget, "Second")
    lifecycle.set_waiting(alice, first.id)
    assert fresh(second).agent_id == alice.id
    lifecycle.resume(alice, first.id)
    assert used(alice) == 200
    third = write(widget, "Third")
    lifecycle.end(alice, second.id)
    assert fresh(third).state == State.OPEN  # 100 used of 100: still no room
    lifecycle.end(alice, first.id)
    assert fresh(third).agent_id == alice.id


def test_reassign_moves_capacity_and_routing_refills_the_old_agent():
    widget = factories.make_setup(capacity_units=100)
    queue = widget.workstream.queue
    alice = factories.make_agent("alice", capacity=100, presence=Presence.AVAILABLE, queues=[queue])
    bob = factories.make_agent("bob", capacity=100, queues=[queue])
    first = write(widget, "First")
    second = write(widget, "Second")
    assignment.reassign(first, bob, actor_name="Ada")
    assert fresh(first).agent_id == bob.id and used(bob) == 100
    assert fresh(second).agent_id == alice.id and used(alice) == 100


# --- operating hours ---------------------------------------------------------


def _monday(hour: int) -> datetime:
    return datetime(2026, 11, 23, hour, 0, tzinfo=ZoneInfo("UTC"))


def test_queue_is_open_follows_operating_hours():
    hours = factories.make_hours(WEEKDAYS_9_TO_17)
    widget = factories.make_setup(hours=hours)
    queue = widget.workstream.queue
    assert policy.queue_is_open(queue, _monday(10))
    assert not policy.queue_is_open(queue, _monday(8))
    assert policy.queue_is_open(factories.make_setup().workstream.queue, _monday(3))


def test_operating_hours_are_read_in_their_time_zone_with_closed_dates():
    hours = factories.make_hours(WEEKDAYS_9_TO_17, timezone="Europe/Moscow", closed_dates=["2026-11-24"])
    queue = factories.make_setup(hours=hours).workstream.queue
    assert policy.queue_is_open(queue, _monday(7))  # 10:00 in Moscow
    assert not policy.queue_is_open(queue, _monday(14) + timedelta(minutes=30))  # 17:30 in Moscow
    assert not policy.queue_is_open(queue, _monday(7) + timedelta(days=1))  # a closed date
    assert policy.queue_is_open(queue, _monday(7) + timedelta(days=2))


def test_live_chat_cannot_start_outside_operating_hours():
    widget = factories.make_setup(hours=factories.make_hours(CLOSED_ALL_WEEK))
    factories.make_agent("alice", presence=Presence.AVAILABLE, queues=[widget.workstream.queue])
    with pytest.raises(ServiceError) as refused:
        write(widget)
    assert refused.value.code == "unavailable"
    assert not Conversation.objects.exists()


def test_queued_live_chat_is_not_routed_once_the_hours_end():
    hours = factories.make_hours()
    widget = factories.make_setup(hours=hours)
    alice = factories.make_agent("alice", queues=[widget.workstream.queue])
    conversation = write(widget)
    hours.weekly = CLOSED_ALL_WEEK
    hours.save()
    sessions.set_presence(alice, Presence.AVAILABLE)
    assert fresh(conversation).state == State.OPEN
    hours.weekly = factories.ALWAYS
    hours.save()
    assert assignment.dispatch([widget.workstream.queue_id]) == 1
    assert fresh(conversation).agent_id == alice.id


def test_persistent_conversation_outside_hours_waits_and_the_sweep_routes_it_when_hours_open():
    hours = factories.make_hours(CLOSED_ALL_WEEK)
    widget = factories.make_setup(persistent=True, hours=hours)
    alice = factories.make_agent("alice", presence=Presence.AVAILABLE, queues=[widget.workstream.queue])
    conversation = write(widget)
    assert conversation.state == State.OPEN
    assert sweep.sweep()["routed"] == 0
    hours.weekly = factories.ALWAYS
    hours.save()
    assert sweep.sweep()["routed"] == 1
    assert fresh(conversation).agent_id == alice.id


def test_sweep_routes_only_once_the_hours_begin():
    hours = factories.make_hours(WEEKDAYS_9_TO_17)
    widget = factories.make_setup(persistent=True, hours=hours)
    alice = factories.make_agent("alice", queues=[widget.workstream.queue])
    conversation = write(widget)  # nobody available: queued whatever the hour
    AgentProfile.objects.filter(pk=alice.pk).update(presence=Presence.AVAILABLE)
    assert sweep.sweep(now=_monday(8))["routed"] == 0
    assert fresh(conversation).state == State.OPEN
    assert sweep.sweep(now=_monday(9) + timedelta(minutes=1))["routed"] == 1
    assert fresh(conversation).agent_id == alice.id


# --- pick --------------------------------------------------------------------


def test_pick_conversations_stay_in_the_queue_until_a_member_picks_one():
    widget = factories.make_setup(distribution="pick", capacity_units=30)
    queue = widget.workstream.queue
    alice = factories.make_agent("alice", presence=Presence.AVAILABLE, queues=[queue])
    first, second = write(widget, "First"), write(widget, "Second")
    assert first.state == second.state == State.OPEN
    assert [c.pk for c in payloads.pick_queue_for(alice)] == [first.pk, second.pk]
    assignment.pick(alice, second.id)
    assert fresh(second).agent_id == alice.id and used(alice) == 30
    assert [c.pk for c in payloads.pick_queue_for(alice)] == [first.pk]


def test_a_second_pick_of_the_same_conversation_loses():
    widget = factories.make_setup(distribution="pick")
    queue = widget.workstream.queue
    alice = factories.make_agent("alice", queues=[queue])
    bob = factories.make_agent("bob", queues=[queue])
    conversation = write(widget)
    assignment.pick(alice, conversation.id)
    with pytest.raises(ServiceError) as refused:
        assignment.pick(bob, conversation.id)
    assert refused.value.code == "already_assigned"
    assert fresh(conversation).agent_id == alice.id and used(bob) == 0


@pytest.mark.parametrize(
    ("setup", "code"),
    [
        ({"distribution": "pick"}, "not_allowed"),  # not a member
        ({"distribution": "push"}, "not_allowed"),  # routing assigns it
        ({"distribution": "pick", "capacity_units": 150}, "no_capacity"),
    ],
)
def test_pick_is_refused(setup, code):
    widget = factories.make_setup(**setup)
    member = setup.get("capacity_units") == 150 or setup["distribution"] == "push"
    alice = factories.make_agent("alice", queues=[widget.workstream.queue] if member else [])
    conversation = write(widget)
    with pytest.raises(ServiceError) as refused:
        assignment.pick(alice, conversation.id)
    assert refused.value.code == code
    assert fresh(conversation).state == State.OPEN


def test_pick_of_an_unknown_conversation_is_not_found():
    alice = factories.make_agent("alice")
    with pytest.raises(ServiceError) as refused:
        assignment.pick(alice, uuid.uuid4())
    assert refused.value.code == "not_found"


def test_an_assignment_postgresql_aborts_to_break_a_deadlock_runs_again(monkeypatch):
    from types import SimpleNamespace

    from django.db import OperationalError

    queue = SimpleNamespace(pk=1)

    class Deadlock(Exception):
        sqlstate = "40P01"

    class Other(Exception):
        sqlstate = "57014"  # query cancelled: not ours to retry

    def failing(cause):
        error = OperationalError("deadlock detected")
        error.__cause__ = cause
        return error

    calls = []

    def once(queue):
        calls.append(queue)
        if len(calls) == 1:
            raise failing(Deadlock())
        return True

    monkeypatch.setattr(assignment, "_assign_oldest_once", once)
    assert assignment.assign_oldest(queue) is True
    assert calls == [queue, queue]

    def always(queue):
        raise failing(Deadlock())

    monkeypatch.setattr(assignment, "_assign_oldest_once", always)
    with pytest.raises(OperationalError):
        assignment.assign_oldest(queue)

    def other(queue):
        calls.append("other")
        raise failing(Other())

    calls.clear()
    monkeypatch.setattr(assignment, "_assign_oldest_once", other)
    with pytest.raises(OperationalError):
        assignment.assign_oldest(queue)
    assert calls == ["other"]

"""Timers per state (``auto_close_seconds``) in the timer sweep, beside the version-1 inactivity timer."""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from conversations.actions import lifecycle, messages, sweep
from conversations.models import Conversation, ConversationEvent, Customer
from routing.models import AgentProfile, Presence
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)
DAY = 86400


def start(widget, customer=None) -> Conversation:
    customer = customer or Customer.objects.create(name="Casey")
    _message, conversation, _ = messages.customer_message(customer, widget, client_id=uuid.uuid4().hex, text="hi")
    return Conversation.objects.get(pk=conversation.pk)


def idle_for(conversation: Conversation, seconds: float) -> None:
    Conversation.objects.filter(pk=conversation.pk).update(updated_at=timezone.now() - timedelta(seconds=seconds))


def closing(conversation: Conversation) -> ConversationEvent:
    return ConversationEvent.objects.get(conversation=conversation, to_state="closed")


def test_live_default_closes_a_conversation_open_for_a_day_and_logs_state_and_timer(caplog):
    widget = factories.make_setup()  # nobody in the queue: it stays open
    conversation = start(widget)
    idle_for(conversation, DAY - 60)
    assert sweep.sweep()["timed_out"] == 0
    idle_for(conversation, DAY + 1)
    with caplog.at_level(logging.INFO, logger="parley.timers"):
        assert sweep.sweep()["timed_out"] == 1
    event = closing(conversation)
    assert (event.from_state, event.reason, event.actor_role) == ("open", "auto_close_seconds.open", "system")
    assert f"conversation {conversation.pk} closed in state open by timer auto_close_seconds.open (86400 s)" in (
        caplog.text
    )


def test_live_default_closes_an_active_conversation_after_a_day_and_frees_capacity():
    widget = factories.make_setup(capacity_units=30)
    agent = factories.make_agent(presence=Presence.AVAILABLE, queues=[widget.workstream.queue])
    conversation = start(widget)
    assert AgentProfile.objects.get(pk=agent.pk).used_capacity == 30
    idle_for(conversation, DAY + 1)
    assert sweep.sweep()["timed_out"] == 1
    assert closing(conversation).from_state == "active"
    assert AgentProfile.objects.get(pk=agent.pk).used_capacity == 0


def test_persistent_default_closes_waiting_after_30_days_and_never_an_active_one():
    widget = factories.make_setup(persistent=True)
    agent = factories.make_agent(presence=Presence.AVAILABLE, queues=[widget.workstream.queue])
    auth = widget.authentication
    active = start(widget, Customer.objects.create(name="A", subject="a", authentication=auth))
    waiting = start(widget, Customer.objects.create(name="W", subject="w", authentication=auth))
    lifecycle.set_waiting(agent, waiting.pk)
    idle_for(active, 60 * DAY)
    idle_for(waiting, 30 * DAY - 60)
    assert sweep.sweep()["timed_out"] == 0
    idle_for(waiting, 30 * DAY + 1)
    assert sweep.sweep()["timed_out"] == 1
    assert closing(waiting).reason == "auto_close_seconds.waiting"
    assert Conversation.objects.get(pk=active.pk).state == "active"


def test_activity_in_the_state_restarts_its_timer():
    widget = factories.make_setup()
    customer = Customer.objects.create(name="Casey")
    conversation = start(widget, customer)
    idle_for(conversation, DAY + 1)
    messages.customer_message(customer, widget, client_id="again", text="still here")
    assert sweep.sweep()["timed_out"] == 0
    assert Conversation.objects.get(pk=conversation.pk).state == "open"


def test_the_version_1_inactivity_timer_still_closes_every_state():
    widget = factories.make_setup(auto_close=60)
    workstream = widget.workstream
    workstream.auto_close_seconds = {"open": None, "active": None, "waiting": None, "wrap_up": None}
    workstream.save()
    conversation = start(widget)
    Conversation.objects.filter(pk=conversation.pk).update(last_message_at=timezone.now() - timedelta(seconds=61))
    done = sweep.sweep()
    assert (done["inactive"], done["timed_out"]) == (1, 0)
    assert closing(conversation).reason == "inactivity"


def test_a_state_without_a_timer_never_closes():
    widget = factories.make_setup()
    workstream = widget.workstream
    workstream.auto_close_seconds = {"open": None, "active": 3600, "waiting": None, "wrap_up": None}
    workstream.save()
    conversation = start(widget)
    idle_for(conversation, 365 * DAY)
    assert sweep.sweep()["timed_out"] == 0

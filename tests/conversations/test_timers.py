"""The server's timers (sweep.sweep): inactivity, wrap-up, live-chat
disconnect grace, agent presence grace, stale sockets."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from conversations.actions import lifecycle, messages, sessions, sweep
from conversations.models import Connection, Conversation, ConversationEvent, Customer
from routing.models import AgentProfile, Presence
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)


def start(widget, text="hello", customer=None):
    customer = customer or Customer.objects.create(name="Casey")
    _message, conversation, _ = messages.customer_message(customer, widget, client_id="c1", text=text)
    return Conversation.objects.get(pk=conversation.pk)


def test_inactivity_closes_after_the_workstream_limit():
    widget = factories.make_setup(auto_close=60)
    conversation = start(widget)
    assert sweep.sweep()["inactive"] == 0
    Conversation.objects.filter(pk=conversation.pk).update(last_message_at=timezone.now() - timedelta(seconds=61))
    assert sweep.sweep()["inactive"] == 1
    conversation.refresh_from_db()
    assert conversation.state == "closed"
    assert ConversationEvent.objects.filter(conversation=conversation, to_state="closed", reason="inactivity").exists()


def test_wrap_up_expires_and_frees_capacity():
    widget = factories.make_setup(persistent=True, wrap_up_seconds=30, capacity_units=40)
    agent = factories.make_agent(presence=Presence.AVAILABLE, queues=[widget.workstream.queue])
    conversation = start(widget)
    assert Conversation.objects.get(pk=conversation.pk).agent_id == agent.id
    lifecycle.end(agent, conversation.id)
    assert AgentProfile.objects.get(pk=agent.pk).used_capacity == 40
    assert sweep.sweep()["wrap_up"] == 0
    Conversation.objects.filter(pk=conversation.pk).update(wrap_up_started_at=timezone.now() - timedelta(seconds=31))
    assert sweep.sweep()["wrap_up"] == 1
    assert Conversation.objects.get(pk=conversation.pk).state == "closed"
    assert AgentProfile.objects.get(pk=agent.pk).used_capacity == 0


def test_live_chat_ends_when_the_customer_stays_away_past_the_grace(settings):
    settings.PARLEY_LIVE_DISCONNECT_GRACE = 180
    widget = factories.make_setup()
    customer = Customer.objects.create(name="Lee")
    sessions.customer_connected(customer, widget, channel_name="chan-1")
    conversation = start(widget, customer=customer)
    sessions.customer_disconnected("chan-1")
    assert sweep.sweep()["abandoned"] == 0  # a reload is not leaving
    Conversation.objects.filter(pk=conversation.pk).update(customer_left_at=timezone.now() - timedelta(seconds=181))
    assert sweep.sweep()["abandoned"] == 1
    assert Conversation.objects.get(pk=conversation.pk).state == "closed"


def test_coming_back_within_the_grace_keeps_the_live_chat(settings):
    widget = factories.make_setup()
    customer = Customer.objects.create(name="Lee")
    sessions.customer_connected(customer, widget, channel_name="chan-1")
    conversation = start(widget, customer=customer)
    sessions.customer_disconnected("chan-1")
    sessions.customer_connected(customer, widget, channel_name="chan-2")
    Conversation.objects.filter(pk=conversation.pk).update(last_message_at=timezone.now())
    assert Conversation.objects.get(pk=conversation.pk).customer_left_at is None
    assert sweep.sweep()["abandoned"] == 0


def test_persistent_chat_never_ends_because_the_customer_left():
    widget = factories.make_setup(persistent=True)
    customer = Customer.objects.create(name="Pat", subject="pat", authentication=widget.authentication)
    sessions.customer_connected(customer, widget, channel_name="chan-p")
    conversation = start(widget, customer=customer)
    sessions.customer_disconnected("chan-p")
    later = timezone.now() + timedelta(days=30)
    assert sweep.sweep(now=later)["abandoned"] == 0
    assert Conversation.objects.get(pk=conversation.pk).state == "open"


def test_agent_goes_offline_after_the_presence_grace(settings):
    settings.PARLEY_PRESENCE_GRACE = 30
    agent = factories.make_agent(presence=Presence.AVAILABLE)
    sessions.agent_connected(agent, channel_name="agent-chan")
    sessions.agent_disconnected("agent-chan")
    assert sweep.sweep()["offline"] == 0
    assert sweep.sweep(now=timezone.now() + timedelta(seconds=31))["offline"] == 1
    assert AgentProfile.objects.get(pk=agent.pk).presence == "offline"


def test_reconnecting_agent_keeps_presence(settings):
    agent = factories.make_agent(presence=Presence.BUSY)
    sessions.agent_connected(agent, channel_name="a1")
    sessions.agent_disconnected("a1")
    sessions.agent_connected(agent, channel_name="a2")
    sessions.heartbeat(["a2"])
    assert sweep.sweep(now=timezone.now() + timedelta(seconds=31))["offline"] == 0
    assert AgentProfile.objects.get(pk=agent.pk).presence == "busy"


def test_sockets_of_a_dead_process_are_swept():
    agent = factories.make_agent()
    sessions.agent_connected(agent, channel_name="dead-process-socket")
    Connection.objects.filter(channel_name="dead-process-socket").update(
        heartbeat_at=timezone.now() - timedelta(minutes=5)
    )
    assert sweep.sweep()["stale"] == 1
    assert not Connection.objects.exists()


def test_agent_of_a_dead_process_goes_offline_after_the_grace(settings):
    settings.PARLEY_PRESENCE_GRACE = 30
    agent = factories.make_agent(presence=Presence.AVAILABLE)
    sessions.agent_connected(agent, channel_name="died-with-its-process")
    Connection.objects.update(heartbeat_at=timezone.now() - timedelta(minutes=5))
    sweep.sweep()
    assert AgentProfile.objects.get(pk=agent.pk).presence == "available"  # the grace starts now
    assert sweep.sweep(now=timezone.now() + timedelta(seconds=31))["offline"] == 1
    assert AgentProfile.objects.get(pk=agent.pk).presence == "offline"

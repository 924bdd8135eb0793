"""Invariants of transfers over random sequences of events (hypothesis): arrivals, presence changes,
set aside, resume, end, consultations, transfers to agents and queues, and agents going offline.

After every event: no agent is over capacity because of a transfer, the capacity bookkeeping matches the
conversations that hold capacity (so none is counted on two agents), an open conversation has no agent,
an assigned one has exactly one and is not consulted on by it, and every routed assignment found room.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.utils import timezone
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from conversations.actions import consult, lifecycle, messages, sessions, sweep, transfer
from conversations.errors import ServiceError
from conversations.models import Consultation, Conversation, Customer, State
from routing.models import AgentProfile, Presence, Queue
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)

CUSTOMERS = 5
AGENTS = 3

writes = st.tuples(st.just("write"), st.integers(0, CUSTOMERS - 1), st.integers(0, 1))
to_agents = st.tuples(st.just("to_agent"), st.integers(0, AGENTS - 1), st.integers(0, 2), st.integers(0, AGENTS - 1))
# arrivals and transfers to agents weigh double: they are what fills agents
events = st.one_of(
    writes,
    writes,
    to_agents,
    st.tuples(st.just("presence"), st.integers(0, AGENTS - 1), st.sampled_from([*Presence.values, Presence.AVAILABLE])),
    st.tuples(st.sampled_from(["set_aside", "resume", "end"]), st.integers(0, AGENTS - 1)),
    to_agents,
    st.tuples(st.just("to_queue"), st.integers(0, AGENTS - 1), st.integers(0, 2), st.integers(0, 1)),
    st.tuples(st.just("consult"), st.integers(0, AGENTS - 1), st.integers(0, AGENTS - 1)),
    st.tuples(st.just("gone"), st.integers(0, AGENTS - 1)),
)


class World:
    """Two queues; a persistent and a live workstream in the first; three agents of different capacity."""

    def __init__(self) -> None:
        persistent = factories.make_setup(persistent=True, capacity_units=40)
        queue_a = persistent.workstream.queue
        live = factories.make_setup(capacity_units=30)
        old = live.workstream.queue
        live.workstream.queue = queue_a
        live.workstream.save()
        old.delete()
        queue_b = Queue.objects.create(name=f"Second {uuid.uuid4().hex[:8]}")
        self.widgets = [persistent, live]
        self.queues = [queue_a, queue_b]
        self.agents = [
            factories.make_agent(capacity=100, presence=Presence.AVAILABLE, queues=[queue_a, queue_b]),
            factories.make_agent(capacity=80, presence=Presence.AVAILABLE, queues=[queue_a]),
            factories.make_agent(capacity=50, presence=Presence.BUSY, queues=[queue_a, queue_b]),
        ]
        self.customers = [Customer.objects.create(name=f"Customer {i}") for i in range(CUSTOMERS)]

    def mine(self, agent: AgentProfile, *states: str) -> list[Conversation]:
        return list(Conversation.objects.filter(agent=agent, state__in=states).order_by("created_at", "id"))

    def apply(self, event: tuple) -> None:
        kind = event[0]
        try:
            if kind == "write":
                customer, widget = self.customers[event[1]], self.widgets[event[2]]
                messages.customer_message(customer, widget, client_id=uuid.uuid4().hex, text="hello")
            elif kind == "presence":
                sessions.set_presence(self.agents[event[1]], event[2])
            elif kind == "to_agent":
                self._transfer(event[1], event[2], {"agent_id": str(self.agents[event[3]].pk)})
            elif kind == "to_queue":
                self._transfer(event[1], event[2], {"queue_id": str(self.queues[event[3]].pk)})
            elif kind == "consult":
                agent = self.agents[event[1]]
                if conversations := self.mine(agent, State.ACTIVE, State.WAITING):
                    consult.invite(agent, conversations[0].id, str(self.agents[event[2]].pk))
            elif kind == "gone":
                self._gone(self.agents[event[1]])
            else:
                self._lifecycle(kind, self.agents[event[1]])
        except ServiceError:
            pass  # a refused action changes nothing; the invariants below still hold

    def _transfer(self, agent_index: int, nth: int, to: dict) -> None:
        agent = self.agents[agent_index]
        conversations = self.mine(agent, State.ACTIVE, State.WAITING)
        if not conversations:
            return
        transfer.transfer(conversations[nth % len(conversations)].id, to, by=agent, note="over to you")
        if "agent_id" in to:
            target = AgentProfile.objects.get(pk=int(to["agent_id"]))
            assert target.used_capacity <= target.capacity, "a transfer never puts an agent over capacity"

    def _gone(self, agent: AgentProfile) -> None:
        """The agent's workspace closed past the presence grace: offline, their live chats routed again."""
        AgentProfile.objects.filter(pk=agent.pk).update(disconnected_at=timezone.now())
        later = timezone.now() + timedelta(seconds=django_settings.PARLEY_PRESENCE_GRACE + 1)
        sweep.set_gone_agents_offline(later)
        sweep.requeue_without_agent(later)

    def _lifecycle(self, kind: str, agent: AgentProfile) -> None:
        states = {"set_aside": (State.ACTIVE,), "resume": (State.WAITING,), "end": (State.ACTIVE, State.WAITING)}
        conversations = self.mine(agent, *states[kind])
        if conversations:
            action = {"set_aside": lifecycle.set_waiting, "resume": lifecycle.resume, "end": lifecycle.end}[kind]
            action(agent, conversations[0].id)


def check(world: World) -> None:
    for agent in AgentProfile.objects.filter(pk__in=[a.pk for a in world.agents]):
        held = Conversation.objects.filter(agent=agent, state__in=[State.ACTIVE, State.WRAP_UP])
        assert agent.used_capacity == sum(c.capacity_units for c in held), "capacity counted once, on its agent"
    for conversation in Conversation.objects.filter(workstream__in=[w.workstream for w in world.widgets]):
        if conversation.state == State.OPEN:
            assert conversation.agent_id is None, "an open conversation has no agent"
        elif conversation.state != State.CLOSED:
            assert conversation.agent_id is not None, "an assigned conversation has its agent"
            assert not Consultation.objects.filter(
                conversation=conversation, agent_id=conversation.agent_id, ended_at__isnull=True
            ).exists(), "its agent does not also consult on it"
        else:
            assert not Consultation.objects.filter(conversation=conversation, ended_at__isnull=True).exists()


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.lists(events, min_size=10, max_size=30))
# two agents transfer to the smallest one: the third transfer would overfill it
@example(
    [("write", 0, 0), ("write", 1, 1), ("write", 2, 0), ("write", 3, 1)]
    + [("to_agent", 0, 0, 2), ("to_agent", 1, 0, 2)] * 2
)
def test_transfers_never_overfill_an_agent_nor_leave_a_conversation_with_two_agents(sequence):
    world = World()
    for event in sequence:
        world.apply(event)
        check(world)

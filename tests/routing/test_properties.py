"""Invariants of work distribution over random sequences of events
(hypothesis): arrivals, presence changes, set aside, resume, end, close,
customer end, picks and timer sweeps.

Every assignment is observed as it happens (a spy around
``assignment.activate``, called with both rows locked) and checked against the
rules; after every event the bookkeeping is checked against the database.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conversations.actions import assignment, lifecycle, messages, sessions, sweep
from conversations.errors import ServiceError
from conversations.models import Conversation, Customer, State
from routing.models import AgentProfile, Presence, Queue
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)

CUSTOMERS = 6
AGENTS = 3
WIDGETS = 4  # persistent push, live push, persistent push (round robin queue), live pick

events = st.one_of(
    st.tuples(st.just("write"), st.integers(0, CUSTOMERS - 1), st.integers(0, WIDGETS - 1)),
    st.tuples(st.just("presence"), st.integers(0, AGENTS - 1), st.sampled_from([*Presence.values, Presence.AVAILABLE])),
    st.tuples(st.sampled_from(["set_aside", "resume", "end", "close", "pick"]), st.integers(0, AGENTS - 1)),
    st.tuples(st.just("customer_end"), st.integers(0, CUSTOMERS - 1), st.integers(0, WIDGETS - 1)),
    st.tuples(st.just("expire_wrap_up")),
)


class World:
    """Two queues, four widgets, three agents, six customers."""

    def __init__(self) -> None:
        persistent = factories.make_setup(persistent=True, capacity_units=40, wrap_up_seconds=60)
        queue_a = persistent.workstream.queue
        live = factories.make_setup(capacity_units=30)
        self._share_queue(live, queue_a)
        round_robin = factories.make_setup(persistent=True, capacity_units=25, assignment_method="round_robin")
        queue_b = round_robin.workstream.queue
        pick = factories.make_setup(distribution="pick", capacity_units=50)
        self._share_queue(pick, queue_b)
        self.widgets = [persistent, live, round_robin, pick]
        self.agents = [
            factories.make_agent(capacity=100, presence=Presence.AVAILABLE, queues=[queue_a, queue_b]),
            factories.make_agent(capacity=80, presence=Presence.AVAILABLE, queues=[queue_a]),
            factories.make_agent(capacity=60, queues=[queue_b]),
        ]
        self.customers = [Customer.objects.create(name=f"Customer {i}") for i in range(CUSTOMERS)]
        self.queue_ids = [queue_a.pk, queue_b.pk]
        self.assigned_to: dict[uuid.UUID, int] = {}

    @staticmethod
    def _share_queue(widget, queue: Queue) -> None:
        old = widget.workstream.queue
        widget.workstream.queue = queue
        widget.workstream.save()
        old.delete()

    def conversations_of(self, agent: AgentProfile, *states: str) -> list[Conversation]:
        return list(Conversation.objects.filter(agent=agent, state__in=states).order_by("created_at", "id"))

    def apply(self, event: tuple) -> None:
        kind = event[0]
        try:
            if kind == "write":
                customer, widget = self.customers[event[1]], self.widgets[event[2]]
                messages.customer_message(customer, widget, client_id=uuid.uuid4().hex, text="hello")
            elif kind == "customer_end":
                lifecycle.customer_end(self.customers[event[1]], self.widgets[event[2]])
            elif kind == "presence":
                sessions.set_presence(self.agents[event[1]], event[2])
            elif kind == "expire_wrap_up":
                Conversation.objects.filter(state=State.WRAP_UP).update(
                    wrap_up_started_at=timezone.now() - timedelta(days=1)
                )
                sweep.sweep()
            else:
                self._agent_action(kind, self.agents[event[1]])
        except ServiceError:
            pass  # a refused action changes nothing; the invariants below still hold

    def _agent_action(self, kind: str, agent: AgentProfile) -> None:
        if kind == "pick":
            queued = Conversation.objects.filter(
                queue__members=agent, state=State.OPEN, workstream__distribution="pick"
            ).order_by("queued_at")
            if (conversation := queued.first()) is not None:
                assignment.pick(agent, conversation.id)
            return
        states = {
            "set_aside": (State.ACTIVE,),
            "resume": (State.WAITING,),
            "end": (State.ACTIVE, State.WAITING),
            "close": (State.WRAP_UP,),
        }[kind]
        mine = self.conversations_of(agent, *states)
        if not mine:
            return
        action = {"set_aside": lifecycle.set_waiting, "resume": lifecycle.resume, "end": lifecycle.end}.get(
            kind, lifecycle.close
        )
        action(agent, mine[0].id)


def _eligible(queue_id: int, units: int) -> list[AgentProfile]:
    """Members who may take ``units`` now, computed independently of the router."""
    return [
        agent
        for agent in AgentProfile.objects.filter(queues__id=queue_id, presence=Presence.AVAILABLE)
        if agent.capacity - agent.used_capacity >= units
    ]


def _check_assignment(world: World, conversation: Conversation, agent: AgentProfile) -> None:
    """Called inside the routing transaction, before the conversation becomes active."""
    locked = AgentProfile.objects.get(pk=agent.pk)
    units = conversation.workstream.capacity_units
    assert conversation.state == State.OPEN and conversation.agent_id is None, "never two agents"
    assert conversation.pk not in world.assigned_to, "never assigned twice"
    assert locked.used_capacity + units <= locked.capacity, "never over capacity"
    assert locked.queues.filter(pk=conversation.queue_id).exists()
    world.assigned_to[conversation.pk] = agent.pk
    if conversation.workstream.distribution != "push":
        return
    assert locked.presence == Presence.AVAILABLE
    eligible = _eligible(conversation.queue_id, units)
    assert locked.pk in {a.pk for a in eligible}
    if conversation.queue.assignment_method == Queue.AssignmentMethod.HIGHEST_CAPACITY:
        assert locked.free_capacity == max(a.free_capacity for a in eligible), "highest capacity"
    else:
        never = [a for a in eligible if a.last_assigned_at is None]
        if locked.last_assigned_at is not None:
            assert not never, "round robin: someone never assigned goes first"
            assert locked.last_assigned_at == min(a.last_assigned_at for a in eligible), "round robin"
    older = Conversation.objects.filter(
        queue_id=conversation.queue_id, state=State.OPEN, workstream__distribution="push"
    ).filter(queued_at__lt=conversation.queued_at)
    for other in older.select_related("workstream"):
        assert not _eligible(other.queue_id, other.workstream.capacity_units), "oldest first"


def _check_state(world: World) -> None:
    for agent in AgentProfile.objects.filter(pk__in=[a.pk for a in world.agents]):
        held = Conversation.objects.filter(agent=agent, state__in=[State.ACTIVE, State.WRAP_UP])
        assert agent.used_capacity == sum(c.capacity_units for c in held), "capacity bookkeeping"
    for conversation in Conversation.objects.filter(queue_id__in=world.queue_ids):
        if conversation.agent_id is not None:
            assert world.assigned_to[conversation.pk] == conversation.agent_id, "same agent kept"
        elif conversation.state == State.OPEN and conversation.workstream.distribution == "push":
            assert not _eligible(conversation.queue_id, conversation.workstream.capacity_units), "nobody idles"


@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.lists(events, min_size=5, max_size=30))
def test_routing_invariants_hold_over_any_sequence_of_events(monkeypatch, sequence):
    world = World()
    real_activate = assignment.activate

    def spy(conversation, agent, **kwargs):
        _check_assignment(world, conversation, agent)
        return real_activate(conversation, agent, **kwargs)

    monkeypatch.setattr(assignment, "activate", spy)
    for event in sequence:
        world.apply(event)
        _check_state(world)

"""The same named people in every test, built through the actions the product itself uses.

- carol: the customer (signed in where the widget needs it, a visitor otherwise);
- alice and bob: agents of the widget's queue;
- mallory: an agent of no queue of this widget, the outsider who must be refused;
- ada: the administrator (a superuser of the admin center).

``cast()`` builds them around one widget; ``Cast.conversation_in(state)`` brings carol's conversation to
a state through the actions (carol writes, routing or a pick assigns it to alice, alice sets it aside,
ends and closes it), so a test starts from what a real conversation would look like.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from django.contrib.auth import get_user_model

from conversations import identity
from conversations.actions import assignment, lifecycle, messages, sessions
from conversations.models import Conversation, Customer, State
from routing.models import AgentProfile, Presence
from tests import factories

_messages = itertools.count(1)


@dataclass
class Cast:
    widget: object
    carol: Customer
    alice: AgentProfile
    bob: AgentProfile
    mallory: AgentProfile
    ada: object

    @property
    def workstream(self):
        return self.widget.workstream

    @property
    def queue(self):
        return self.widget.workstream.queue

    def carol_writes(self, text: str = "Hello, I need help") -> Conversation:
        _message, conversation, _stored = messages.customer_message(
            self.carol, self.widget, client_id=f"carol-{next(_messages)}", text=text
        )
        return Conversation.objects.get(pk=conversation.pk)

    def conversation_in(self, state: str) -> Conversation:
        """Carol's conversation in ``state`` (waiting needs a persistent workstream), moved there by the
        actions; from ``active`` on it is alice's."""
        conversation = self.carol_writes()
        if state == State.OPEN:
            return conversation
        if self.workstream.distribution == "pick":
            assignment.pick(self.alice, conversation.id)
        else:
            sessions.set_presence(self.alice, Presence.AVAILABLE)
        conversation.refresh_from_db()
        assert conversation.state == State.ACTIVE and conversation.agent_id == self.alice.id
        if state == State.WAITING:
            lifecycle.set_waiting(self.alice, conversation.id)
        elif state in (State.WRAP_UP, State.CLOSED):
            lifecycle.end(self.alice, conversation.id)
            conversation.refresh_from_db()
            if state == State.CLOSED and conversation.state == State.WRAP_UP:
                lifecycle.close(self.alice, conversation.id)
        conversation.refresh_from_db()
        assert conversation.state == state
        return conversation


def cast(
    *,
    persistent: bool = False,
    distribution: str = "push",
    wrap_up_seconds: int = 0,
    capacity_units: int = 50,
) -> Cast:
    """Carol, alice, bob, mallory and ada around one new widget (alice and bob offline, in its queue)."""
    widget = factories.make_setup(
        persistent=persistent,
        distribution=distribution,
        wrap_up_seconds=wrap_up_seconds,
        capacity_units=capacity_units,
    )
    queue = widget.workstream.queue
    alice = factories.make_agent("alice", name="Alice Agent", queues=[queue])
    bob = factories.make_agent("bob", name="Bob Agent", queues=[queue])
    mallory = factories.make_agent("mallory", name="Mallory Outsider")
    ada = get_user_model().objects.create_superuser("ada", "ada@example.com", "pw-ada")
    if widget.authentication is not None:
        carol = identity.authenticated_customer(
            widget.authentication, {"sub": "carol", "name": "Carol Customer", "email": "carol@example.com"}
        )
    else:
        carol = identity.visitor_customer(None)
        Customer.objects.filter(pk=carol.pk).update(name="Carol Customer")
        carol.refresh_from_db()
    return Cast(widget=widget, carol=carol, alice=alice, bob=bob, mallory=mallory, ada=ada)

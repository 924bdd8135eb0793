"""The state machine as one table: for each action, the states it may start from and where it leads.

Every guard reads this table (``guard``), the state-level moves are derived from it
(``ALLOWED_TRANSITIONS``), and the agent summaries carry the agent frames the table allows now
(``allowed_actions``), so the workspace enables its buttons from the same rules. ../PROTOCOL.md
"Conversation states" describes them in words; tests/conversations/test_state_machine.py checks every
(state, action) pair against this table.

Features that add agent frames (notes, transfer, consult, offers) add their rows here.
"""

from __future__ import annotations

from dataclasses import dataclass

from admin_center.models import Workstream

from ..errors import ALREADY_ASSIGNED, NOT_ALLOWED, ServiceError
from ..models import Conversation, Mode, Role, State

OPEN, ACTIVE, WAITING, WRAP_UP, CLOSED = State.OPEN, State.ACTIVE, State.WAITING, State.WRAP_UP, State.CLOSED


@dataclass(frozen=True)
class Rule:
    """One action: the states it may start from, the states it may lead to (empty: no state change),
    whether the viewing agent sends it as a frame, and the refusal when the state does not allow it."""

    starts: frozenset[str]
    leads_to: frozenset[str]
    agent_frame: bool
    refusal: str
    code: str = NOT_ALLOWED
    mode: str | None = None  # only conversations of this mode
    mode_refusal: str = ""
    distribution: str | None = None  # only conversations of workstreams with this distribution
    distribution_refusal: str = ""
    assigned: bool = True  # an agent frame for the conversation's own agent (False: for queue members)
    offer: bool = False  # an agent frame only for the agent the conversation is offered to


def _states(*states: str) -> frozenset[str]:
    return frozenset(states)


TABLE: dict[str, Rule] = {
    # agent frames
    "send": Rule(
        _states(ACTIVE),
        _states(),
        agent_frame=True,
        refusal="You can write only in an active conversation (this one is {state}).",
    ),
    "set_waiting": Rule(
        _states(ACTIVE),
        _states(WAITING),
        agent_frame=True,
        refusal="Only an active conversation can be set aside (this one is {state}).",
        mode=Mode.PERSISTENT,
        mode_refusal="A live conversation has no waiting state: end it instead.",
    ),
    "resume": Rule(
        _states(WAITING),
        _states(ACTIVE),
        agent_frame=True,
        refusal="Only a waiting conversation can be resumed (this one is {state}).",
    ),
    "end": Rule(
        _states(ACTIVE, WAITING),
        _states(WRAP_UP, CLOSED),
        agent_frame=True,
        refusal="Only an active or waiting conversation can be ended (this one is {state}).",
    ),
    "close": Rule(
        _states(WRAP_UP),
        _states(CLOSED),
        agent_frame=True,
        refusal="Only a conversation in wrap-up can be closed (this one is {state}).",
    ),
    # agents working together (conversations/actions/transfer.py, consult.py, notes.py)
    "transfer": Rule(
        _states(ACTIVE, WAITING),
        _states(ACTIVE, OPEN),
        agent_frame=True,
        refusal="Only an active or waiting conversation can be transferred (this one is {state}).",
    ),
    "consult": Rule(
        _states(ACTIVE, WAITING),
        _states(),
        agent_frame=True,
        refusal="You can ask for help only on an active or waiting conversation (this one is {state}).",
    ),
    "note": Rule(
        _states(OPEN, ACTIVE, WAITING, WRAP_UP),
        _states(),
        agent_frame=True,
        refusal="A closed conversation takes no more notes.",
    ),
    # not offered by ``allowed_actions`` (it depends on who consults, not on the state): the consultant's
    # summaries list it (consult.consultant_summary), the assigned agent sends it with ``agent_id``
    "leave_consult": Rule(
        _states(OPEN, ACTIVE, WAITING, WRAP_UP, CLOSED),
        _states(),
        agent_frame=False,
        refusal="",
    ),
    "pick": Rule(
        _states(OPEN),
        _states(ACTIVE),
        agent_frame=True,
        refusal="Someone else has already taken this conversation.",
        code=ALREADY_ASSIGNED,
        distribution=Workstream.Distribution.PICK,
        distribution_refusal="This conversation is assigned by routing, not picked.",
        assigned=False,
    ),
    # offers (a workstream without auto-accept, conversations/actions/offers.py): the offered agent answers
    "accept": Rule(
        _states(OPEN),
        _states(ACTIVE),
        agent_frame=True,
        refusal="This conversation is not waiting for an answer to an offer (it is {state}).",
        distribution=Workstream.Distribution.PUSH,
        distribution_refusal="This conversation is picked by agents, not offered.",
        assigned=False,
        offer=True,
    ),
    "decline": Rule(
        _states(OPEN),
        _states(),
        agent_frame=True,
        refusal="This conversation is not waiting for an answer to an offer (it is {state}).",
        distribution=Workstream.Distribution.PUSH,
        distribution_refusal="This conversation is picked by agents, not offered.",
        assigned=False,
        offer=True,
    ),
    # routing, customers, the admin center and timers
    "route": Rule(
        _states(OPEN),
        _states(ACTIVE),
        agent_frame=False,
        refusal="Only an open conversation can be assigned (this one is {state}).",
        distribution=Workstream.Distribution.PUSH,
        distribution_refusal="This conversation is picked by agents, not routed.",
    ),
    "customer_end": Rule(
        _states(OPEN, ACTIVE),  # live chat has no waiting state
        _states(WRAP_UP, CLOSED),
        agent_frame=False,
        refusal="There is no conversation to end.",
        mode=Mode.LIVE,
        mode_refusal="Only an agent can end a persistent conversation.",
    ),
    "reassign": Rule(
        _states(ACTIVE, WAITING, WRAP_UP),
        _states(),
        agent_frame=False,
        refusal="Only an assigned conversation can be reassigned.",
    ),
    "system_end": Rule(
        _states(OPEN, ACTIVE, WAITING),
        _states(WRAP_UP, CLOSED),
        agent_frame=False,
        refusal="Only a current conversation can be ended (this one is {state}).",
    ),
    # the agent of a live conversation went offline (conversations/actions/transfer.py)
    "requeue": Rule(
        _states(ACTIVE),
        _states(OPEN),
        agent_frame=False,
        refusal="Only an active conversation goes back to its queue (this one is {state}).",
        mode=Mode.LIVE,
        mode_refusal="A persistent conversation stays with its agent.",
    ),
    "system_close": Rule(
        _states(OPEN, ACTIVE, WAITING, WRAP_UP),
        _states(CLOSED),
        agent_frame=False,
        refusal="This conversation is closed already.",
    ),
}

# Which state may become which: every move some action of the table makes (an open conversation that
# ends goes straight to closed: it has no agent to wrap up).
ALLOWED_TRANSITIONS: dict[str, frozenset[str]] = {
    state: frozenset(
        target
        for rule in TABLE.values()
        if state in rule.starts
        for target in rule.leads_to
        if not (state == OPEN and target == WRAP_UP)
    )
    for state in State.values
}

# The states in which a conversation holds its agent's capacity.
HOLDS_CAPACITY = frozenset({ACTIVE, WRAP_UP})

AGENT_FRAMES = tuple(name for name, rule in TABLE.items() if rule.agent_frame)


def allows(action: str, conversation: Conversation) -> bool:
    """Whether the table lets ``action`` run on ``conversation`` as it is now."""
    rule = TABLE[action]
    return (
        conversation.state in rule.starts
        and (rule.mode is None or conversation.mode == rule.mode)
        and (rule.distribution is None or conversation.workstream.distribution == rule.distribution)
    )


def guard(action: str, conversation: Conversation) -> None:
    """Raise the action's refusal unless the table lets it run on ``conversation`` now (its row locked
    by the caller)."""
    rule = TABLE[action]
    if rule.mode is not None and conversation.mode != rule.mode:
        raise ServiceError(NOT_ALLOWED, rule.mode_refusal)
    if conversation.state not in rule.starts:
        raise ServiceError(rule.code, rule.refusal.format(state=conversation.state))
    if rule.distribution is not None and conversation.workstream.distribution != rule.distribution:
        raise ServiceError(NOT_ALLOWED, rule.distribution_refusal)


def allowed_actions(conversation: Conversation, agent_id, *, offered_to=None) -> list[str]:
    """The agent frames the agent ``agent_id`` may send for ``conversation`` now, in table order: its own
    agent's actions for an assigned conversation, ``pick`` for an open one in a pick queue (membership
    of the queue is what put it in front of the agent), ``accept``/``decline`` for the agent the open
    conversation is offered to (``offered_to``, an agent id)."""
    mine = conversation.agent_id is not None and conversation.agent_id == agent_id
    offered = offered_to is not None and offered_to == agent_id
    return [
        name
        for name, rule in TABLE.items()
        if rule.agent_frame
        and (offered if rule.offer else rule.assigned == mine and (mine or conversation.agent_id is None))
        and allows(name, conversation)
    ]


@dataclass(frozen=True)
class Actor:
    """Who caused a change, as the event log records it."""

    role: str
    name: str


SYSTEM = Actor(Role.SYSTEM, "Parley")


def agent_actor(agent) -> Actor:
    return Actor(Role.AGENT, agent.display_name)


def customer_actor(customer) -> Actor:
    return Actor(Role.CUSTOMER, customer.display_name)


def admin_actor(name: str) -> Actor:
    return Actor(Role.ADMIN, name)

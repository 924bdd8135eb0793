"""Every (state, action) pair against the one transition table (conversations/actions/transitions.py).

``EXPECTED`` is the state machine of ../PROTOCOL.md "Conversation states" written out by hand: for each
action and each state, where the conversation ends up or which error refuses it. The tests check that
the table says the same, that each action does it on a real conversation brought to that state by the
actions, and that the agent summaries offer exactly the agent frames that would succeed. A feature that
adds a row to the table adds its line here too.
"""

from __future__ import annotations

import pytest

from conversations.actions import assignment, lifecycle, messages, payloads, sessions, transitions
from conversations.errors import ServiceError
from conversations.models import Conversation, State
from routing.models import Presence
from tests.personas import cast

pytestmark = pytest.mark.django_db(transaction=True)

OPEN, ACTIVE, WAITING, WRAP_UP, CLOSED = State.OPEN, State.ACTIVE, State.WAITING, State.WRAP_UP, State.CLOSED
UNCHANGED = "unchanged"  # the timers' actions skip a conversation that no longer qualifies

# action -> state -> the state after it, or the refusal's error code
EXPECTED = {
    "send": {
        OPEN: "not_allowed",
        ACTIVE: ACTIVE,
        WAITING: "not_allowed",
        WRAP_UP: "not_allowed",
        CLOSED: "not_allowed",
    },
    "set_waiting": {
        OPEN: "not_allowed",
        ACTIVE: WAITING,
        WAITING: "not_allowed",
        WRAP_UP: "not_allowed",
        CLOSED: "not_allowed",
    },
    "resume": {
        OPEN: "not_allowed",
        ACTIVE: "not_allowed",
        WAITING: ACTIVE,
        WRAP_UP: "not_allowed",
        CLOSED: "not_allowed",
    },
    "end": {OPEN: "not_allowed", ACTIVE: WRAP_UP, WAITING: WRAP_UP, WRAP_UP: "not_allowed", CLOSED: "not_allowed"},
    "close": {
        OPEN: "not_allowed",
        ACTIVE: "not_allowed",
        WAITING: "not_allowed",
        WRAP_UP: CLOSED,
        CLOSED: "not_allowed",
    },
    "pick": {
        OPEN: ACTIVE,
        ACTIVE: "already_assigned",
        WAITING: "already_assigned",
        WRAP_UP: "already_assigned",
        CLOSED: "already_assigned",
    },
    "route": {OPEN: ACTIVE, ACTIVE: UNCHANGED, WAITING: UNCHANGED, WRAP_UP: UNCHANGED, CLOSED: UNCHANGED},
    "reassign": {OPEN: "not_allowed", ACTIVE: ACTIVE, WAITING: WAITING, WRAP_UP: WRAP_UP, CLOSED: "not_allowed"},
    "customer_end": {OPEN: CLOSED, ACTIVE: WRAP_UP, WAITING: "not_allowed", WRAP_UP: "not_found", CLOSED: "not_found"},
    "system_end": {OPEN: CLOSED, ACTIVE: WRAP_UP, WAITING: WRAP_UP, WRAP_UP: UNCHANGED, CLOSED: UNCHANGED},
    "system_close": {OPEN: CLOSED, ACTIVE: CLOSED, WAITING: CLOSED, WRAP_UP: CLOSED, CLOSED: UNCHANGED},
}
# Rows of agents working together (conversations/actions/transfer.py, consult.py, notes.py): where the table
# lets them start; their outcomes are tested with their features (tests/conversations/test_*together*).
ALLOWED = "allowed"
EXPECTED |= {
    "transfer": {OPEN: "not_allowed", ACTIVE: ALLOWED, WAITING: ALLOWED, WRAP_UP: "not_allowed", CLOSED: "not_allowed"},
    "consult": {OPEN: "not_allowed", ACTIVE: ALLOWED, WAITING: ALLOWED, WRAP_UP: "not_allowed", CLOSED: "not_allowed"},
    "note": {OPEN: ALLOWED, ACTIVE: ALLOWED, WAITING: ALLOWED, WRAP_UP: ALLOWED, CLOSED: "not_allowed"},
}
RUN_HERE = (
    "send",
    "set_waiting",
    "resume",
    "end",
    "close",
    "pick",
    "route",
    "reassign",
    "customer_end",
    "system_end",
    "system_close",
)
PAIRS = [(state, action) for action in RUN_HERE for state in State.values]
AGENT_FRAMES = ("send", "set_waiting", "resume", "end", "close", "transfer", "consult", "note")


def _succeeds(outcome: str) -> bool:
    return outcome in State.values or outcome == ALLOWED


def _people(action: str, state: str):
    """The cast for a pair: pick needs a pick workstream; a customer ends live chat (a waiting
    conversation exists only in persistent chat, where the customer may not end it)."""
    if action == "pick":
        return cast(persistent=True, distribution="pick", wrap_up_seconds=60)
    if action == "customer_end" and state != WAITING:
        return cast(persistent=False, wrap_up_seconds=60)
    return cast(persistent=True, wrap_up_seconds=60)


def _run(action: str, people, conversation: Conversation):
    alice, carol, widget = people.alice, people.carol, people.widget
    if action == "send":
        return messages.agent_message(alice, conversation.id, client_id="alice-1", text="Here to help")
    if action == "pick":
        return assignment.pick(alice, conversation.id)
    if action == "route":  # bob comes online: routing assigns what is open in his queue
        return sessions.set_presence(people.bob, Presence.AVAILABLE)
    if action == "reassign":
        return assignment.reassign(conversation, people.bob, actor_name="Ada")
    if action == "customer_end":
        return lifecycle.customer_end(carol, widget)
    if action == "system_end":
        return lifecycle.end_by_system(conversation.id, "test")
    if action == "system_close":
        return lifecycle.close_by_system(conversation.id, "test")
    return getattr(lifecycle, action)(alice, conversation.id)


def test_the_table_has_the_starting_states_the_protocol_gives_each_action():
    for action, outcomes in EXPECTED.items():
        starts = {state for state, outcome in outcomes.items() if _succeeds(outcome) or outcome == UNCHANGED}
        if action.startswith("system_") or action == "route":  # the timers and routing skip, not refuse
            starts = {state for state, outcome in outcomes.items() if _succeeds(outcome)}
        assert transitions.TABLE[action].starts == starts, action


def test_the_state_moves_derived_from_the_table_include_the_protocols_and_nothing_leaves_closed():
    moves = transitions.ALLOWED_TRANSITIONS
    for frm, to in {
        OPEN: {ACTIVE, CLOSED},
        ACTIVE: {WAITING, WRAP_UP, CLOSED},
        WAITING: {ACTIVE, WRAP_UP, CLOSED},
        WRAP_UP: {CLOSED},
    }.items():
        assert to <= moves[frm], frm
    assert moves[WRAP_UP] == {CLOSED}
    assert moves[CLOSED] == set()
    assert WRAP_UP not in moves[OPEN]


@pytest.mark.parametrize(("state", "action"), PAIRS)
def test_each_action_in_each_state_does_what_the_table_says(state, action):
    people = _people(action, state)
    conversation = people.conversation_in(state)
    expected = EXPECTED[action][state]
    if expected in State.values or expected == UNCHANGED:
        result = _run(action, people, conversation)
        if expected == UNCHANGED and action != "route":
            assert result is False
        conversation.refresh_from_db()
        assert conversation.state == (state if expected == UNCHANGED else expected)
        if action == "reassign":
            assert conversation.agent_id == people.bob.id
    else:
        with pytest.raises(ServiceError) as refused:
            _run(action, people, conversation)
        assert refused.value.code == expected
        conversation.refresh_from_db()
        assert conversation.state == state


@pytest.mark.parametrize("state", State.values)
def test_the_agent_summary_offers_exactly_the_frames_that_would_succeed(state):
    people = cast(persistent=True, wrap_up_seconds=60)
    conversation = Conversation.objects.select_related("workstream").get(pk=people.conversation_in(state).pk)
    expected = [
        action for action in transitions.AGENT_FRAMES if action in AGENT_FRAMES and _succeeds(EXPECTED[action][state])
    ]
    if state == OPEN:  # not alice's yet: only the frames for queued conversations, none in a push queue
        expected = []
    assert payloads.agent_summary(conversation, people.alice.id)["allowed_actions"] == expected
    assert payloads.agent_summary(conversation, people.bob.id)["allowed_actions"] == []


def test_live_chat_offers_no_waiting_state():
    live = cast(persistent=False)
    active = live.conversation_in(ACTIVE)
    allowed = payloads.agent_summary(active)["allowed_actions"]
    assert [action for action in allowed if action in ("send", "set_waiting", "end")] == ["send", "end"]


def test_a_pick_queue_offers_pick_to_its_members():
    picking = cast(persistent=False, distribution="pick")
    queued = picking.conversation_in(OPEN)
    assert [item["allowed_actions"] for item in payloads.pick_queue_items(picking.alice)] == [["pick"]]
    assert payloads.agent_summary(queued, picking.alice.id)["allowed_actions"] == ["pick"]

"""Every agent command against conversations that are mine, another agent's,
unassigned, closed and nonexistent, in every state: the answers of
tests/security/authorization_matrix.py, which docs/security.md shows."""

from __future__ import annotations

import itertools
import re
import uuid
from pathlib import Path

import pytest
from channels.db import database_sync_to_async

from conversations.actions import assignment, lifecycle, messages
from conversations.models import Conversation, Customer
from tests import factories
from tests.support import sockets

from .authorization_matrix import COMMANDS, EFFECTS, MATRIX, markdown_table

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]
db = database_sync_to_async
_n = itertools.count(1)

FRAMES = {
    "open": {},
    "send": {"text": "hello"},
    "typing": {"active": True},
    "sync": {"after_seq": 0},
    "history": {"before_seq": 100, "limit": 10},
    "set_waiting": {},
    "resume": {},
    "end": {},
    "close": {},
    "pick": {},
}


def make_world():
    """alice (the agent under test) and bob share the queues of a persistent
    and a live pick-mode workstream, both with wrap-up."""
    persistent = factories.make_setup(persistent=True, distribution="pick", capacity_units=1, wrap_up_seconds=600)
    live = factories.make_setup(distribution="pick", capacity_units=1, wrap_up_seconds=600)
    queues = [persistent.workstream.queue, live.workstream.queue]
    alice = factories.make_agent(capacity=10_000, queues=queues)
    bob = factories.make_agent(capacity=10_000, queues=queues)
    return {"persistent": persistent, "live": live}, alice, bob


def make_conversation(world, row) -> str:
    """A fresh conversation in the row's situation, built through the service layer."""
    widgets, alice, bob = world
    whose, mode, state = row
    if whose == "nonexistent":
        return str(uuid.uuid4())
    widget = widgets[mode]
    customer = Customer.objects.create(name=f"Carol {next(_n)}")
    _m, conversation, _ = messages.customer_message(customer, widget, client_id="c1", text="hi")
    if whose == "unassigned":
        if state == "closed":
            if mode == "live":
                lifecycle.customer_end(customer, widget)
            else:
                lifecycle.close_by_system(conversation.id, "inactivity")
    else:
        owner = alice if whose == "mine" else bob
        assignment.pick(owner, conversation.id)
        if state == "waiting":
            lifecycle.set_waiting(owner, conversation.id)
        if state in ("wrap_up", "closed"):
            lifecycle.end(owner, conversation.id)
        if state == "closed":
            lifecycle.close(owner, conversation.id)
    conversation = Conversation.objects.get(pk=conversation.pk)
    assert (conversation.state, conversation.mode) == (state, mode), row
    return str(conversation.id)


def snapshot(conversation_id):
    return Conversation.objects.filter(pk=conversation_id).values_list("state", "agent_id", "last_seq").first()


def answer_of(frame: dict) -> str:
    return frame["code"] if frame["type"] == "error" else frame["type"]


@pytest.mark.parametrize("row", list(MATRIX), ids=["/".join(row) for row in MATRIX])
async def test_every_command_in_this_situation(row):
    world = await db(make_world)()
    _widgets, alice, _bob = world
    client, _ = await sockets.agent(alice)
    wrong = []
    for command, expected in zip(COMMANDS, MATRIX[row], strict=True):
        conversation_id = await db(make_conversation)(world, row)
        before = await db(snapshot)(conversation_id)
        frame = {"type": command, "conversation_id": conversation_id, **FRAMES[command]}
        if command == "send":
            frame["client_id"] = f"a{next(_n)}"
        req = f"q{next(_n)}"
        await client.send({**frame, "req": req})
        # Frames of one socket are handled in order: once the marker request
        # sent after it is answered, a command without an answer has had its chance.
        marker = await client.request({"type": "sync", "conversation_id": str(uuid.uuid4()), "after_seq": 0})
        assert marker["code"] == "not_found"
        answers = [f for f in client.buffer if f.get("req") == req]
        got = answer_of(answers[0]) if answers else "-"
        after = await db(snapshot)(conversation_id)
        if got != expected:
            wrong.append((command, expected, got))
        elif expected in EFFECTS.values() or expected == "ok":
            if after[0] != EFFECTS[command]:
                wrong.append((command, f"state {EFFECTS[command]}", f"state {after[0]}"))
            if after[1] != alice.id:
                wrong.append((command, "assigned to alice", after[1]))
        elif expected == "ack":
            if after != (*before[:2], before[2] + 1):
                wrong.append((command, "one more message", after))
        elif before != after:
            wrong.append((command, f"unchanged {before}", f"{after}"))
    await client.close()
    assert not wrong, f"{row}: (command, expected, got): {wrong}"


def test_docs_show_exactly_this_matrix():
    docs = (Path(__file__).resolve().parents[2] / "docs" / "security.md").read_text()
    table = re.search(r"<!-- authorization-matrix -->\n(.*?)\n<!-- /authorization-matrix -->", docs, re.S)
    assert table, "docs/security.md lacks the authorization matrix block"
    assert table.group(1).strip() == markdown_table()

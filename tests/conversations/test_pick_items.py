"""A pick-queue round builds only the items that are new or changed (conversations/actions/payloads.py)."""

from __future__ import annotations

import pytest

from conversations.actions import payloads
from conversations.models import Conversation, State
from tests.conversations.test_agent_lists import make_conversations, pick_setup

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_queue_read_again_builds_only_the_new_and_the_changed_items(monkeypatch):
    widget, _agents = pick_setup()
    queue_id = str(widget.workstream.queue_id)
    first = make_conversations(widget, 5)
    built = []
    real = payloads.agent_summaries

    def counting(conversations, agent_id=None):
        built.append(sorted(str(c.pk) for c in conversations))
        return real(conversations, agent_id)

    monkeypatch.setattr(payloads, "agent_summaries", counting)
    pages = payloads.pick_queue_pages([queue_id])
    assert [entry[1]["id"] for entry in pages[queue_id][0]] == [str(c.pk) for c in first]
    more = make_conversations(widget, 1)
    Conversation.objects.filter(pk=first[2].pk).update(last_seq=2)  # a new message in one of them
    Conversation.objects.filter(pk=first[0].pk).update(state=State.CLOSED)  # and one gone
    pages = payloads.pick_queue_pages([queue_id])
    assert built[1:] == [sorted([str(first[2].pk), str(more[0].pk)])]
    listed = [entry[1] for entry in pages[queue_id][0]]
    assert [item["id"] for item in listed] == [str(c.pk) for c in first[1:] + more]
    assert listed[1]["last_seq"] == 2 and pages[queue_id][1] == 5


def test_the_queue_frame_joined_from_the_items_json_is_the_frame_of_the_merged_items():
    import json

    widget, _agents = pick_setup()
    queue_id = str(widget.workstream.queue_id)
    make_conversations(widget, 3)
    pages = list(payloads.pick_queue_pages([queue_id]).values())
    assert json.loads(payloads.pick_queue_text(pages)) == {"type": "queue", **payloads.merge_pick_pages(pages)}

"""Long lists on the agent socket (../PROTOCOL.md "Agent socket, additions"): the pick queue capped at the
200 oldest with a total, queue news coalesced and computed once per queue, the agent's conversations paged
in ``welcome`` and fetched with ``list``, and a ``welcome`` whose queries do not grow with the list."""

from __future__ import annotations

import datetime
import itertools
import json

import pytest
from channels.db import database_sync_to_async
from django.db.backends import utils as db_utils
from django.utils import timezone

from conversations.actions import messages, payloads
from conversations.models import Conversation, Customer, Message, Mode, Rating, State
from routing.models import Presence
from tests import factories
from tests.support import sockets

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]
db = database_sync_to_async
_names = itertools.count(1)


def make_conversations(widget, count: int, *, state=State.OPEN, agent=None, at=None, step_ms: float = 1.0):
    """``count`` conversations of ``widget``'s workstream, each with one customer message: the oldest first
    (``queued_at``/``updated_at`` ``step_ms`` apart, from ``at``)."""
    workstream = widget.workstream
    start = at or timezone.now() - datetime.timedelta(hours=1)
    customers = Customer.objects.bulk_create(
        [Customer(authentication=widget.authentication, subject=f"c{next(_names)}", name="C") for _ in range(count)]
    )
    conversations = Conversation.objects.bulk_create(
        [
            Conversation(
                workstream=workstream,
                widget=widget,
                queue=workstream.queue,
                customer=customer,
                mode=Mode.PERSISTENT if workstream.persistent else Mode.LIVE,
                state=state,
                agent=agent,
                capacity_units=workstream.capacity_units if agent else 0,
                last_seq=1,
                queued_at=start + datetime.timedelta(milliseconds=i * step_ms),
                updated_at=start + datetime.timedelta(milliseconds=i * step_ms),
            )
            for i, customer in enumerate(customers)
        ]
    )
    Message.objects.bulk_create(
        [
            Message(conversation=c, seq=1, sender_role="customer", text=f"hello {i}", client_id=f"m{i}")
            for i, c in enumerate(conversations)
        ]
    )
    return conversations


def pick_setup(members: int = 1):
    widget = factories.make_setup(distribution="pick")
    queue = widget.workstream.queue
    agents = [factories.make_agent(f"p{i}", presence=Presence.AVAILABLE, queues=[queue]) for i in range(members)]
    return widget, agents


async def test_the_pick_queue_holds_the_200_oldest_items_and_the_total():
    widget, [alice] = await db(pick_setup)()
    conversations = await db(make_conversations)(widget, 205)
    agent, welcome = await sockets.agent(alice)
    assert welcome["queue_total"] == 205
    # the welcome holds the 200 oldest, within the frame size daphne sends (1 MiB)
    shown = [item["id"] for item in welcome["queue"]]
    assert shown == [str(c.pk) for c in conversations[:200]]
    assert welcome["queue"][0]["last_message"]["text"] == "hello 0"
    assert welcome["queue"][0]["allowed_actions"] == ["pick"]
    assert len(json.dumps(welcome, ensure_ascii=False, separators=(",", ":")).encode()) < 1024 * 1024
    await db(messages.customer_message)(await db(Customer.objects.create)(name="New"), widget, client_id="n", text="hi")
    news = await agent.expect("queue")
    assert news["total"] == 206 and len(news["items"]) == 200
    assert news["items"][0]["id"] == str(conversations[0].pk)  # the oldest stay; the newest is counted only
    await agent.close()


async def test_queue_changes_within_the_interval_reach_an_agent_as_one_frame(settings):
    settings.PARLEY_QUEUE_NEWS_INTERVAL = 2.0
    widget, [alice] = await db(pick_setup)()
    agent, welcome = await sockets.agent(alice)
    assert welcome["queue_total"] == 0

    async def customer_writes(name):
        customer = await db(Customer.objects.create)(name=name)
        await db(messages.customer_message)(customer, widget, client_id=name, text="hi")

    await customer_writes("first")
    assert (await agent.expect("queue"))["total"] == 1  # the first change of a quiet queue goes at once
    for name in ("second", "third", "fourth"):
        await customer_writes(name)
    news = await agent.expect("queue", timeout=5)
    assert news["total"] == 4 and len(news["items"]) == 4  # one frame for the three changes, not three
    await agent.nothing("queue", timeout=0.5)
    await agent.close()


async def test_one_queue_change_is_computed_once_for_all_the_agents_of_the_queue(monkeypatch):
    widget, agents = await db(pick_setup)(members=3)
    clients = [(await sockets.agent(profile))[0] for profile in agents]
    computed = []
    real = payloads.pick_queue_pages

    def counting(queue_ids):
        computed.append(list(queue_ids))
        return real(queue_ids)

    monkeypatch.setattr(payloads, "pick_queue_pages", counting)
    await db(messages.customer_message)(await db(Customer.objects.create)(name="Q"), widget, client_id="q", text="hi")
    frames = [await client.expect("queue") for client in clients]
    assert [frame["total"] for frame in frames] == [1, 1, 1]
    assert frames[0]["items"] == frames[1]["items"] == frames[2]["items"]
    assert computed == [[str(widget.workstream.queue_id)]]
    for client in clients:
        await client.close()


async def test_a_queue_change_reaches_the_process_once_however_many_agents_follow_the_queue(monkeypatch):
    from channels.layers import get_channel_layer

    from conversations import events
    from conversations.consumers import queue_news
    from conversations.layers import InMemoryChannelLayer

    widget, agents = await db(pick_setup)(members=3)
    clients = [(await sockets.agent(profile))[0] for profile in agents]
    layer = get_channel_layer()
    group = events.queue_group(widget.workstream.queue_id)
    hub = queue_news.hub()
    in_memory = isinstance(layer, InMemoryChannelLayer)  # (Redis keeps its groups to itself)
    if in_memory:
        assert list(layer.groups[group]) == [hub.channel]  # the hub's channel, not one per agent socket
    heard = []
    real = hub.changed
    monkeypatch.setattr(hub, "changed", lambda queue_id: (heard.append(queue_id), real(queue_id)))
    await db(messages.customer_message)(await db(Customer.objects.create)(name="Q"), widget, client_id="q", text="hi")
    assert [(await client.expect("queue"))["total"] for client in clients] == [1, 1, 1]
    assert heard == [str(widget.workstream.queue_id)]
    for client in clients:
        await client.close()
    assert hub.followers == {}
    monkeypatch.setattr(queue_news, "LEAVE_AFTER_SECONDS", 0.0)
    await hub.renew()  # nobody here follows the queue any more: the hub leaves its group
    assert hub.joined == {}
    if in_memory:
        assert group not in layer.groups


def persistent_agent():
    widget = factories.make_setup(persistent=True)
    alice = factories.make_agent("alice", presence=Presence.AVAILABLE, queues=[widget.workstream.queue])
    return widget, alice


async def test_welcome_pages_the_agents_conversations_and_list_fetches_the_rest(settings):
    settings.PARLEY_AGENT_LIST_PAGE = 10
    widget, alice = await db(persistent_agent)()
    waiting = await db(make_conversations)(widget, 25, state=State.WAITING, agent=alice)
    active = await db(make_conversations)(widget, 2, state=State.ACTIVE, agent=alice)
    agent, welcome = await sockets.agent(alice)
    assert welcome["conversations_total"] == 27
    assert welcome["conversations_more"] == {"active": False, "waiting": True, "wrap_up": False}
    listed = [c for c in welcome["conversations"] if c["state"] == "waiting"]
    assert [c["id"] for c in listed] == [str(c.pk) for c in reversed(waiting[-10:])]  # the newest first
    assert {c["id"] for c in welcome["conversations"] if c["state"] == "active"} == {str(c.pk) for c in active}
    seen = [c["id"] for c in listed]
    has_more = True
    while has_more:
        page = await agent.request({"type": "list", "state": "waiting", "before": listed[-1]["updated_at"]})
        assert page["type"] == "list" and len(page["items"]) <= 10
        assert all(item["state"] == "waiting" for item in page["items"])
        listed, has_more = page["items"], page["has_more"]
        seen += [c["id"] for c in listed]
    assert seen == [str(c.pk) for c in reversed(waiting)]  # each once, newest first
    first = await agent.request({"type": "list", "state": "active"})
    assert {c["id"] for c in first["items"]} == {str(c.pk) for c in active} and first["has_more"] is False
    await agent.close()


async def test_a_page_never_splits_conversations_updated_in_the_same_millisecond(settings):
    settings.PARLEY_AGENT_LIST_PAGE = 5
    widget, alice = await db(persistent_agent)()
    same = timezone.now().replace(microsecond=123000)
    # eight conversations within one millisecond (as the summary shows updated_at), three older ones
    waiting = await db(make_conversations)(widget, 8, state=State.WAITING, agent=alice, at=same, step_ms=0.1)
    older = await db(make_conversations)(
        widget, 3, state=State.WAITING, agent=alice, at=same - datetime.timedelta(seconds=1)
    )
    agent, welcome = await sockets.agent(alice)
    first = [c["id"] for c in welcome["conversations"]]
    assert sorted(first) == sorted(str(c.pk) for c in waiting)  # the whole millisecond, more than a page
    page = await agent.request(
        {"type": "list", "state": "waiting", "before": welcome["conversations"][-1]["updated_at"]}
    )
    assert [c["id"] for c in page["items"]] == [str(c.pk) for c in reversed(older)] and page["has_more"] is False
    await agent.close()


async def test_list_refuses_an_unknown_state_or_a_malformed_cursor():
    widget, alice = await db(persistent_agent)()
    agent, _ = await sockets.agent(alice)
    for frame in (
        {"type": "list", "state": "closed"},
        {"type": "list"},
        {"type": "list", "state": "waiting", "before": "yesterday"},
        {"type": "list", "state": "waiting", "before": 5},
    ):
        answer = await agent.request(frame)
        assert answer["type"] == "error" and answer["code"] == "bad_request", frame
    await agent.close()


class QueryCounter:
    """Counts every SQL statement of the process, in whichever thread it runs (the socket's database
    thread included)."""

    def __init__(self, monkeypatch) -> None:
        self.count = 0
        real = db_utils.CursorWrapper._execute_with_wrappers

        def counting(cursor, sql, params, many, executor):
            self.count += 1
            return real(cursor, sql, params, many, executor)

        monkeypatch.setattr(db_utils.CursorWrapper, "_execute_with_wrappers", counting)


async def test_an_agent_with_500_waiting_conversations_gets_welcome_in_at_most_15_queries(monkeypatch):
    widget, alice = await db(persistent_agent)()
    await db(make_conversations)(widget, 500, state=State.WAITING, agent=alice)
    rated = await db(make_conversations)(widget, 3, state=State.WRAP_UP, agent=alice)
    await db(Rating.objects.create)(conversation=rated[0], score=4, comment="ok")
    counter = QueryCounter(monkeypatch)
    agent, welcome = await sockets.agent(alice)
    queries = counter.count
    assert welcome["conversations_total"] == 503
    assert welcome["conversations_more"] == {"active": False, "waiting": True, "wrap_up": False}
    assert 3 < len(welcome["conversations"]) <= 50 + 3
    assert len(json.dumps(welcome, ensure_ascii=False, separators=(",", ":")).encode()) < 1024 * 1024
    assert all(c["last_message"]["text"].startswith("hello") for c in welcome["conversations"])
    ended = {c["id"]: c["rating"] for c in welcome["conversations"] if c["state"] == "wrap_up"}
    assert ended == {str(rated[0].pk): {"score": 4, "comment": "ok"}, str(rated[1].pk): None, str(rated[2].pk): None}
    assert queries <= 15, queries
    await agent.close()


async def test_list_pages_and_welcome_stay_under_1_mib_with_large_customer_contexts():
    widget, alice = await db(persistent_agent)()
    waiting = await db(make_conversations)(widget, 60, state=State.WAITING, agent=alice)
    context = {f"k{i}": "x" * 500 for i in range(30)}  # the largest context a token may carry (15 KB)
    await db(lambda: Conversation.objects.filter(pk__in=[c.pk for c in waiting]).update(context=context))()
    agent, welcome = await sockets.agent(alice)
    assert len(json.dumps(welcome, ensure_ascii=False, separators=(",", ":")).encode()) < 1024 * 1024
    seen = [c["id"] for c in welcome["conversations"]]
    assert welcome["conversations_more"]["waiting"] is True
    page = {"has_more": True, "items": welcome["conversations"]}
    while page["has_more"]:
        page = await agent.request({"type": "list", "state": "waiting", "before": page["items"][-1]["updated_at"]})
        assert len(json.dumps(page, ensure_ascii=False, separators=(",", ":")).encode()) < 1024 * 1024
        assert page["items"]
        seen += [c["id"] for c in page["items"]]
    assert seen == [str(c.pk) for c in reversed(waiting)]
    await agent.close()


async def test_a_welcome_takes_the_pick_queue_the_process_read_for_its_last_news(monkeypatch):
    widget, agents = await db(pick_setup)(members=3)
    first, _ = await sockets.agent(agents[0])
    await db(messages.customer_message)(await db(Customer.objects.create)(name="Q"), widget, client_id="q", text="hi")
    assert (await first.expect("queue"))["total"] == 1  # the round read the queue once
    computed = []
    real = payloads.pick_queue_pages

    def counting(queue_ids):
        computed.append(list(queue_ids))
        return real(queue_ids)

    monkeypatch.setattr(payloads, "pick_queue_pages", counting)
    second, welcome = await sockets.agent(agents[1])
    assert welcome["queue_total"] == 1 and len(welcome["queue"]) == 1
    assert computed == []  # nothing changed since: no second read
    await db(messages.customer_message)(await db(Customer.objects.create)(name="R"), widget, client_id="r", text="hi")
    assert (await second.expect("queue"))["total"] == 2
    third, welcome = await sockets.agent(agents[2])
    assert welcome["queue_total"] == 2
    assert computed == [[str(widget.workstream.queue_id)]]  # the change was read once, by the round
    for client in (first, second, third):
        await client.close()

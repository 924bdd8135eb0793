"""Report figures on a hand-made history (conversations/reports.py): every number below was worked out by
hand from the events written here."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from admin_center.models import Workstream
from conversations import reports
from conversations.models import Conversation, ConversationEvent, Customer, Message, Rating
from routing.models import Queue
from tests import factories

pytestmark = pytest.mark.django_db


def at(day: int, clock: str) -> datetime:
    hours, minutes, seconds = (int(part) for part in clock.split(":"))
    return datetime(2026, 3, day, hours, minutes, seconds, tzinfo=UTC)


class History:
    def __init__(self) -> None:
        self.billing = Queue.objects.create(name="Billing")
        self.delivery = Queue.objects.create(name="Delivery")
        self.alice = factories.make_agent("alice")
        self.bob = factories.make_agent("bob")
        self.live = Workstream.objects.create(name="Live", queue=self.billing)
        self.persistent = Workstream.objects.create(name="Persistent", persistent=True, same_agent=True,
                                                    queue=self.delivery)  # fmt: skip
        self.customer = Customer.objects.create(name="Carol")

    def conversation(self, queue, created, *, persistent=False, agent=None, state="closed", moves=(), agent_says=(),
                     rating=None):  # fmt: skip
        """A conversation with its transition log ``moves`` = [(from, to, time)], agent messages at
        ``agent_says`` and a customer message right after creation."""
        conversation = Conversation.objects.create(
            workstream=self.persistent if persistent else self.live, queue=queue, customer=self.customer,
            mode="persistent" if persistent else "live", state=state, agent=agent, created_at=created,
            queued_at=created, updated_at=created,
        )  # fmt: skip
        ConversationEvent.objects.create(conversation=conversation, from_state="", to_state="open",
                                         actor_role="customer", created_at=created)  # fmt: skip
        for frm, to, moment in moves:
            ConversationEvent.objects.create(conversation=conversation, from_state=frm, to_state=to,
                                             actor_role="agent", created_at=moment)  # fmt: skip
        seq = 1
        Message.objects.create(conversation=conversation, seq=seq, sender_role="customer", sender_name="Carol",
                               text="hi", sent_at=created + timedelta(seconds=1))  # fmt: skip
        for moment in agent_says:
            seq += 1
            Message.objects.create(conversation=conversation, seq=seq, sender_role="agent", sender_name="Agent",
                                   text="hello", sent_at=moment)  # fmt: skip
        if rating is not None:
            score, rated_at = rating
            Rating.objects.create(conversation=conversation, score=score, created_at=rated_at, updated_at=rated_at)
        return conversation


@pytest.fixture
def history() -> History:
    h = History()
    # c1: waited 60 s, first answer after 120 s, resolved after 600 s; active 540 s; rated 5
    h.conversation(h.billing, at(2, "10:00:00"), agent=h.alice,
                   moves=[("open", "active", at(2, "10:01:00")), ("active", "closed", at(2, "10:10:00"))],
                   agent_says=[at(2, "10:02:00"), at(2, "10:05:00")], rating=(5, at(2, "10:11:00")))  # fmt: skip
    # c2: waited 20 s, answer after 50 s, resolved after 1200 s; active 1180 s + wrap-up 300 s; rated 2
    h.conversation(h.billing, at(2, "11:00:00"), agent=h.alice,
                   moves=[("open", "active", at(2, "11:00:20")), ("active", "wrap_up", at(2, "11:20:00")),
                          ("wrap_up", "closed", at(2, "11:25:00"))],
                   agent_says=[at(2, "11:00:50")], rating=(2, at(2, "11:30:00")))  # fmt: skip
    # c3: live, the customer left before an agent joined: abandoned
    h.conversation(h.billing, at(2, "12:00:00"), moves=[("open", "closed", at(2, "12:05:00"))])
    # c4: persistent, waited 180 s, answer after 600 s, set aside and resumed, resolved after 5400 s;
    # active 1020 s + 1800 s; rated 4
    h.conversation(h.delivery, at(3, "09:00:00"), persistent=True, agent=h.bob,
                   moves=[("open", "active", at(3, "09:03:00")), ("active", "waiting", at(3, "09:20:00")),
                          ("waiting", "active", at(3, "10:00:00")), ("active", "closed", at(3, "10:30:00"))],
                   agent_says=[at(3, "09:10:00"), at(3, "10:05:00"), at(3, "10:20:00")],
                   rating=(4, at(3, "10:31:00")))  # fmt: skip
    # c5: still open, nobody answered yet
    h.conversation(h.delivery, at(3, "13:00:00"), state="open")
    # c6: the day after the range: counts nowhere
    h.conversation(h.billing, at(4, "08:00:00"), agent=h.bob,
                   moves=[("open", "active", at(4, "08:00:10")), ("active", "closed", at(4, "08:30:00"))],
                   agent_says=[at(4, "08:01:00")], rating=(1, at(4, "08:31:00")))  # fmt: skip
    return h


MARCH_2_TO_3 = reports.Filters(date(2026, 3, 2), date(2026, 3, 3))


def test_counts_by_day_and_queue(history):
    rows = reports.daily_counts(MARCH_2_TO_3)
    assert [(r["day"], r["queue"], r["created"], r["answered"], r["abandoned"], r["closed"]) for r in rows] == [
        (date(2026, 3, 2), "Billing", 3, 2, 1, 3),
        (date(2026, 3, 3), "Delivery", 2, 1, 0, 1),
    ]
    by_day = reports.totals_by_day(rows, MARCH_2_TO_3)
    assert [(r["day"], r["created"], r["closed"]) for r in by_day] == [
        (date(2026, 3, 2), 3, 3),
        (date(2026, 3, 3), 2, 1),
    ]
    assert [(r["queue"], r["created"], r["answered"]) for r in reports.totals_by_queue(rows)] == [
        ("Billing", 3, 2),
        ("Delivery", 2, 1),
    ]


def test_queue_filter_keeps_only_the_chosen_queues(history):
    only_delivery = reports.Filters(date(2026, 3, 2), date(2026, 3, 3), queue_ids=(history.delivery.pk,))
    assert [r["queue"] for r in reports.daily_counts(only_delivery)] == ["Delivery"]
    assert reports.response_times(only_delivery)["overall"]["first_response"] == {
        "count": 1,
        "median": 600.0,
        "p90": 600.0,
    }


def test_first_response_and_resolution_median_and_90th_percentile(history):
    times = reports.response_times(MARCH_2_TO_3)
    billing, delivery = times["queues"]
    assert billing["queue"] == "Billing"
    assert billing["first_response"] == {"count": 2, "median": 50.0, "p90": 120.0}
    assert billing["resolution"] == {"count": 2, "median": 600.0, "p90": 1200.0}
    assert delivery["first_response"] == {"count": 1, "median": 600.0, "p90": 600.0}
    assert delivery["resolution"] == {"count": 1, "median": 5400.0, "p90": 5400.0}
    assert times["overall"]["first_response"] == {"count": 3, "median": 120.0, "p90": 600.0}
    assert times["overall"]["resolution"] == {"count": 3, "median": 1200.0, "p90": 5400.0}


def test_waiting_time_distribution(history):
    counts = [bucket["count"] for bucket in reports.waiting_distribution(MARCH_2_TO_3)]
    # 20 s, 60 s (the "1-2 min" bucket starts at 60 s) and 180 s
    assert counts == [1, 0, 1, 1, 0, 0, 0]


def test_ratings_average_and_count(history):
    rated = reports.ratings(MARCH_2_TO_3)
    assert rated["queues"] == [
        {"queue_id": history.billing.pk, "queue": "Billing", "average": 3.5, "count": 2},
        {"queue_id": history.delivery.pk, "queue": "Delivery", "average": 4.0, "count": 1},
    ]
    assert rated["overall"] == {"average": 3.67, "count": 3}
    assert [s["count"] for s in rated["scores"]] == [0, 1, 0, 1, 1]


def test_per_agent_handled_messages_and_average_handling_time(history):
    rows = reports.agents(MARCH_2_TO_3)
    assert [(r["agent"], r["handled"], r["messages"], r["average_handling_seconds"]) for r in rows] == [
        ("Alice", 2, 3, (540 + 1480) / 2),
        ("Bob", 1, 3, 1020.0 + 1800.0),
    ]


def test_reversed_dates_and_ranges_over_a_year_are_refused():
    with pytest.raises(reports.ReportError):
        reports.Filters(date(2026, 3, 3), date(2026, 3, 2))
    with pytest.raises(reports.ReportError):
        reports.Filters(date(2025, 1, 1), date(2026, 1, 2))
    assert reports.Filters(date(2025, 1, 1), date(2026, 1, 1)).days()[-1] == date(2026, 1, 1)

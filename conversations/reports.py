"""Reports for supervisors and administrators (docs/supervisors.md "Reports"): pure query functions.

Every figure is one SQL aggregation over the transition log (``ConversationEvent``), the messages, the
conversations and the ratings; no function loops over conversations in Python. Percentiles are the
nearest-rank kind (the smallest value with at least p% of the values at or below it), computed with
window functions (``ROW_NUMBER``/``COUNT OVER``), which SQLite and PostgreSQL both have.

Definitions (days are local days in ``settings.TIME_ZONE``; a figure counts on the day its event
happened):

- created: conversations created that day;
- answered: conversations an agent joined for the first time that day (their first move to ``active``);
- abandoned: live conversations closed that day while still ``open`` (ended before an agent joined);
- closed: conversations closed that day;
- first response time: from creation to the first agent message, for conversations created in the range;
- resolution time: from creation to the end (the first move to wrap-up or closed from ``active`` or
  ``waiting``), for conversations ended in the range;
- waiting time: from creation to the first move to ``active``, for conversations answered in the range;
- ratings: average score and count of the ratings given in the range;
- per agent (the conversation's agent at the end): conversations handled (ended in the range), agent
  messages written in the range, and the average handling time of the conversations handled: the time
  they spent ``active`` and in wrap-up, from the transition log.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.db.models import (
    Avg,
    Case,
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
    Window,
)
from django.db.models.functions import RowNumber, TruncDate
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from routing.models import AgentProfile, Queue

from .models import Conversation, ConversationEvent, Message, Mode, Rating, Role, State

MAX_DAYS = 366
# (upper bound in seconds or None for the last bucket, label)
WAIT_BUCKETS = (
    (30, _("under 30 s")),
    (60, _("30 s – 1 min")),
    (120, _("1–2 min")),
    (300, _("2–5 min")),
    (900, _("5–15 min")),
    (3600, _("15–60 min")),
    (None, _("1 h and more")),
)
ENDED_FROM = (State.ACTIVE, State.WAITING)
ENDED_TO = (State.WRAP_UP, State.CLOSED)


class ReportError(ValueError):
    """Filters that make no report (reversed dates, a range over a year); nothing is computed."""


@dataclass(frozen=True)
class Filters:
    start: date
    end: date  # inclusive
    queue_ids: tuple[int, ...] = field(default=())

    def __post_init__(self) -> None:
        if self.start > self.end:
            raise ReportError(_("The start date is after the end date."))
        if (self.end - self.start).days + 1 > MAX_DAYS:
            raise ReportError(_("A report covers at most one year (366 days)."))

    @property
    def since(self) -> datetime:
        return timezone.make_aware(datetime.combine(self.start, time.min))

    @property
    def until(self) -> datetime:
        return timezone.make_aware(datetime.combine(self.end + timedelta(days=1), time.min))

    def days(self) -> list[date]:
        return [self.start + timedelta(days=n) for n in range((self.end - self.start).days + 1)]


def _in_range(filters: Filters, field_name: str, queue_field: str) -> Q:
    condition = Q(**{f"{field_name}__gte": filters.since, f"{field_name}__lt": filters.until})
    if filters.queue_ids:
        condition &= Q(**{f"{queue_field}__in": filters.queue_ids})
    return condition


def _seconds(value: timedelta | None) -> float | None:
    return None if value is None else round(value.total_seconds(), 3)


def _duration(later: str, earlier: str) -> ExpressionWrapper:
    return ExpressionWrapper(F(later) - F(earlier), output_field=DurationField())


def _first_event_at(*, to_states, from_states=None) -> Subquery:
    """The time of the conversation's first move to one of ``to_states`` (from one of ``from_states``)."""
    events = ConversationEvent.objects.filter(conversation=OuterRef("pk"), to_state__in=to_states)
    if from_states is not None:
        events = events.filter(from_state__in=from_states)
    return Subquery(events.order_by("created_at", "id").values("created_at")[:1])


def _first_agent_message_at() -> Subquery:
    messages = Message.objects.filter(conversation=OuterRef("pk"), sender_role=Role.AGENT)
    return Subquery(messages.order_by("seq").values("sent_at")[:1])


# --- counts by day and queue ---------------------------------------------------------------------


def daily_counts(filters: Filters) -> list[dict]:
    """One row per (day, queue) with any activity: created, answered, abandoned, closed."""
    rows: dict[tuple[date, int], dict] = {}

    def merge(name: str, query: QuerySet) -> None:
        for day, queue_id, count in query:
            row = rows.setdefault(
                (day, queue_id),
                {"day": day, "queue_id": queue_id, "created": 0, "answered": 0, "abandoned": 0, "closed": 0},
            )
            row[name] = count

    merge(
        "created",
        Conversation.objects.filter(_in_range(filters, "created_at", "queue_id"))
        .annotate(day=TruncDate("created_at"))
        .order_by()
        .values_list("day", "queue_id")
        .annotate(n=Count("id")),
    )
    merge(
        "answered",
        Conversation.objects.annotate(answered_at=_first_event_at(to_states=[State.ACTIVE]))
        .filter(_in_range(filters, "answered_at", "queue_id"))
        .annotate(day=TruncDate("answered_at"))
        .order_by()
        .values_list("day", "queue_id")
        .annotate(n=Count("id")),
    )
    merge(
        "abandoned",
        ConversationEvent.objects.filter(
            _in_range(filters, "created_at", "conversation__queue_id"),
            from_state=State.OPEN,
            to_state=State.CLOSED,
            conversation__mode=Mode.LIVE,
        )
        .annotate(day=TruncDate("created_at"))
        .order_by()
        .values_list("day", "conversation__queue_id")
        .annotate(n=Count("conversation_id", distinct=True)),
    )
    merge(
        "closed",
        ConversationEvent.objects.filter(
            _in_range(filters, "created_at", "conversation__queue_id"), to_state=State.CLOSED
        )
        .annotate(day=TruncDate("created_at"))
        .order_by()
        .values_list("day", "conversation__queue_id")
        .annotate(n=Count("conversation_id", distinct=True)),
    )
    names = dict(Queue.objects.filter(pk__in={queue for _day, queue in rows}).values_list("pk", "name"))
    return [
        {**row, "queue": names.get(row["queue_id"], "")}
        for _key, row in sorted(rows.items(), key=lambda item: (item[0][0], names.get(item[0][1], "")))
    ]


def totals_by_day(rows: list[dict], filters: Filters) -> list[dict]:
    """``daily_counts`` summed over the queues, one row for every day of the range (zeros included)."""
    totals = {day: {"day": day, "created": 0, "answered": 0, "abandoned": 0, "closed": 0} for day in filters.days()}
    for row in rows:
        for name in ("created", "answered", "abandoned", "closed"):
            totals[row["day"]][name] += row[name]
    return list(totals.values())


def totals_by_queue(rows: list[dict]) -> list[dict]:
    """``daily_counts`` summed over the days, one row per queue."""
    totals: dict[int, dict] = {}
    for row in rows:
        total = totals.setdefault(
            row["queue_id"],
            {"queue_id": row["queue_id"], "queue": row["queue"], "created": 0, "answered": 0, "abandoned": 0,
             "closed": 0},
        )  # fmt: skip
        for name in ("created", "answered", "abandoned", "closed"):
            total[name] += row[name]
    return sorted(totals.values(), key=lambda row: row["queue"])


# --- times: median and 90th percentile -----------------------------------------------------------


def _percentiles(values: QuerySet, group: str | None) -> dict:
    """``{group value (or None): {"count", "median", "p90"}}`` of the ``value`` annotation of ``values``
    (one row per conversation), nearest rank, in one query."""
    partition = [F(group)] if group else None
    ranked = values.annotate(
        rank=Window(RowNumber(), partition_by=partition, order_by=[F("value").asc(), F("pk").asc()]),
        total=Window(Count("pk"), partition_by=partition),
    ).annotate(
        median_rank=ExpressionWrapper((F("total") + 1) / 2, output_field=IntegerField()),
        p90_rank=ExpressionWrapper((F("total") * 9 + 9) / 10, output_field=IntegerField()),
    )
    picked = ranked.filter(Q(rank=F("median_rank")) | Q(rank=F("p90_rank"))).values_list(
        group or "total", "rank", "median_rank", "p90_rank", "total", "value"
    )
    result: dict = {}
    for key, rank, median_rank, p90_rank, total, value in picked:
        entry = result.setdefault(key if group else None, {"count": total, "median": None, "p90": None})
        if rank == median_rank:
            entry["median"] = _seconds(value)
        if rank == p90_rank:
            entry["p90"] = _seconds(value)
    return result


def _first_response_values(filters: Filters) -> QuerySet:
    return (
        Conversation.objects.filter(_in_range(filters, "created_at", "queue_id"))
        .annotate(replied_at=_first_agent_message_at())
        .filter(replied_at__isnull=False)
        .annotate(value=_duration("replied_at", "created_at"))
        .order_by()
    )


def _resolution_values(filters: Filters) -> QuerySet:
    return (
        Conversation.objects.annotate(ended_at=_first_event_at(to_states=ENDED_TO, from_states=ENDED_FROM))
        .filter(_in_range(filters, "ended_at", "queue_id"))
        .annotate(value=_duration("ended_at", "created_at"))
        .order_by()
    )


def response_times(filters: Filters) -> dict:
    """First response and resolution time, median and p90 in seconds, per queue and over all."""
    first = _first_response_values(filters)
    resolution = _resolution_values(filters)
    by_queue = {"first_response": _percentiles(first, "queue_id"), "resolution": _percentiles(resolution, "queue_id")}
    overall = {
        "first_response": _percentiles(first, None).get(None),
        "resolution": _percentiles(resolution, None).get(None),
    }
    queue_ids = set(by_queue["first_response"]) | set(by_queue["resolution"])
    names = dict(Queue.objects.filter(pk__in=queue_ids).values_list("pk", "name"))
    empty = {"count": 0, "median": None, "p90": None}
    rows = [
        {
            "queue_id": queue_id,
            "queue": names.get(queue_id, ""),
            "first_response": by_queue["first_response"].get(queue_id, empty),
            "resolution": by_queue["resolution"].get(queue_id, empty),
        }
        for queue_id in sorted(queue_ids, key=lambda q: names.get(q, ""))
    ]
    return {
        "queues": rows,
        "overall": {"first_response": overall["first_response"] or empty, "resolution": overall["resolution"] or empty},
    }


# --- waiting-time distribution --------------------------------------------------------------------


def waiting_distribution(filters: Filters) -> list[dict]:
    """How long answered conversations waited for their first agent, in ``WAIT_BUCKETS``."""
    whens = [
        When(value__lt=timedelta(seconds=upper), then=Value(index))
        for index, (upper, _label) in enumerate(WAIT_BUCKETS)
        if upper is not None
    ]
    counts = dict(
        Conversation.objects.annotate(answered_at=_first_event_at(to_states=[State.ACTIVE]))
        .filter(_in_range(filters, "answered_at", "queue_id"))
        .annotate(value=_duration("answered_at", "created_at"))
        .annotate(bucket=Case(*whens, default=Value(len(WAIT_BUCKETS) - 1), output_field=IntegerField()))
        .order_by()
        .values_list("bucket")
        .annotate(n=Count("id"))
    )
    return [
        {"bucket": str(label), "upper_seconds": upper, "count": counts.get(index, 0)}
        for index, (upper, label) in enumerate(WAIT_BUCKETS)
    ]


# --- ratings ------------------------------------------------------------------------------------


def ratings(filters: Filters) -> dict:
    """Average score and count per queue and over all, and how many of each score."""
    rated = Rating.objects.filter(_in_range(filters, "created_at", "conversation__queue_id"))
    per_queue = list(
        rated.order_by()
        .values_list("conversation__queue_id", "conversation__queue__name")
        .annotate(average=Avg("score"), count=Count("id"))
        .order_by("conversation__queue__name")
    )
    overall = rated.aggregate(average=Avg("score"), count=Count("id"))
    by_score = dict(rated.order_by().values_list("score").annotate(n=Count("id")))
    return {
        "queues": [
            {"queue_id": queue_id, "queue": name, "average": round(average, 2), "count": count}
            for queue_id, name, average, count in per_queue
        ],
        "overall": {
            "average": round(overall["average"], 2) if overall["average"] is not None else None,
            "count": overall["count"],
        },
        "scores": [{"score": score, "count": by_score.get(score, 0)} for score in range(1, 6)],
    }


# --- agents -------------------------------------------------------------------------------------


def _handled(filters: Filters) -> QuerySet:
    """Conversations ended in the range (by their agent at the end)."""
    return Conversation.objects.annotate(ended_at=_first_event_at(to_states=ENDED_TO, from_states=ENDED_FROM)).filter(
        _in_range(filters, "ended_at", "queue_id"), agent__isnull=False
    )


def agents(filters: Filters) -> list[dict]:
    """Per agent: conversations handled, agent messages, average handling time (seconds)."""
    handled = dict(_handled(filters).order_by().values_list("agent_id").annotate(n=Count("id")))
    messages = dict(
        Message.objects.filter(
            _in_range(filters, "sent_at", "conversation__queue_id"),
            sender_role=Role.AGENT,
            conversation__agent__isnull=False,
        )
        .order_by()
        .values_list("conversation__agent_id")
        .annotate(n=Count("id"))
    )
    next_event_at = Subquery(
        ConversationEvent.objects.filter(conversation=OuterRef("conversation"))
        .filter(Q(created_at__gt=OuterRef("created_at")) | Q(created_at=OuterRef("created_at"), id__gt=OuterRef("id")))
        .order_by("created_at", "id")
        .values("created_at")[:1]
    )
    working = dict(
        ConversationEvent.objects.filter(
            conversation__in=_handled(filters).values("pk"), to_state__in=(State.ACTIVE, State.WRAP_UP)
        )
        .annotate(left_at=next_event_at)
        .annotate(span=_duration("left_at", "created_at"))
        .order_by()
        .values_list("conversation__agent_id")
        .annotate(total=Sum("span"))
    )
    agent_ids = set(handled) | set(messages)
    names = dict(AgentProfile.objects.filter(pk__in=agent_ids).values_list("pk", "display_name"))
    rows = []
    for agent_id in sorted(agent_ids, key=lambda a: names.get(a, "")):
        count = handled.get(agent_id, 0)
        total = working.get(agent_id)
        rows.append(
            {
                "agent_id": agent_id,
                "agent": names.get(agent_id, ""),
                "handled": count,
                "messages": messages.get(agent_id, 0),
                "average_handling_seconds": round(total.total_seconds() / count, 3) if count and total else None,
            }
        )
    return rows


def report(filters: Filters) -> dict:
    """Everything the reports page shows."""
    rows = daily_counts(filters)
    return {
        "filters": filters,
        "daily": rows,
        "by_day": totals_by_day(rows, filters),
        "by_queue": totals_by_queue(rows),
        "times": response_times(filters),
        "waits": waiting_distribution(filters),
        "ratings": ratings(filters),
        "agents": agents(filters),
    }

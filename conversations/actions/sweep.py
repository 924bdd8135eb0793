"""The timer jobs, one function each; ``sweep`` runs them all (``conversations.timers`` calls it every
``PARLEY_TIMER_INTERVAL`` seconds in every process). Safe to run from several processes at once: each
change re-checks its conditions with the row locked."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from routing.models import AgentProfile, Presence

from .. import events
from ..models import CURRENT_STATES, Connection, Conversation, Mode, State
from . import auto_close, files, notifications, offers, privacy, queueing, transfer
from .assignment import dispatch
from .lifecycle import close_by_system, end_by_system

logger = logging.getLogger("parley.timers")


def each(job: str, items: Iterable, func: Callable[..., int | bool], *, kind: str = "conversation") -> int:
    """``func(item)`` for every item (a conversation id, or a tuple starting with one), each on its own:
    one that raises is logged with its id and the others go on (a bad row or template must not stop
    routing or retention). Returns the sum of what the calls returned."""
    done = 0
    for item in items:
        key = item[0] if isinstance(item, tuple) else item
        try:
            done += int(func(*item) if isinstance(item, tuple) else func(item))
        except AssertionError:
            raise  # a broken invariant (the property tests check them inside the actions) is not swallowed
        except Exception:
            logger.exception("timer job %s failed for %s %s; the other items go on", job, kind, key)
    return done


def forget_stale_sockets(now: datetime) -> int:
    """Sockets of a process that died stopped sending heartbeats: forget them; their owners left when it
    died. Returns how many."""
    stale_before = now - timedelta(seconds=max(3 * settings.PARLEY_TIMER_INTERVAL, 15))
    stale = Connection.objects.filter(heartbeat_at__lt=stale_before)
    stale_agents = set(stale.filter(agent__isnull=False).values_list("agent_id", flat=True))
    stale_customers = set(stale.filter(customer__isnull=False).values_list("customer_id", flat=True))
    forgotten, _ = stale.delete()
    if stale_agents or stale_customers:
        connected = Connection.objects.all()
        AgentProfile.objects.filter(pk__in=stale_agents, disconnected_at__isnull=True).exclude(
            pk__in=connected.filter(agent__isnull=False).values("agent_id")
        ).update(disconnected_at=now)
        Conversation.objects.filter(
            customer_id__in=stale_customers,
            mode=Mode.LIVE,
            state__in=CURRENT_STATES,
            customer_left_at__isnull=True,
            left_message=False,
        ).exclude(customer_id__in=connected.filter(customer__isnull=False).values("customer_id")).update(
            customer_left_at=now
        )
    return forgotten


def close_inactive(now: datetime) -> int:
    """Conversations silent for longer than their workstream's inactivity limit close."""
    due = [
        conversation_id
        for conversation_id, seconds, last_message_at, created_at in (
            Conversation.objects.exclude(state=State.CLOSED)
            .filter(workstream__auto_close_after_inactivity_seconds__gt=0)
            .values_list("id", "workstream__auto_close_after_inactivity_seconds", "last_message_at", "created_at")
            .iterator()
        )
        if (last_message_at or created_at) <= now - timedelta(seconds=seconds)
    ]
    return each("inactive", due, lambda conversation_id: close_by_system(conversation_id, "inactivity"))


def close_expired_wrap_ups(now: datetime) -> int:
    """Wrap-up ends when the workstream's wrap-up time runs out."""
    due = [
        conversation_id
        for conversation_id, seconds, started in Conversation.objects.filter(state=State.WRAP_UP).values_list(
            "id", "workstream__wrap_up_seconds", "wrap_up_started_at"
        )
        if started is None or started <= now - timedelta(seconds=seconds)
    ]
    return each("wrap_up", due, lambda conversation_id: close_by_system(conversation_id, "wrap_up_expired"))


def end_abandoned(now: datetime) -> int:
    """Live chats whose customer stayed away past ``PARLEY_LIVE_DISCONNECT_GRACE`` end."""
    left_before = now - timedelta(seconds=settings.PARLEY_LIVE_DISCONNECT_GRACE)

    def end_if_away(conversation_id, customer_id) -> bool:
        if Connection.objects.filter(customer_id=customer_id).exists():
            return False
        return end_by_system(conversation_id, "customer_disconnected")

    candidates = Conversation.objects.filter(
        mode=Mode.LIVE, state__in=CURRENT_STATES, customer_left_at__lte=left_before
    ).values_list("id", "customer_id")
    return each("abandoned", list(candidates), end_if_away)


def set_gone_agents_offline(now: datetime) -> int:
    """Agents without a workspace socket for ``PARLEY_PRESENCE_GRACE`` become offline."""
    count = 0
    away_before = now - timedelta(seconds=settings.PARLEY_PRESENCE_GRACE)
    for agent in AgentProfile.objects.exclude(presence=Presence.OFFLINE).filter(disconnected_at__lte=away_before):
        if not Connection.objects.filter(agent=agent).exists():
            AgentProfile.objects.filter(pk=agent.pk, disconnected_at__isnull=False).update(
                presence=Presence.OFFLINE, presence_changed_at=now
            )
            count += 1
    if count:
        events.stats_changed()
    return count


def requeue_without_agent(now: datetime) -> int:
    """Live conversations without "same agent" whose agent is offline and has had no workspace socket for
    ``PARLEY_PRESENCE_GRACE`` go back to their queue (``transfer.requeue_if_agent_gone``)."""
    away_before = now - timedelta(seconds=settings.PARLEY_PRESENCE_GRACE)
    candidates = (
        Conversation.objects.filter(
            state=State.ACTIVE,
            mode=Mode.LIVE,
            workstream__same_agent=False,
            agent__presence=Presence.OFFLINE,
            agent__disconnected_at__lte=away_before,
        )
        .exclude(agent_id__in=Connection.objects.filter(agent__isnull=False).values("agent_id"))
        .values_list("id", flat=True)
    )
    return each("requeued", list(candidates), transfer.requeue_if_agent_gone)


def route_queued(now: datetime) -> int:
    """Every queue, in case news was lost or a queue opened: assign what can be assigned (each queue on
    its own: one that fails does not keep the others from being routed)."""
    queue_ids = list(
        Conversation.objects.filter(state=State.OPEN, queue__isnull=False)
        .values_list("queue_id", flat=True)
        .distinct()
        .order_by()
    )
    return each("routed", queue_ids, lambda queue_id: dispatch([queue_id], at=now), kind="queue")


JOBS: tuple[tuple[str, Callable[[datetime], int]], ...] = (
    ("stale", lambda now: forget_stale_sockets(now)),
    ("inactive", lambda now: close_inactive(now)),
    ("timed_out", lambda now: auto_close.close_timed_out(now)),
    ("offers", lambda now: offers.expire_due(now)),
    ("wrap_up", lambda now: close_expired_wrap_ups(now)),
    ("abandoned", lambda now: end_abandoned(now)),
    ("offline", lambda now: set_gone_agents_offline(now)),
    ("requeued", lambda now: requeue_without_agent(now)),
    ("routed", lambda now: route_queued(now)),
    ("positions", lambda now: queueing.flush_positions()),
    # PARLEY_RETENTION_DAYS: closed conversations past the retention period are deleted.
    ("expired", lambda now: privacy.apply_retention(now)),
    ("visitors", lambda now: privacy.expire_idle_visitors(now)),
    ("uploads", lambda now: files.sweep_unattached(now)),
    ("emails", lambda now: notifications.sweep(now)),
)


def sweep(now: datetime | None = None) -> dict[str, int]:
    """One pass of every timer job; returns how much each did. Each job runs on its own: one that fails is
    logged and counted as -1, and the others still run."""
    now = now or timezone.now()
    done: dict[str, int] = {}
    for name, job in JOBS:
        try:
            done[name] = job(now)
        except AssertionError:
            raise
        except Exception:
            logger.exception("timer job %s failed; the other jobs go on, it runs again next sweep", name)
            done[name] = -1
    return done

"""The timer jobs, one function each; ``sweep`` runs them all (``conversations.timers`` calls it every
``PARLEY_TIMER_INTERVAL`` seconds in every process). Safe to run from several processes at once: each
change re-checks its conditions with the row locked."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from routing.models import AgentProfile, Presence

from .. import events
from ..models import CURRENT_STATES, Connection, Conversation, Mode, State
from . import auto_close, files, notifications, offers, privacy, queueing, transfer
from .assignment import dispatch
from .lifecycle import close_by_system, end_by_system


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
    closed = 0
    for conversation_id, seconds, last_message_at, created_at in (
        Conversation.objects.exclude(state=State.CLOSED)
        .filter(workstream__auto_close_after_inactivity_seconds__gt=0)
        .values_list("id", "workstream__auto_close_after_inactivity_seconds", "last_message_at", "created_at")
        .iterator()
    ):
        if (last_message_at or created_at) <= now - timedelta(seconds=seconds):
            closed += close_by_system(conversation_id, "inactivity")
    return closed


def close_expired_wrap_ups(now: datetime) -> int:
    """Wrap-up ends when the workstream's wrap-up time runs out."""
    closed = 0
    for conversation_id, seconds, started in Conversation.objects.filter(state=State.WRAP_UP).values_list(
        "id", "workstream__wrap_up_seconds", "wrap_up_started_at"
    ):
        if started is None or started <= now - timedelta(seconds=seconds):
            closed += close_by_system(conversation_id, "wrap_up_expired")
    return closed


def end_abandoned(now: datetime) -> int:
    """Live chats whose customer stayed away past ``PARLEY_LIVE_DISCONNECT_GRACE`` end."""
    ended = 0
    left_before = now - timedelta(seconds=settings.PARLEY_LIVE_DISCONNECT_GRACE)
    for conversation_id, customer_id in Conversation.objects.filter(
        mode=Mode.LIVE, state__in=CURRENT_STATES, customer_left_at__lte=left_before
    ).values_list("id", "customer_id"):
        if not Connection.objects.filter(customer_id=customer_id).exists():
            ended += end_by_system(conversation_id, "customer_disconnected")
    return ended


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
    return sum(transfer.requeue_if_agent_gone(conversation_id) for conversation_id in list(candidates))


def route_queued(now: datetime) -> int:
    """Every queue, in case news was lost or a queue opened: assign what can be assigned."""
    return dispatch(None, at=now)


def sweep(now: datetime | None = None) -> dict[str, int]:
    """One pass of every timer job; returns how much each did."""
    now = now or timezone.now()
    done = {"stale": forget_stale_sockets(now)}
    done["inactive"] = close_inactive(now)
    done["timed_out"] = auto_close.close_timed_out(now)
    done["offers"] = offers.expire_due(now)
    done["wrap_up"] = close_expired_wrap_ups(now)
    done["abandoned"] = end_abandoned(now)
    done["offline"] = set_gone_agents_offline(now)
    done["requeued"] = requeue_without_agent(now)
    done["routed"] = route_queued(now)
    done["positions"] = queueing.flush_positions()
    # PARLEY_RETENTION_DAYS: closed conversations past the retention period are deleted.
    done["expired"] = privacy.apply_retention(now)
    done["uploads"] = files.sweep_unattached(now)
    done["emails"] = notifications.sweep(now)
    return done

"""Timers per state (../shared/PROTOCOL.md "Routing, additions": auto-close per state).

A workstream's ``auto_close_seconds`` names, per non-closed state, how long a conversation may stay in
that state without activity (no message, no state change: its ``updated_at``) before the server closes
it; null means never. New workstreams get the reference's defaults (``admin_center.validators.
default_auto_close_seconds``). The version-1 ``auto_close_after_inactivity_seconds`` still applies to
every non-closed state (``sweep.close_inactive``); where both are set, the first to run out closes.

Each closing is logged with the state and the timer that closed it: the transition log's ``from_state``
is the state and its ``reason`` is ``auto_close_seconds.<state>``; the server log says the same with the
seconds.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from admin_center.models import Workstream

from ..models import Conversation
from .lifecycle import close_by_system

logger = logging.getLogger("parley.timers")


def reason_for(state: str) -> str:
    return f"auto_close_seconds.{state}"


def close_timed_out(now: datetime) -> int:
    """Close every conversation whose state's timer ran out. One indexed query per (workstream, state
    with a timer); each closing re-checks the state and the time under the row lock."""
    closed = 0
    timers = Workstream.objects.values_list("id", "auto_close_seconds")
    for workstream_id, per_state in timers:
        for state, seconds in (per_state or {}).items():
            if not seconds:
                continue
            cutoff = now - timedelta(seconds=seconds)
            due = Conversation.objects.filter(workstream_id=workstream_id, state=state, updated_at__lte=cutoff)
            for conversation_id in list(due.values_list("id", flat=True)):
                if close_by_system(conversation_id, reason_for(state), state=state, updated_at__lte=cutoff):
                    closed += 1
                    logger.info(
                        "conversation %s closed in state %s by timer auto_close_seconds.%s (%s s)",
                        conversation_id,
                        state,
                        state,
                        seconds,
                    )
    return closed

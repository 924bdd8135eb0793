"""The agent's ``list`` frame: the next page of their conversations in one state, after the ones the
``welcome`` (or the previous page) brought (PROTOCOL.md, "Agent socket, additions")."""

from __future__ import annotations

from datetime import UTC, datetime

from ..errors import BAD_REQUEST, ServiceError
from . import payloads


def parse_before(value) -> datetime | None:
    """``before``: a summary's ``updated_at`` (ISO 8601, e.g. ``2026-11-30T23:40:12.345Z``) or absent."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ServiceError(BAD_REQUEST, "'before' must be a summary's updated_at.")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ServiceError(BAD_REQUEST, "'before' must be a summary's updated_at.") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment


def conversation_list(agent, state, before=None) -> dict:
    """``{"type": "list", "state", "items": [summaries], "has_more"}``: the agent's conversations in
    ``state`` (``waiting``, ``active`` or ``wrap_up``) updated before ``before``, newest first, one page
    (``PARLEY_AGENT_LIST_PAGE``)."""
    if state not in payloads.LISTED_STATES:
        raise ServiceError(BAD_REQUEST, "'state' must be one of waiting, active, wrap_up.")
    rows, has_more = payloads.agent_conversation_page(agent, state, parse_before(before))
    items, trimmed = payloads.within_bytes(payloads.agent_summaries(rows), payloads.LIST_PAGE_BYTES)
    return {"type": "list", "state": state, "items": items, "has_more": has_more or trimmed}

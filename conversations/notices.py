"""System notices to the customer, rendered from the widget's message
settings, with built-in defaults in the widget's language."""

from __future__ import annotations

import math

from django.utils import translation
from django.utils.translation import gettext_lazy as _

CODES = ("queue_position", "average_wait_time", "agent_joined", "out_of_hours", "conversation_ended")

DEFAULTS = {
    "queue_position": _("You are number {position} in line."),
    "average_wait_time": _("Average wait: {minutes} min."),
    "agent_joined": _("{agent} joined the chat."),
    "out_of_hours": _("We are closed now; an agent will answer during business hours."),
    "conversation_ended": _("The conversation has ended."),
}


class _Placeholders(dict):
    """Leaves unknown placeholders as they are instead of failing."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def render(widget, code: str, data: dict) -> str:
    template = (widget.messages or {}).get(code) if widget is not None else None
    if not template:
        with translation.override(widget.language if widget is not None else "en"):
            template = str(DEFAULTS[code])
    values = _Placeholders(data)
    if "seconds" in data:
        values["minutes"] = max(1, math.ceil(data["seconds"] / 60))
    try:
        return template.format_map(values)
    except (ValueError, IndexError):  # a malformed override shows as written
        return template


def notice(widget, code: str, **data) -> dict:
    return {"type": "notice", "code": code, "text": render(widget, code, data), "data": data}

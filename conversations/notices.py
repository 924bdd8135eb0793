"""System notices to the customer, rendered from the widget's message
settings, with built-in defaults in the widget's language."""

from __future__ import annotations

import logging
import math

from django.utils import translation
from django.utils.translation import gettext_lazy as _

from admin_center.validators import MESSAGE_KEYS, template_fields

logger = logging.getLogger("parley.notices")

CODES = MESSAGE_KEYS  # the notices a widget may word its own way (its ``messages``)

DEFAULTS = {
    "queue_position": _("You are number {position} in line."),
    "average_wait_time": _("Average wait: {minutes} min."),
    "agent_joined": _("{agent} joined the chat."),
    "out_of_hours": _("We are closed now; an agent will answer during business hours."),
    "conversation_ended": _("The conversation has ended."),
    "rate_conversation": _("How did we do? Rate this conversation."),
    "no_agent_available": _(
        "Nobody is available to answer right now. Leave a message with your email address and we will "
        "answer you by email."
    ),
    "transferred": _("Your conversation has been transferred to another agent."),
    "agent_disconnected": _("Your agent was disconnected. The next available agent will answer you."),
}


def _fill(template: str, values: dict) -> str | None:
    """``template`` with its bare placeholders filled, or None when it holds anything else
    (attribute or index access, a format specification, unbalanced braces, an unknown name)."""
    try:
        fields = template_fields(template)
    except ValueError:
        return None
    if any(field not in values for field in fields):
        return None
    return template.format_map(values)


def render(widget, code: str, data: dict, language: str = "") -> str:
    """The notice text: the widget's override when it renders, else the built-in default in the widget's
    language (``language``: the visitor's, for a widget set to "auto"). A broken override (saved before
    validation parsed templates, or written to the database directly) must never stop the caller, which
    may be routing or a timer sweep."""
    values = dict(data)
    if "seconds" in data:
        values["minutes"] = max(1, math.ceil(data["seconds"] / 60))
    override = (widget.messages or {}).get(code) if widget is not None else None
    if override:
        text = _fill(override, values)
        if text is not None:
            return text
        logger.warning("widget %s: system message %r does not render; the default is used", widget.pk, code)
    with translation.override(widget.language_for(language) if widget is not None else "en"):
        default = str(DEFAULTS[code])
    return _fill(default, values) or default


def notice(widget, code: str, **data) -> dict:
    return {"type": "notice", "code": code, "text": render(widget, code, data), "data": data}

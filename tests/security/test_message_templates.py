"""System-message templates: only bare known placeholders pass validation, and a template that
does not render never stops the caller (routing and the timer sweeps render notices)."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from admin_center.models import ChatWidget
from admin_center.validators import template_fields, validate_messages
from conversations import notices


def _Widget(messages: dict) -> ChatWidget:  # noqa: N802 - stands where a widget class stood
    """An unsaved English widget with these system-message overrides (no database needed)."""
    return ChatWidget(pk=1, language="en", messages=messages)


@pytest.mark.parametrize(
    "text",
    [
        "{position.__class__:{position}}",
        "{position!r}",
        "{position:>99999}",
        "{position[0]}",
        "You are {position",
        "number } here",
    ],
)
def test_a_template_with_more_than_bare_placeholders_is_refused(text):
    with pytest.raises(ValidationError):
        validate_messages({"queue_position": text})


def test_bare_placeholders_and_escaped_braces_are_accepted():
    validate_messages({"queue_position": "You are {position} {{in line}}.", "conversation_ended": "Bye."})
    assert template_fields("You are {position} {{in line}}.") == ["position"]


def test_a_broken_override_renders_the_default_text_instead_of_raising():
    widget = _Widget({"queue_position": "{position.__class__:{position}}"})

    assert notices.render(widget, "queue_position", {"position": 3}) == "You are number 3 in line."


def test_an_override_with_an_unknown_placeholder_renders_the_default_text():
    widget = _Widget({"agent_joined": "{name} is here"})

    assert notices.render(widget, "agent_joined", {"agent": "Alice"}) == "Alice joined the chat."


def test_a_valid_override_is_used():
    widget = _Widget({"queue_position": "Place {position}, {{soon}}."})

    assert notices.render(widget, "queue_position", {"position": 2}) == "Place 2, {soon}."

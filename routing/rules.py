"""Routing rules: which queue a new conversation goes to, by what the customer's website signed (the JWT
``context``) and what the customer answered (the pre-chat survey). Pure decisions on plain values; the
conversation actions apply them (../shared/PROTOCOL.md "Routing, additions", docs/routing.md).

A workstream holds an ordered list of rules::

    [{"when": {"context.tier": "gold", "pre_chat.topic": "Billing"}, "queue": "VIP"}, ...]

The first rule whose every condition equals the conversation's value names the queue; no match leaves
the workstream's own queue. Values are compared as text (``3`` equals ``"3"``, ``true`` equals
``"true"``), since an administrator types them and a website may sign either form.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

SOURCES = ("context", "pre_chat")


def _text(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def value_of(path: str, *, context: Mapping, pre_chat: Mapping) -> object:
    """The conversation's value at ``context.<key>`` or ``pre_chat.<name>``; None when it has none."""
    source, _dot, key = path.partition(".")
    values = context if source == "context" else pre_chat if source == "pre_chat" else {}
    return values.get(key) if isinstance(values, Mapping) else None


def matches(when: Mapping, *, context: Mapping, pre_chat: Mapping) -> bool:
    """Whether every condition of ``when`` holds; an empty rule matches nothing."""
    if not when:
        return False
    for path, expected in when.items():
        actual = value_of(path, context=context, pre_chat=pre_chat)
        if actual is None or _text(actual) != _text(expected):
            return False
    return True


def chosen_queue(rules: Sequence, *, context: Mapping | None, pre_chat: Mapping | None) -> str | None:
    """The queue name of the first matching rule, or None (the workstream's own queue)."""
    context = context or {}
    pre_chat = pre_chat or {}
    for rule in rules or ():
        if isinstance(rule, Mapping) and matches(rule.get("when") or {}, context=context, pre_chat=pre_chat):
            return rule.get("queue")
    return None

"""The dashboard's set-up checklist: each step done or not, read from the database, with where to do it.

The order is the order chat is set up in (and the dashboard groups' order, ``admin_center.site.GROUPS``):
an authentication setting (for signed-in customers), operating hours, a queue with agents, a workstream,
a widget, and a test of the widget.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from admin_center.models import ChatAuthenticationSetting, ChatWidget, OperatingHours, Workstream
from routing.models import Queue


@dataclass(frozen=True)
class Step:
    title: str
    explanation: str
    done: bool
    url: str
    action: str


def _changelist(model) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")


def _add(model) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_add")


def _place(model, done: bool) -> tuple[str, str]:
    return (_changelist(model), _("Review")) if done else (_add(model), _("Add"))


def setup_checklist() -> list[Step]:
    has_auth = ChatAuthenticationSetting.objects.exists()
    has_hours = OperatingHours.objects.exists()
    staffed = Queue.objects.filter(members__isnull=False).exists()
    has_workstream = Workstream.objects.exists()
    widget = ChatWidget.objects.filter(enabled=True).order_by("pk").first()
    tested = widget is not None and _any_conversation()
    steps = [
        Step(
            _("Authentication setting"),
            _("For signed-in customers (persistent chat): the public key that verifies your website's tokens."),
            has_auth,
            *_place(ChatAuthenticationSetting, has_auth),
        ),
        Step(
            _("Operating hours"),
            _("When your queues take conversations; outside them the widget says so."),
            has_hours,
            *_place(OperatingHours, has_hours),
        ),
        Step(
            _("Queue and agents"),
            _("A queue with at least one agent, and each agent's capacity."),
            staffed,
            *_place(Queue, staffed),
        ),
        Step(
            _("Workstream"),
            _("Live or persistent chat, the queue it routes to, and the units each conversation takes."),
            has_workstream,
            *_place(Workstream, has_workstream),
        ),
        Step(
            _("Chat widget"),
            _("The widget your website embeds: its title, language, colour and allowed origins."),
            widget is not None,
            *_place(ChatWidget, widget is not None),
        ),
    ]
    if widget is not None:
        test_url = reverse("admin:admin_center_chatwidget_test", args=[widget.pk])
    else:
        test_url = _add(ChatWidget)
    steps.append(
        Step(
            _("Test it"),
            _("Open a widget here, send a message and answer it in the workspace."),
            tested,
            test_url,
            _("Test the widget"),
        )
    )
    return steps


def _any_conversation() -> bool:
    from conversations.models import Conversation

    return Conversation.objects.exists()

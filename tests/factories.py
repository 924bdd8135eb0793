"""Building blocks for tests: a workstream with its queue, widget and agents.

Append-only for everyone: add new helpers at the end, do not change the
signatures of existing ones.
"""

from __future__ import annotations

import itertools

from django.contrib.auth import get_user_model

from admin_center.models import ChatAuthenticationSetting, ChatWidget, OperatingHours, Workstream
from routing.models import AgentProfile, Presence, Queue
from tests.support.tokens import make_key_pair

_counter = itertools.count(1)

ALWAYS = {day: [["00:00", "24:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


def make_agent(
    username: str | None = None,
    *,
    capacity: int = 100,
    presence: str = Presence.OFFLINE,
    name: str | None = None,
    queues=(),
) -> AgentProfile:
    username = username or f"agent{next(_counter)}"
    user = get_user_model().objects.create_user(username=username, password=f"pw-{username}")
    agent = AgentProfile.objects.create(
        user=user, display_name=name or username.title(), capacity=capacity, presence=presence
    )
    for queue in queues:
        queue.members.add(agent)
    return agent


def make_hours(weekly=None, *, timezone: str = "UTC", closed_dates=()) -> OperatingHours:
    return OperatingHours.objects.create(
        name=f"Hours {next(_counter)}",
        timezone=timezone,
        weekly=ALWAYS if weekly is None else weekly,
        closed_dates=list(closed_dates),
    )


def make_auth_setting(public_pem: str | None = None, *, issuer: str = "") -> ChatAuthenticationSetting:
    public_pem = public_pem or make_key_pair()[1]
    return ChatAuthenticationSetting.objects.create(
        name=f"Auth {next(_counter)}", public_key_pem=public_pem, issuer=issuer
    )


def make_setup(
    *,
    persistent: bool = False,
    distribution: str = "push",
    capacity_units: int = 50,
    wrap_up_seconds: int = 0,
    auto_close: int = 0,
    hours: OperatingHours | None = None,
    assignment_method: str = "highest_capacity",
    auth: ChatAuthenticationSetting | None = None,
    allowed_origins=("https://shop.example.com",),
    messages=None,
    language: str = "en",
):
    """A queue, a workstream and a widget (persistent ones get an authentication setting)."""
    n = next(_counter)
    queue = Queue.objects.create(name=f"Queue {n}", assignment_method=assignment_method, operating_hours=hours)
    workstream = Workstream.objects.create(
        name=f"Workstream {n}",
        persistent=persistent,
        same_agent=persistent,
        distribution=distribution,
        capacity_units=capacity_units,
        queue=queue,
        wrap_up_seconds=wrap_up_seconds,
        auto_close_after_inactivity_seconds=auto_close,
    )
    if persistent and auth is None:
        auth = make_auth_setting()
    widget = ChatWidget.objects.create(
        public_id=f"widget-{n}",
        name=f"Widget {n}",
        workstream=workstream,
        authentication=auth,
        allowed_origins=list(allowed_origins),
        title="Chat with us",
        language=language,
        messages=messages or {},
    )
    return widget

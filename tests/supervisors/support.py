"""Supervisors for the tests: a user granted ``routing.supervise`` through a group, as an admin would."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission


def make_supervisor(username: str = "sam", *, agent: bool = False):
    """A supervisor (a member of the "Supervisors" group); with ``agent``, also an agent."""
    from tests import factories

    if agent:
        user = factories.make_agent(username).user
    else:
        user = get_user_model().objects.create_user(username=username, password=f"pw-{username}")
    group, _ = Group.objects.get_or_create(name="Supervisors")
    group.permissions.add(Permission.objects.get(codename="supervise", content_type__app_label="routing"))
    user.groups.add(group)
    return get_user_model().objects.get(pk=user.pk)

"""Workstream settings of issue 16 in the admin center and the model: offers and timers per state."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import ValidationError

from admin_center.models import Workstream
from routing.models import Queue
from tests.admin_center.test_admin import admin_url, workstream_form

pytestmark = pytest.mark.django_db
DAY = 86400


@pytest.fixture
def ada(client):
    user = get_user_model().objects.create_superuser("ada", password="pw-ada")
    client.force_login(user)
    return user


def test_new_workstreams_get_the_reference_timers_of_their_mode():
    queue = Queue.objects.create(name="Support")
    live = Workstream.objects.create(name="Live", queue=queue)
    persistent = Workstream.objects.create(name="Persistent", persistent=True, same_agent=True, queue=queue)
    assert live.auto_close_seconds == {"open": DAY, "active": DAY, "waiting": None, "wrap_up": None}
    assert persistent.auto_close_seconds == {"open": None, "active": None, "waiting": 30 * DAY, "wrap_up": None}
    assert live.auto_accept is True and live.offer_timeout_seconds == 120


def test_timers_given_explicitly_are_kept():
    queue = Queue.objects.create(name="Support")
    never = {"open": None, "active": None, "waiting": None, "wrap_up": None}
    assert Workstream.objects.create(name="Quiet", queue=queue, auto_close_seconds=never).auto_close_seconds == never


@pytest.mark.parametrize(
    "value",
    [{"closed": 60}, {"open": 0}, {"open": -5}, {"waiting": "1d"}, {"active": True}, ["open"]],
)
def test_bad_timers_are_refused(value):
    workstream = Workstream(name="W", queue=Queue.objects.create(name="Q"), auto_close_seconds=value)
    with pytest.raises(ValidationError) as refused:
        workstream.full_clean()
    assert "auto_close_seconds" in refused.value.message_dict


def test_admin_form_edits_timers_per_state_in_friendly_units(client, ada):
    queue = Queue.objects.create(name="Support")
    form = workstream_form(queue, auto_close_waiting_0="30", auto_close_waiting_1=str(DAY),
                           auto_close_wrap_up_0="2", auto_close_wrap_up_1="3600",
                           auto_accept="false", offer_timeout_seconds_0="90", offer_timeout_seconds_1="1")  # fmt: skip
    response = client.post(admin_url(Workstream, "add"), form)
    assert response.status_code == 302, response.context["adminform"].form.errors
    workstream = Workstream.objects.get()
    assert workstream.auto_close_seconds == {"open": None, "active": None, "waiting": 30 * DAY, "wrap_up": 7200}
    assert workstream.auto_accept is False and workstream.offer_timeout_seconds == 90
    page = client.get(admin_url(Workstream, "change", workstream.pk)).text
    assert 'name="auto_close_waiting_0" value="30"' in page
    assert 'name="auto_close_wrap_up_0" value="2"' in page
    assert 'name="auto_close_open_0"' in page and 'name="auto_close_open_0" value' not in page


def test_admin_form_gives_a_new_workstream_the_defaults_when_no_timer_is_set(client, ada):
    queue = Queue.objects.create(name="Support")
    response = client.post(admin_url(Workstream, "add"), workstream_form(queue))
    assert response.status_code == 302
    workstream = Workstream.objects.get()
    assert workstream.auto_close_seconds["waiting"] == 30 * DAY  # persistent (workstream_form's default)
    assert workstream.auto_accept is True and workstream.offer_timeout_seconds == 120


def test_emptying_every_timer_of_an_existing_workstream_means_never(client, ada):
    queue = Queue.objects.create(name="Support")
    client.post(admin_url(Workstream, "add"), workstream_form(queue))
    workstream = Workstream.objects.get()
    data = workstream_form(queue, **{f"auto_close_{s}_0": "" for s in ("open", "active", "waiting", "wrap_up")})
    response = client.post(admin_url(Workstream, "change", workstream.pk), data)
    assert response.status_code == 302
    workstream.refresh_from_db()
    assert workstream.auto_close_seconds == {"open": None, "active": None, "waiting": None, "wrap_up": None}


def test_the_supervise_permission_can_be_granted_through_a_group_in_the_admin(client, ada):
    permission = Permission.objects.get(codename="supervise", content_type__app_label="routing")
    response = client.post(admin_url(Group, "add"), {"name": "Supervisors", "permissions": [permission.pk]})
    assert response.status_code == 302
    sam = get_user_model().objects.create_user("sam", password="pw-sam")
    sam.groups.add(Group.objects.get(name="Supervisors"))
    assert get_user_model().objects.get(pk=sam.pk).has_perm("routing.supervise")

"""The admin center: staff only, and an audit trail of configuration changes
(Django's LogEntry, written by every admin add/change/delete and shown on
each object's history page)."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from django.contrib.admin.models import CHANGE, DELETION, LogEntry
from django.contrib.auth import get_user_model
from django.test import Client

from admin_center.models import OperatingHours, Workstream
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def ada():
    """The administrator."""
    return get_user_model().objects.create_superuser("ada", "ada@example.com", "pw-ada")


def test_anonymous_users_are_sent_to_the_admin_sign_in():
    response = Client().get("/admin/")
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")


def test_agents_without_staff_status_cannot_reach_the_admin():
    widget = factories.make_setup()
    alice = factories.make_agent("alice", queues=[widget.workstream.queue])
    client = Client()
    # the admin's own sign-in refuses a valid non-staff account
    response = client.post("/admin/login/?next=/admin/", {"username": "alice", "password": "pw-alice"})
    assert response.status_code == 200 and "staff account" in response.content.decode()
    # signed in through the workspace's sign-in page: still no admin page
    client.force_login(alice.user)
    for path in (
        "/admin/",
        "/admin/admin_center/workstream/",
        f"/admin/admin_center/workstream/{widget.workstream.pk}/change/",
    ):
        response = client.get(path)
        assert response.status_code == 302 and response["Location"].startswith("/admin/login/"), path
    assert client.get("/workspace/").status_code == 200  # the workspace is theirs


def test_staff_without_permissions_sees_no_configuration():
    clerk = get_user_model().objects.create_user("clerk", password="pw-clerk", is_staff=True)
    client = Client()
    client.force_login(clerk)
    assert client.get("/admin/").status_code == 200
    assert client.get("/admin/admin_center/workstream/").status_code == 403


class FormFields(HTMLParser):
    """The values a browser would submit from the admin's change form."""

    def __init__(self) -> None:
        super().__init__()
        self.data: dict[str, list[str]] = {}
        self.in_form = False
        self.select: str | None = None
        self.first_option: str | None = None
        self.textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and attrs.get("id", "").endswith("_form"):
            self.in_form = True
        if not self.in_form or "name" not in attrs and tag != "option":
            return
        name = attrs.get("name")
        if tag == "input":
            kind = attrs.get("type", "text")
            if kind in ("submit", "button", "file", "image"):
                return
            if kind in ("checkbox", "radio") and "checked" not in attrs:
                return
            self.data.setdefault(name, []).append(attrs.get("value", "on" if kind == "checkbox" else ""))
        elif tag == "select":
            self.select = name
            self.first_option = None
            self.data.setdefault(name, [])
        elif tag == "option" and self.select:
            if self.first_option is None:
                self.first_option = attrs.get("value", "")
            if "selected" in attrs:
                self.data[self.select].append(attrs.get("value", ""))
        elif tag == "textarea":
            self.textarea = name
            self.data[name] = [""]

    def handle_endtag(self, tag):
        if tag == "select":
            if self.select and not self.data[self.select] and self.first_option is not None:
                self.data[self.select].append(self.first_option)  # a browser submits the first option
            self.select = None
        elif tag == "textarea":
            self.textarea = None
        elif tag == "form":
            self.in_form = False

    def handle_data(self, data):
        if self.textarea:
            self.data[self.textarea][-1] += data


def change_through_the_admin(client: Client, path: str, **changes) -> None:
    page = client.get(path)
    assert page.status_code == 200, path
    form = FormFields()
    form.feed(page.content.decode())
    data = {**form.data, **{name: [value] for name, value in changes.items()}, "_save": ["Save"]}
    response = client.post(path, data)
    assert response.status_code == 302, response.content.decode()[:3000]


@pytest.mark.parametrize(
    "model, make",
    [
        ("workstream", lambda: factories.make_setup().workstream),
        ("chatauthenticationsetting", lambda: factories.make_auth_setting()),
    ],
)
def test_configuration_changes_leave_an_audit_trail(ada, model, make):
    obj = make()
    client = Client()
    client.force_login(ada)
    path = f"/admin/admin_center/{model}/{obj.pk}/change/"
    change_through_the_admin(client, path, name="Billing questions")
    obj.refresh_from_db()
    assert obj.name == "Billing questions"
    entry = LogEntry.objects.get(object_id=str(obj.pk), content_type__model=model)
    assert entry.user == ada and entry.action_flag == CHANGE
    assert "Name" in entry.get_change_message()
    # visible in the admin: the object's history page lists who changed what and when
    history = client.get(f"/admin/admin_center/{model}/{obj.pk}/history/").content.decode()
    assert "ada" in history and entry.get_change_message() in history


def test_deletions_are_in_the_audit_trail_too(ada):
    hours = factories.make_hours()
    client = Client()
    client.force_login(ada)
    response = client.post(f"/admin/admin_center/operatinghours/{hours.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not OperatingHours.objects.filter(pk=hours.pk).exists()
    entry = LogEntry.objects.get(object_id=str(hours.pk), content_type__model="operatinghours")
    assert entry.user == ada and entry.action_flag == DELETION and entry.object_repr == str(hours)
    assert Workstream.objects.count() == 0  # nothing else touched

"""The admin center's pages for routing rules and quick replies: the form refuses an unknown queue and an
empty rule on the field; quick replies are listed and saved with their queues."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from admin_center.models import QuickReply, Workstream
from routing.models import Queue
from tests.admin_center.test_admin import workstream_form

pytestmark = pytest.mark.django_db


@pytest.fixture
def ada(client):
    user = get_user_model().objects.create_superuser("ada", "ada@example.com", "ada-password-1")
    client.force_login(user)
    return user


def url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


@pytest.mark.parametrize(
    ("rules", "expected"),
    [
        ([{"when": {"context.tier": "gold"}, "queue": "Nowhere"}], "there is no queue named Nowhere"),
        ([{"when": {}, "queue": "VIP"}], "the rule is empty"),
        ({"when": {}}, "Enter a list of rules."),
    ],
)
def test_the_workstream_form_refuses_bad_routing_rules_on_their_field(client, ada, rules, expected):
    queue = Queue.objects.create(name="Support")
    Queue.objects.create(name="VIP")
    response = client.post(url(Workstream, "add"), workstream_form(queue, routing_rules=json.dumps(rules)))
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert any(expected in message for message in errors["routing_rules"]), errors
    assert not Workstream.objects.exists()


def test_the_workstream_form_saves_routing_rules_and_an_empty_box_means_none(client, ada):
    queue = Queue.objects.create(name="Support")
    Queue.objects.create(name="VIP")
    rules = [{"when": {"context.tier": "gold", "pre_chat.topic": "Billing"}, "queue": "VIP"}]
    response = client.post(url(Workstream, "add"), workstream_form(queue, routing_rules=json.dumps(rules)))
    assert response.status_code == 302
    workstream = Workstream.objects.get()
    assert workstream.routing_rules == rules
    page = client.get(url(Workstream, "change", workstream.pk)).text
    assert "Routing rules" in page and "context.tier" in page
    data = workstream_form(queue, name="Second", routing_rules="")
    assert client.post(url(Workstream, "add"), data).status_code == 302
    assert Workstream.objects.get(name="Second").routing_rules == []


def test_quick_replies_are_managed_in_the_admin_center(client, ada):
    vip = Queue.objects.create(name="VIP")
    data = {"title": "Greeting", "shortcut": "hi", "language": "en", "text": "Hello {customer}", "queues": [vip.pk]}
    assert client.post(url(QuickReply, "add"), data).status_code == 302
    reply = QuickReply.objects.get()
    assert [q.name for q in reply.queues.all()] == ["VIP"]
    listing = client.get(url(QuickReply, "changelist")).text
    assert "/hi" in listing and "VIP" in listing
    bad = client.post(url(QuickReply, "add"), {**data, "title": "Other", "shortcut": "a b", "text": "Hi {nom}"})
    assert bad.status_code == 200
    errors = bad.context["adminform"].form.errors
    assert "shortcut" in errors and "{nom}" in str(errors["text"])

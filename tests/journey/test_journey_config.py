"""The widget's journey settings in the admin center and in import_config / export_config
(../shared/CONFIG.md "Version 2 additions")."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from admin_center import config_io
from admin_center.models import ChatWidget
from conversations.actions import lifecycle, messages
from conversations.models import Customer, Rating
from routing.models import Presence
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)

SURVEY = [
    {"name": "topic", "label": "Topic", "kind": "choice", "required": True, "choices": ["Billing", "Delivery"]},
    {"name": "email", "label": "Email", "kind": "email", "required": False},
]


def document(**widget_keys):
    return {
        "version": 1,
        "queues": [{"name": "Support"}],
        "workstreams": [{"name": "Live", "queue": "Support"}],
        "chat_widgets": [{"public_id": "shop", "name": "Shop", "workstream": "Live", **widget_keys}],
    }


def test_import_sets_the_journey_keys_and_export_gives_them_back():
    result = config_io.import_configuration(
        document(
            pre_chat=SURVEY,
            post_chat_survey=True,
            email_notifications=True,
            return_url="https://shop.example.com/help",
        )
    )
    assert not getattr(result, "problems", None)
    widget = ChatWidget.objects.get(public_id="shop")
    assert widget.pre_chat == SURVEY and widget.post_chat_survey and widget.email_notifications
    assert widget.return_url == "https://shop.example.com/help"
    [exported] = config_io.export_configuration()["chat_widgets"]
    assert exported["pre_chat"] == SURVEY and exported["return_url"] == "https://shop.example.com/help"
    assert exported["post_chat_survey"] is True and exported["email_notifications"] is True


def test_a_version_one_widget_exports_null_survey_and_return_url():
    config_io.import_configuration(document())
    [exported] = config_io.export_configuration()["chat_widgets"]
    assert exported["pre_chat"] is None and exported["return_url"] is None
    assert exported["post_chat_survey"] is False and exported["email_notifications"] is False


@pytest.mark.parametrize(
    ("keys", "problem"),
    [
        ({"pre_chat": [{"name": "topic", "label": "Topic", "kind": "choice"}]}, "chat_widgets[0].pre_chat"),
        ({"pre_chat": [{"name": "Bad Name", "label": "x", "kind": "text"}]}, "chat_widgets[0].pre_chat"),
        ({"pre_chat": [{"name": "a", "label": "x", "kind": "date"}]}, "chat_widgets[0].pre_chat"),
        ({"pre_chat": "topic"}, "chat_widgets[0].pre_chat"),
        ({"return_url": "javascript:alert(1)"}, "chat_widgets[0].return_url"),
        ({"post_chat_survey": "yes"}, "chat_widgets[0].post_chat_survey"),
    ],
)
def test_a_bad_journey_key_is_refused_with_its_path_and_nothing_changes(keys, problem):
    with pytest.raises(config_io.ConfigError) as refused:
        config_io.import_configuration(document(**keys))
    assert any(line.startswith(problem) for line in refused.value.problems), refused.value.problems
    assert not ChatWidget.objects.exists()


def admin_client():
    ada = get_user_model().objects.create_superuser("ada", "ada@example.com", "pw-ada-long-enough")
    client = Client()
    client.force_login(ada)
    return client


def test_the_admin_edits_the_survey_and_refuses_a_bad_one():
    widget = factories.make_setup()
    client = admin_client()
    url = f"/admin/admin_center/chatwidget/{widget.pk}/change/"
    page = client.get(url)
    assert page.status_code == 200 and b"post_chat_survey" in page.content
    form = {
        "name": widget.name,
        "public_id": widget.public_id,
        "workstream": widget.workstream_id,
        "allowed_origins": "https://shop.example.com",
        "title": "Chat",
        "language": "en",
        "color": "#2563eb",
        "enabled": "on",
        "pre_chat": '[{"name": "order", "label": "Order number", "kind": "text", "required": true}]',
        "post_chat_survey": "on",
        "return_url": "https://shop.example.com/help",
    }
    answer = client.post(url, form)
    assert answer.status_code == 302, answer.content.decode()[:2000]
    widget.refresh_from_db()
    assert widget.pre_chat[0]["name"] == "order" and widget.post_chat_survey
    bad = client.post(url, {**form, "pre_chat": '[{"name": "order", "kind": "nope"}]'})
    assert bad.status_code == 200 and "kind" in bad.content.decode()
    widget.refresh_from_db()
    assert widget.pre_chat[0]["kind"] == "text"


def test_the_admins_conversation_page_shows_the_rating_and_transcript_links():
    widget = factories.make_setup(persistent=True)
    alice = factories.make_agent("alice", presence=Presence.AVAILABLE, queues=[widget.workstream.queue])
    carol = Customer.objects.create(authentication=widget.authentication, subject="carol", name="Carol")
    _m, conversation, _ = messages.customer_message(carol, widget, client_id="c1", text="Help")
    lifecycle.end(alice, conversation.id)
    Rating.objects.create(conversation=conversation, score=4, comment="<b>fast</b>")
    page = admin_client().get(f"/admin/conversations/conversation/{conversation.pk}/change/").content.decode()
    assert "★★★★☆" in page and "&lt;b&gt;fast&lt;/b&gt;" in page
    assert f"/workspace/transcript/{conversation.pk}/?format=html" in page

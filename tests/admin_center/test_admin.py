"""The admin center: every page renders for a superuser in English and Russian; the forms apply the rules."""

from __future__ import annotations

import uuid

import pytest
from django.contrib import admin
from django.contrib.admin.models import LogEntry
from django.contrib.auth import get_user_model
from django.urls import reverse

from admin_center.models import ChatWidget, OperatingHours, Workstream
from conversations.actions import messages
from conversations.models import Conversation, ConversationEvent, Customer, State
from routing.models import AgentProfile, Presence, Queue
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def ada(client):
    user = get_user_model().objects.create_superuser("ada", "ada@example.com", "ada-password-1")
    client.force_login(user)
    return user


def admin_url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def registered_models():
    return sorted(admin.site._registry, key=lambda model: model._meta.label)


@pytest.mark.parametrize("language", ["en", "ru"])
def test_every_changelist_and_add_form_renders(client, ada, language):
    factories.make_setup(persistent=True)
    client.cookies["django_language"] = language
    for model in registered_models():
        response = client.get(admin_url(model, "changelist"), HTTP_ACCEPT_LANGUAGE=language)
        assert response.status_code == 200, model
        assert f'lang="{language}"' in response.text
        if admin.site._registry[model].has_add_permission(response.wsgi_request):
            assert client.get(admin_url(model, "add"), HTTP_ACCEPT_LANGUAGE=language).status_code == 200, model


@pytest.mark.parametrize("language", ["en", "ru"])
def test_every_change_page_renders(client, ada, language):
    widget = factories.make_setup(persistent=True, hours=factories.make_hours())
    agent = factories.make_agent("alice", queues=[widget.workstream.queue])
    customer = Customer.objects.create(name="Carol", subject="carol", authentication=widget.authentication)
    messages.customer_message(customer, widget, client_id="c1", text="<b>Hello</b>")
    objects = [widget, widget.workstream, widget.authentication, widget.workstream.queue, agent, agent.user, customer]
    objects += [widget.workstream.queue.operating_hours, Conversation.objects.get()]
    for obj in objects:
        response = client.get(admin_url(type(obj), "change", obj.pk), HTTP_ACCEPT_LANGUAGE=language)
        assert response.status_code == 200, obj


def test_site_is_branded_and_grouped(client, ada):
    response = client.get(reverse("admin:index"))
    assert "Customer Service admin center" in response.text
    groups = [app["name"] for app in response.context["app_list"]]
    # The groups follow the set-up order of the dashboard's checklist.
    assert [str(name) for name in groups[:6]] == [
        "1. Authentication",
        "2. Operating hours",
        "3. Queues and agents",
        "4. Workstreams",
        "5. Chat widgets",
        "Conversations",
    ]
    third = [model["object_name"] for model in response.context["app_list"][2]["models"]]
    assert third == ["Queue", "AgentProfile", "User", "Group"]


def test_site_header_in_russian(client, ada):
    response = client.get(reverse("admin:index"), HTTP_ACCEPT_LANGUAGE="ru")
    assert 'lang="ru"' in response.text


def test_admin_center_is_staff_only(client):
    user = get_user_model().objects.create_user("alice", password="pw-alice-1")
    client.force_login(user)
    response = client.get(admin_url(Workstream, "changelist"))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def workstream_form(queue, **changes) -> dict:
    data = {
        "name": "Support chat",
        "persistent": "on",
        "same_agent": "on",
        "distribution": "push",
        "queue": str(queue.pk),
        "capacity_units": "50",
        "auto_close_after_inactivity_seconds_0": "28",
        "auto_close_after_inactivity_seconds_1": "86400",
        "wrap_up_seconds_0": "2",
        "wrap_up_seconds_1": "60",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def test_workstream_form_stores_friendly_durations_as_seconds(client, ada):
    queue = Queue.objects.create(name="Support")
    response = client.post(admin_url(Workstream, "add"), workstream_form(queue))
    assert response.status_code == 302
    workstream = Workstream.objects.get()
    assert workstream.auto_close_after_inactivity_seconds == 28 * 86400 and workstream.wrap_up_seconds == 120
    page = client.get(admin_url(Workstream, "change", workstream.pk)).text
    assert 'name="auto_close_after_inactivity_seconds_0" value="28"' in page


def test_workstream_form_refuses_persistent_without_same_agent_on_the_field(client, ada):
    queue = Queue.objects.create(name="Support")
    response = client.post(admin_url(Workstream, "add"), workstream_form(queue, same_agent=None))
    assert response.status_code == 200
    form = response.context["adminform"].form
    assert form.errors["same_agent"] == ['persistent chat requires "same agent for the entire conversation"']
    assert "__all__" not in form.errors
    assert not Workstream.objects.exists()


def test_workstream_form_shows_persistent_and_same_agent_together_with_help(client, ada):
    page = client.get(admin_url(Workstream, "add")).text
    persistent, same_agent = page.index('name="persistent"'), page.index('name="same_agent"')
    assert 0 < same_agent - persistent < 2500
    assert "Required for persistent chat." in page


def widget_form(workstream, **changes) -> dict:
    data = {
        "name": "Shop widget",
        "public_id": "shop-support",
        "enabled": "on",
        "workstream": str(workstream.pk),
        "authentication": "",
        "allowed_origins": "https://shop.example.com\nhttp://localhost:8000",
        "title": "Chat with us",
        "language": "en",
        "color": "#2563eb",
        "message_agent_joined": "{agent} is here.",
    }
    data.update(changes)
    return data


def test_widget_form_saves_origins_and_message_overrides(client, ada):
    workstream = factories.make_setup().workstream
    response = client.post(admin_url(ChatWidget, "add"), widget_form(workstream))
    assert response.status_code == 302
    widget = ChatWidget.objects.get(public_id="shop-support")
    assert widget.allowed_origins == ["https://shop.example.com", "http://localhost:8000"]
    assert widget.messages == {"agent_joined": "{agent} is here."}


def test_widget_form_refuses_persistent_workstream_without_authentication(client, ada):
    workstream = factories.make_setup(persistent=True).workstream
    response = client.post(admin_url(ChatWidget, "add"), widget_form(workstream))
    errors = response.context["adminform"].form.errors
    assert "requires an authentication setting" in errors["authentication"][0]


@pytest.mark.parametrize(
    ("field", "value", "error_field", "expected"),
    [
        ("public_id", "Shop_Support", "public_id", "Use 3-64 characters"),
        ("allowed_origins", "https://shop.example.com/page", "allowed_origins", "is not an origin"),
        ("message_agent_joined", "{name} is here", "message_agent_joined", "unknown placeholder {name}"),
    ],
)
def test_widget_form_shows_each_rule_on_its_field(client, ada, field, value, error_field, expected):
    workstream = factories.make_setup().workstream
    response = client.post(admin_url(ChatWidget, "add"), widget_form(workstream, **{field: value}))
    assert response.status_code == 200
    assert expected in " ".join(response.context["adminform"].form.errors[error_field])


def test_widget_page_shows_the_embed_snippet(client, ada):
    widget = factories.make_setup()
    page = client.get(admin_url(ChatWidget, "change", widget.pk)).text
    snippet = (
        f"&lt;script src=&quot;http://testserver/static/widget/loader.js&quot; "
        f"data-parley-widget=&quot;{widget.public_id}&quot; async&gt;&lt;/script&gt;"
    )
    assert snippet in page


def test_authentication_form_refuses_a_key_that_is_not_a_public_key(client, ada):
    data = {"name": "Shop JWT", "public_key_pem": "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----",
            "issuer": "", "javascript_function": "getChatToken"}  # fmt: skip
    response = client.post(reverse("admin:admin_center_chatauthenticationsetting_add"), data)
    assert "not an RSA or EC public key" in response.context["adminform"].form.errors["public_key_pem"][0]


def test_operating_hours_form_reads_days_as_text(client, ada):
    data = {"name": "Business", "timezone": "Europe/Moscow", "day_mon": "09:00-13:00, 14:00-18:00",
            "day_fri": "22:00-06:00", "closed_dates": "2026-12-31\n2027-01-01"}  # fmt: skip
    assert client.post(admin_url(OperatingHours, "add"), data).status_code == 302
    hours = OperatingHours.objects.get()
    assert hours.weekly == {"mon": [["09:00", "13:00"], ["14:00", "18:00"]], "fri": [["22:00", "06:00"]]}
    assert hours.closed_dates == ["2026-12-31", "2027-01-01"]


def test_operating_hours_form_puts_a_bad_interval_on_its_day(client, ada):
    data = {"name": "Business", "timezone": "Europe/Moscow", "day_tue": "9-18", "closed_dates": "31.12.2026"}
    response = client.post(admin_url(OperatingHours, "add"), data)
    errors = response.context["adminform"].form.errors
    assert "tue:" in errors["day_tue"][0] and "31.12.2026" in errors["closed_dates"][0]


def test_agent_is_managed_with_the_user_including_queues(client, ada):
    queue = Queue.objects.create(name="Support")
    user = get_user_model().objects.create_user("bob", password="pw-bob-12345")
    prefix = "agent_profile"
    data = {
        "username": "bob", "first_name": "", "last_name": "", "email": "", "is_active": "on",
        "date_joined_0": "2026-01-01", "date_joined_1": "00:00:00",
        f"{prefix}-TOTAL_FORMS": "1", f"{prefix}-INITIAL_FORMS": "0", f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1", f"{prefix}-0-display_name": "Bob Brown", f"{prefix}-0-capacity": "80",
        f"{prefix}-0-presence": "offline", f"{prefix}-0-queues": [str(queue.pk)],
    }  # fmt: skip
    response = client.post(admin_url(get_user_model(), "change", user.pk), data)
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    agent = AgentProfile.objects.get(user=user)
    assert agent.capacity == 80 and list(agent.queues.all()) == [queue]


def test_conversations_are_read_only_with_transcript_as_text(client, ada):
    widget = factories.make_setup()
    customer = Customer.objects.create(name="Carol")
    messages.customer_message(customer, widget, client_id="c1", text="<b>Hello</b>")
    conversation = Conversation.objects.get()
    page = client.get(admin_url(Conversation, "change", conversation.pk)).text
    assert "&lt;b&gt;Hello&lt;/b&gt;" in page and "<b>Hello</b>" not in page
    assert 'name="_save"' not in page
    assert client.post(admin_url(Conversation, "change", conversation.pk), {}).status_code == 403


def test_conversation_changelist_filters_and_search(client, ada):
    widget = factories.make_setup()
    messages.customer_message(Customer.objects.create(name="Carol Client"), widget, client_id="c1", text="Hi")
    messages.customer_message(Customer.objects.create(name="Dave Other"), widget, client_id="c2", text="Hi")
    response = client.get(admin_url(Conversation, "changelist"), {"q": "Carol"})
    assert [str(c.customer) for c in response.context["cl"].result_list] == ["Carol Client"]
    response = client.get(admin_url(Conversation, "changelist"), {"state__exact": "closed"})
    assert list(response.context["cl"].result_list) == []
    other = factories.make_setup()
    messages.customer_message(Customer.objects.create(name="Erin Else"), other, client_id="c3", text="Hi")
    response = client.get(admin_url(Conversation, "changelist"), {"workstream__id__exact": str(other.workstream.pk)})
    assert [str(c.customer) for c in response.context["cl"].result_list] == ["Erin Else"]
    assert admin.site._registry[Conversation].list_filter == ["state", "mode", "workstream", "agent"]


@pytest.mark.django_db(transaction=True)
def test_reassign_action_moves_the_conversation_through_the_service(client, ada):
    widget = factories.make_setup(capacity_units=30)
    queue = widget.workstream.queue
    alice = factories.make_agent("alice", presence=Presence.AVAILABLE, queues=[queue])
    bob = factories.make_agent("bob", presence=Presence.OFFLINE, queues=[queue])
    _m, conversation, _ = messages.customer_message(
        Customer.objects.create(name="Carol"), widget, client_id=uuid.uuid4().hex, text="Hello"
    )
    conversation.refresh_from_db()
    assert conversation.state == State.ACTIVE and conversation.agent_id == alice.pk
    url = admin_url(Conversation, "changelist")
    form = client.post(url, {"action": "reassign_to_agent", "_selected_action": [str(conversation.pk)]})
    assert form.status_code == 200 and "New agent" in form.text
    done = client.post(
        url, {"action": "reassign_to_agent", "_selected_action": [str(conversation.pk)], "agent": str(bob.pk)}
    )
    assert done.status_code == 302
    conversation.refresh_from_db()
    assert conversation.agent_id == bob.pk
    assert AgentProfile.objects.get(pk=bob.pk).used_capacity == 30
    assert AgentProfile.objects.get(pk=alice.pk).used_capacity == 0
    assert ConversationEvent.objects.filter(conversation=conversation, actor_name="ada").exists()
    entry = LogEntry.objects.get(object_id=str(conversation.pk))
    assert entry.user.get_username() == "ada" and f"agent {bob.pk}" in entry.change_message

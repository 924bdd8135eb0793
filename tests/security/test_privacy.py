"""One customer's data: export, erase (function and management commands) and
the retention period applied by the timer sweep (conversations/privacy.py)."""

from __future__ import annotations

import io
import json
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from conversations.actions import lifecycle, messages, privacy, sessions, sweep
from conversations.models import Connection, Conversation, ConversationEvent, Customer, Message
from routing.models import AgentProfile, Presence
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)


def carol_with_history():
    """carol: one closed persistent conversation and one active one with alice; bob's customer is untouched."""
    widget = factories.make_setup(persistent=True, capacity_units=30)
    alice = factories.make_agent("alice", presence=Presence.AVAILABLE, queues=[widget.workstream.queue])
    carol = Customer.objects.create(
        authentication=widget.authentication, subject="carol-1", name="Carol", email="carol@example.com"
    )
    _m, first, _ = messages.customer_message(carol, widget, client_id="c1", text="my order <b>42</b>")
    messages.agent_message(alice, first.id, client_id="a1", text="On its way")
    lifecycle.end(alice, first.id)
    _m, second, _ = messages.customer_message(carol, widget, client_id="c2", text="another question")
    sessions.customer_connected(carol, widget, channel_name="carol-socket", ip_address="10.0.0.1")
    other = Customer.objects.create(authentication=widget.authentication, subject="dave-1", name="Dave")
    messages.customer_message(other, widget, client_id="d1", text="not carol")
    return widget, alice, carol, first, second, other


def test_export_has_profile_every_conversation_message_and_transition():
    _widget, _alice, carol, first, second, _other = carol_with_history()
    data = privacy.export_customer(carol)
    json.dumps(data)  # JSON-ready
    assert data["customer"]["subject"] == "carol-1" and data["customer"]["email"] == "carol@example.com"
    assert [c["id"] for c in data["conversations"]] == [str(first.id), str(second.id)]
    closed, active = data["conversations"]
    assert closed["state"] == "closed" and active["state"] == "active"
    assert [(m["seq"], m["sender"]["role"], m["text"]) for m in closed["messages"]] == [
        (1, "customer", "my order <b>42</b>"),
        (2, "agent", "On its way"),
    ]
    assert [(e["from"], e["to"]) for e in closed["events"]] == [("", "open"), ("open", "active"), ("active", "closed")]
    assert all(m["text"] != "not carol" for c in data["conversations"] for m in c["messages"])


def test_erase_closes_running_conversations_frees_capacity_and_deletes_only_that_customer():
    widget, alice, carol, first, second, other = carol_with_history()
    assert AgentProfile.objects.get(pk=alice.pk).used_capacity == 60  # carol's and dave's conversations
    counts = privacy.erase_customer(carol)
    # events: first 3 (created, assigned, closed), second 3 (created, assigned, closed by the erase)
    assert counts == {
        "conversations": 2,
        "messages": 3,
        "events": 6,
        "connections": 1,
        "files": 0,
        "webhook_deliveries": 0,
        "customers": 1,
    }
    assert not Customer.objects.filter(pk=carol.pk).exists()
    assert not Conversation.objects.filter(pk__in=[first.pk, second.pk]).exists()
    assert not Message.objects.filter(conversation_id__in=[first.pk, second.pk]).exists()
    assert not ConversationEvent.objects.filter(conversation_id__in=[first.pk, second.pk]).exists()
    assert not Connection.objects.filter(channel_name="carol-socket").exists()
    assert AgentProfile.objects.get(pk=alice.pk).used_capacity == 30  # only dave's remains
    assert Customer.objects.filter(pk=other.pk).exists()
    assert Message.objects.filter(conversation__customer=other).count() == 1


def test_export_command_by_subject_and_to_file(tmp_path):
    _widget, _alice, carol, *_ = carol_with_history()
    out = io.StringIO()
    call_command("export_customer", "--subject", "carol-1", stdout=out)
    assert json.loads(out.getvalue())["customer"]["id"] == str(carol.pk)
    target = tmp_path / "carol.json"
    call_command("export_customer", str(carol.pk), "--output", str(target), stderr=io.StringIO())
    assert len(json.loads(target.read_text())["conversations"]) == 2
    with pytest.raises(CommandError, match="No such customer"):
        call_command("export_customer", "--email", "nobody@example.com")
    with pytest.raises(CommandError, match="exactly one"):
        call_command("export_customer")
    with pytest.raises(CommandError, match="not a customer id"):
        call_command("export_customer", "not-a-uuid")


def test_erase_command_needs_confirmation_then_erases():
    _widget, _alice, carol, *_ = carol_with_history()
    with pytest.raises(CommandError, match="--yes"):
        call_command("erase_customer", "--email", "CAROL@example.com")
    assert Customer.objects.filter(pk=carol.pk).exists()
    out = io.StringIO()
    call_command("erase_customer", "--email", "CAROL@example.com", "--yes", stdout=out)
    result = json.loads(out.getvalue())
    assert result["customer"] == str(carol.pk) and result["deleted"]["conversations"] == 2
    assert not Customer.objects.filter(pk=carol.pk).exists()


def test_retention_deletes_closed_conversations_past_the_period(settings):
    _widget, _alice, carol, first, second, _other = carol_with_history()
    settings.PARLEY_RETENTION_DAYS = 0
    Conversation.objects.filter(pk=first.pk).update(closed_at=timezone.now() - timedelta(days=4000))
    assert sweep.sweep()["expired"] == 0  # 0 keeps everything forever
    assert Conversation.objects.filter(pk=first.pk).exists()
    settings.PARLEY_RETENTION_DAYS = 30
    Conversation.objects.filter(pk=first.pk).update(closed_at=timezone.now() - timedelta(days=29))
    assert sweep.sweep()["expired"] == 0
    Conversation.objects.filter(pk=first.pk).update(closed_at=timezone.now() - timedelta(days=31))
    # an old running conversation is never deleted, however old
    Conversation.objects.filter(pk=second.pk).update(created_at=timezone.now() - timedelta(days=400))
    assert sweep.sweep()["expired"] == 1
    assert not Conversation.objects.filter(pk=first.pk).exists()
    assert not Message.objects.filter(conversation_id=first.pk).exists()
    assert Conversation.objects.get(pk=second.pk).state == "active"
    assert Customer.objects.filter(pk=carol.pk).exists()


@pytest.mark.asyncio
async def test_erase_closes_the_customers_open_sockets():
    from channels.db import database_sync_to_async as db

    from tests.support import sockets

    widget = await db(factories.make_setup)()
    client, welcome = await sockets.customer(widget)
    await client.request({"type": "send", "client_id": "c1", "text": "erase me"})
    customer = await db(Customer.objects.get)(pk=welcome["customer"]["id"])
    counts = await db(privacy.erase_customer)(customer)
    assert counts["connections"] == 1 and counts["messages"] == 1
    assert await client.wait_closed() == 4403


# --- the admin center's actions on customers ----------------------------------------------------------


def admin_client(*, superuser: bool):
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Permission
    from django.test import Client

    user = get_user_model().objects.create_user("ada", password="pw", is_staff=True, is_superuser=superuser)
    if not superuser:
        user.user_permissions.add(Permission.objects.get(codename="view_customer"))
    client = Client()
    client.force_login(user)
    return client


CUSTOMERS = "/admin/conversations/customer/"


def test_admin_exports_one_customer_as_a_json_download():
    _widget, _alice, carol, first, second, _other = carol_with_history()
    client = admin_client(superuser=True)
    response = client.post(CUSTOMERS, {"action": "export_data", "_selected_action": [carol.pk]})
    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="customer-{carol.pk}.json"'
    data = json.loads(response.content)
    expected = json.loads(json.dumps(privacy.export_customer(carol)))
    assert data["format"] == expected["format"] and data["conversations"] == expected["conversations"]
    assert (data["customer"]["subject"], data["customer"]["email"]) == ("carol-1", "carol@example.com")
    assert [c["id"] for c in data["conversations"]] == [str(first.id), str(second.id)]


def test_admin_erase_asks_first_then_erases_and_logs_who_did_it():
    from django.contrib.admin.models import DELETION, LogEntry

    _widget, alice, carol, _first, _second, other = carol_with_history()
    client = admin_client(superuser=True)
    asked = client.post(CUSTOMERS, {"action": "erase_data", "_selected_action": [carol.pk]})
    assert asked.status_code == 200 and "Yes, erase" in asked.content.decode()
    assert Customer.objects.filter(pk=carol.pk).exists()  # nothing happens before the confirmation

    done = client.post(CUSTOMERS, {"action": "erase_data", "_selected_action": [carol.pk], "confirm": "yes"})
    assert done.status_code == 302
    assert not Customer.objects.filter(pk=carol.pk).exists()
    assert not Conversation.objects.filter(customer_id=carol.pk).exists()
    assert Customer.objects.filter(pk=other.pk).exists()
    assert AgentProfile.objects.get(pk=alice.pk).used_capacity == 30  # only dave's conversation holds capacity
    entry = LogEntry.objects.get(action_flag=DELETION, object_id=str(carol.pk))
    assert entry.user.username == "ada"


def test_admin_erase_needs_the_delete_permission_export_does_not():
    _widget, _alice, carol, _first, _second, _other = carol_with_history()
    client = admin_client(superuser=False)
    page = client.get(CUSTOMERS).content.decode()
    assert 'value="export_data"' in page and 'value="erase_data"' not in page
    refused = client.post(CUSTOMERS, {"action": "erase_data", "_selected_action": [carol.pk], "confirm": "yes"})
    assert refused.status_code in (200, 302)
    assert Customer.objects.filter(pk=carol.pk).exists()

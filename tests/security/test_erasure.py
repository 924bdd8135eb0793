"""Erasure that erases (issue 18, item 7): one transaction, no personal data in the admin history, the
customer's files go too; ``check_capacity`` finds and repairs a drifted ``used_capacity``."""

from __future__ import annotations

import io

import pytest
from django.contrib.admin.models import DELETION, LogEntry
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command

from conversations.actions import files, messages, privacy
from conversations.models import Attachment, Conversation, Customer, State
from routing.models import AgentProfile, Presence
from tests import factories
from tests.journey.files_support import PNG
from tests.security.test_privacy import CUSTOMERS, admin_client, carol_with_history

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_admins_erase_writes_the_customer_id_with_a_fixed_label_and_nothing_they_told_us():
    _widget, _alice, carol, _first, _second, _other = carol_with_history()
    client = admin_client(superuser=True)
    done = client.post(CUSTOMERS, {"action": "erase_data", "_selected_action": [carol.pk], "confirm": "yes"})
    assert done.status_code == 302
    assert not Customer.objects.filter(pk=carol.pk).exists()
    [entry] = LogEntry.objects.filter(object_id=str(carol.pk))
    assert entry.action_flag == DELETION and entry.user.username == "ada"
    assert entry.object_repr == "Customer data erased"
    for entry in LogEntry.objects.all():
        text = f"{entry.object_repr} {entry.change_message}"
        assert "Carol" not in text and "carol@example.com" not in text


def test_an_erase_that_fails_changes_nothing(monkeypatch):
    _widget, alice, carol, _first, second, _other = carol_with_history()
    used = AgentProfile.objects.get(pk=alice.pk).used_capacity

    def broken(conversation_ids):
        raise RuntimeError("outbox unavailable")

    monkeypatch.setattr(privacy.webhook_outbox, "forget", broken)
    with pytest.raises(RuntimeError):
        privacy.erase_customer(carol)
    # the running conversation was not closed on its own: the erasure is one transaction
    assert Conversation.objects.get(pk=second.pk).state == State.ACTIVE
    assert AgentProfile.objects.get(pk=alice.pk).used_capacity == used
    assert Customer.objects.filter(pk=carol.pk).exists()


def test_erasing_a_customer_deletes_their_files_attached_or_not(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    widget = factories.make_setup(persistent=True)
    carol = Customer.objects.create(authentication=widget.authentication, subject="carol-files", name="Carol")
    attached = files.store_upload(SimpleUploadedFile("shot.png", PNG), customer=carol)
    messages.customer_message(carol, widget, client_id="c1", text="look", attachments=[str(attached.id)])
    loose = files.store_upload(SimpleUploadedFile("loose.png", PNG), customer=carol)
    stored = [attached.file.path, loose.file.path]
    assert all((tmp_path / path).exists() for path in stored)

    counts = privacy.erase_customer(carol)

    assert counts["files"] == 2
    assert not Attachment.objects.filter(pk__in=[attached.pk, loose.pk]).exists()
    assert not any((tmp_path / path).exists() for path in stored)


def test_check_capacity_finds_the_drift_and_fix_repairs_it():
    _widget, alice, _carol, _first, _second, _other = carol_with_history()
    bob = factories.make_agent("bob", presence=Presence.AVAILABLE)
    held = AgentProfile.objects.get(pk=alice.pk).used_capacity
    assert held == 60  # carol's and dave's running conversations, 30 units each
    AgentProfile.objects.filter(pk=alice.pk).update(used_capacity=95)  # leaked: capacity nobody holds

    with pytest.raises(CommandError, match="1 agent"):
        call_command("check_capacity", stdout=io.StringIO())
    assert AgentProfile.objects.get(pk=alice.pk).used_capacity == 95  # checking changes nothing

    out = io.StringIO()
    call_command("check_capacity", "--fix", stdout=out)
    assert '"stored": 95' in out.getvalue() and '"held": 60' in out.getvalue()
    assert AgentProfile.objects.get(pk=alice.pk).used_capacity == 60
    assert AgentProfile.objects.get(pk=bob.pk).used_capacity == 0
    out = io.StringIO()
    call_command("check_capacity", stdout=out)
    assert "matches" in out.getvalue()

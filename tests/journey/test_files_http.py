"""Files over HTTP: the widget's upload endpoint, the file address, and the sweep of unattached uploads
(../PROTOCOL.md "Version 2 additions": uploads, Message attachments)."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client
from django.utils import timezone

from conversations.actions import files, lifecycle, messages, privacy
from conversations.models import Attachment, Customer, Message
from conversations.serializers import signed_file_url
from routing.models import Presence
from tests import factories
from tests.journey.files_support import EXE, GIF, HTML, PDF, PNG, SVG, TEXT, docx

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def widget():
    return factories.make_setup(persistent=True)


@pytest.fixture
def carol(widget):
    return Customer.objects.create(authentication=widget.authentication, subject="carol", name="Carol")


def upload(widget, customer, name: str, content: bytes, *, token: str | None = None):
    token = files.upload_token(customer, widget) if token is None else token
    return Client().post(
        f"/files/widget/{widget.public_id}/",
        {"file": SimpleUploadedFile(name, content, content_type="application/octet-stream")},
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )


def attach_to_message(customer, widget, attachment_id):
    """carol's message holding the upload, the way a ``send`` with ``attachments`` stores it."""
    message, conversation, _ = messages.customer_message(
        customer, widget, client_id=f"m-{attachment_id}", text="see the file"
    )
    with transaction.atomic():  # the rows are locked (PostgreSQL) until they are attached
        uploads = files.lock_uploads(files.check_upload_ids([attachment_id]), customer=customer)
        files.attach(uploads, Message.objects.get(pk=message.pk))
    return conversation


# --- uploading -----------------------------------------------------------------------------------


def test_customer_uploads_a_png_and_gets_its_id_name_size_and_type(widget, carol):
    answer = upload(widget, carol, "screenshot.png", PNG)
    assert answer.status_code == 201
    body = answer.json()
    assert body["name"] == "screenshot.png" and body["size"] == len(PNG) and body["content_type"] == "image/png"
    stored = Attachment.objects.get(pk=body["id"])
    assert stored.customer_id == carol.id and stored.message_id is None
    assert stored.file.read() == PNG
    assert "screenshot" not in stored.file.name  # stored under a random name, never the customer's


@pytest.mark.parametrize(
    ("name", "content", "content_type"),
    [
        ("photo.gif", GIF, "image/gif"),
        ("invoice.pdf", PDF, "application/pdf"),
        ("notes.txt", TEXT, "text/plain"),
        ("letter.docx", docx(), "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    ],
)
def test_allowed_kinds_of_file_are_accepted_by_their_content(widget, carol, name, content, content_type):
    answer = upload(widget, carol, name, content)
    assert answer.status_code == 201, answer.content
    assert answer.json()["content_type"] == content_type


def test_the_type_comes_from_the_bytes_and_the_name_gets_the_matching_extension(widget, carol):
    answer = upload(widget, carol, "invoice.pdf", PNG)
    assert answer.status_code == 201
    assert answer.json()["content_type"] == "image/png"
    assert answer.json()["name"] == "invoice.png"


@pytest.mark.parametrize(
    ("name", "content"),
    [("holiday.jpg", EXE), ("readme.txt", HTML), ("logo.png", SVG), ("setup.pdf", EXE)],
)
def test_a_file_renamed_to_a_harmless_extension_is_refused_with_415(widget, carol, name, content):
    answer = upload(widget, carol, name, content)
    assert answer.status_code == 415
    assert answer.json()["code"] == "unsupported_type"
    assert Attachment.objects.count() == 0


def test_a_zero_byte_file_is_refused_with_400(widget, carol):
    answer = upload(widget, carol, "empty.png", b"")
    assert answer.status_code == 400
    assert "empty" in answer.json()["message"]
    assert Attachment.objects.count() == 0


def test_a_file_over_the_limit_is_refused_with_413(widget, carol, settings):
    settings.PARLEY_MAX_UPLOAD_BYTES = 64
    answer = upload(widget, carol, "big.txt", b"x" * 65)
    assert answer.status_code == 413
    assert answer.json()["code"] == "too_large"
    assert Attachment.objects.count() == 0


def test_a_request_body_far_over_the_limit_is_refused_before_it_is_read(widget, carol, settings):
    settings.PARLEY_MAX_UPLOAD_BYTES = 10
    answer = upload(widget, carol, "big.txt", b"y" * (200 * 1024))
    assert answer.status_code == 413


def test_the_refusal_is_in_the_widgets_language(carol, settings):
    widget = factories.make_setup(persistent=True, language="ru", auth=carol.authentication)
    settings.PARLEY_MAX_UPLOAD_BYTES = 64
    # only the English catalogue is certain to exist in a fresh tree; the message must at least be the
    # translated one when a catalogue exists, and never a server error
    answer = upload(widget, carol, "big.txt", b"x" * 65)
    assert answer.status_code == 413 and answer.json()["message"]


@pytest.mark.parametrize("token", ["", "not-a-token", "eyJjIjoiMSJ9:forged:signature"])
def test_an_upload_without_a_valid_upload_token_is_refused(widget, carol, token):
    answer = Client().post(
        f"/files/widget/{widget.public_id}/",
        {"file": SimpleUploadedFile("a.png", PNG)},
        **({"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}),
    )
    assert answer.status_code == 401
    assert Attachment.objects.count() == 0


def test_an_upload_token_of_another_widget_is_refused(widget, carol):
    other = factories.make_setup(persistent=True, auth=widget.authentication)
    answer = upload(widget, carol, "a.png", PNG, token=files.upload_token(carol, other))
    assert answer.status_code == 401


def test_an_upload_without_the_file_field_is_a_bad_request(widget, carol):
    answer = Client().post(
        f"/files/widget/{widget.public_id}/",
        {"other": "x"},
        HTTP_AUTHORIZATION=f"Bearer {files.upload_token(carol, widget)}",
    )
    assert answer.status_code == 400


def test_agents_upload_from_the_workspace_with_their_session(widget):
    alice = factories.make_agent("alice")
    client = Client()
    client.force_login(alice.user)
    answer = client.post("/files/workspace/", {"file": SimpleUploadedFile("shot.png", PNG)})
    assert answer.status_code == 201
    assert Attachment.objects.get(pk=answer.json()["id"]).agent_id == alice.id
    anonymous = Client().post("/files/workspace/", {"file": SimpleUploadedFile("shot.png", PNG)})
    assert anonymous.status_code in (403, 302)


# --- reading a file --------------------------------------------------------------------------------


def test_an_attached_image_is_served_inline_with_nosniff_to_the_signed_address(widget, carol):
    attachment_id = upload(widget, carol, "shot.png", PNG).json()["id"]
    attach_to_message(carol, widget, attachment_id)
    url = signed_file_url(attachment_id)
    answer = Client().get(url)
    assert answer.status_code == 200
    assert b"".join(answer.streaming_content) == PNG
    assert answer["Content-Type"] == "image/png"
    assert answer["X-Content-Type-Options"] == "nosniff"
    assert answer["Content-Disposition"].startswith("inline")
    assert "sandbox" in answer["Content-Security-Policy"]


def test_a_pdf_or_text_file_is_always_downloaded_as_an_attachment(widget, carol):
    for name, content in (("invoice.pdf", PDF), ("notes.txt", TEXT)):
        attachment_id = upload(widget, carol, name, content).json()["id"]
        attach_to_message(carol, widget, attachment_id)
        answer = Client().get(signed_file_url(attachment_id))
        assert answer.status_code == 200
        assert answer["Content-Disposition"].startswith("attachment"), name


def test_a_file_address_without_a_valid_signature_is_not_found(widget, carol):
    attachment_id = upload(widget, carol, "shot.png", PNG).json()["id"]
    attach_to_message(carol, widget, attachment_id)
    url = signed_file_url(attachment_id)
    assert Client().get(url.split("?")[0]).status_code == 404
    assert Client().get(url[:-4] + "0000").status_code == 404
    expired = signed_file_url(attachment_id, now=timezone.now().timestamp() - 3 * 24 * 3600)
    assert Client().get(expired).status_code == 404


def test_the_conversations_agent_reads_the_file_with_the_session_and_another_agent_does_not(widget, carol):
    alice = factories.make_agent("alice", presence=Presence.AVAILABLE, queues=[widget.workstream.queue])
    mallory = factories.make_agent("mallory")
    attachment_id = upload(widget, carol, "shot.png", PNG).json()["id"]
    conversation = attach_to_message(carol, widget, attachment_id)
    conversation.refresh_from_db()
    assert conversation.agent_id == alice.id
    for agent, status in ((alice, 200), (mallory, 404)):
        client = Client()
        client.force_login(agent.user)
        assert client.get(f"/files/{attachment_id}/").status_code == status


def test_the_customer_reads_the_file_with_the_upload_token_and_another_customer_does_not(widget, carol):
    dave = Customer.objects.create(authentication=widget.authentication, subject="dave", name="Dave")
    attachment_id = upload(widget, carol, "shot.png", PNG).json()["id"]
    attach_to_message(carol, widget, attachment_id)
    for customer, status in ((carol, 200), (dave, 404)):
        answer = Client().get(
            f"/files/{attachment_id}/?widget={widget.public_id}",
            HTTP_AUTHORIZATION=f"Bearer {files.upload_token(customer, widget)}",
        )
        assert answer.status_code == status


def test_an_unattached_upload_is_readable_only_by_who_uploaded_it(widget, carol):
    dave = Customer.objects.create(authentication=widget.authentication, subject="dave", name="Dave")
    attachment_id = upload(widget, carol, "shot.png", PNG).json()["id"]

    def read(customer):
        return Client().get(
            f"/files/{attachment_id}/?widget={widget.public_id}",
            HTTP_AUTHORIZATION=f"Bearer {files.upload_token(customer, widget)}",
        )

    assert read(carol).status_code == 200
    assert read(dave).status_code == 404
    assert Client().get(signed_file_url(attachment_id)).status_code == 404


# --- cleaning up -----------------------------------------------------------------------------------


def test_uploads_not_attached_within_a_day_are_deleted_with_their_files(widget, carol, settings):
    kept_id = upload(widget, carol, "kept.png", PNG).json()["id"]
    attach_to_message(carol, widget, kept_id)
    stale_id = upload(widget, carol, "stale.png", PNG).json()["id"]
    stale = Attachment.objects.get(pk=stale_id)
    path = stale.file.path
    assert files.sweep_unattached(timezone.now() + timedelta(hours=23)) == 0
    assert files.sweep_unattached(timezone.now() + timedelta(hours=24, seconds=1)) == 1
    assert not Attachment.objects.filter(pk=stale_id).exists()
    assert Attachment.objects.filter(pk=kept_id).exists()
    assert not os.path.exists(path)


def test_erasing_the_customer_deletes_their_files(widget, carol):
    attachment_id = upload(widget, carol, "shot.png", PNG).json()["id"]
    attach_to_message(carol, widget, attachment_id)
    path = Attachment.objects.get(pk=attachment_id).file.path
    privacy.erase_customer(carol)
    assert not Attachment.objects.filter(pk=attachment_id).exists()
    assert not os.path.exists(path)


def test_retention_deletes_the_files_of_expired_conversations(widget, carol, settings):
    settings.PARLEY_RETENTION_DAYS = 30
    attachment_id = upload(widget, carol, "shot.png", PNG).json()["id"]
    conversation = attach_to_message(carol, widget, attachment_id)
    path = Attachment.objects.get(pk=attachment_id).file.path
    lifecycle.close_by_system(conversation.id, "test")
    assert privacy.apply_retention(timezone.now() + timedelta(days=31)) == 1
    assert not os.path.exists(path)

"""Webhook endpoints: URL rules, the admin center pages and actions, the configuration document."""

from __future__ import annotations

import socket
from unittest import mock

import pytest
from django.contrib.auth import get_user_model

from admin_center import config_io, webhook_validators
from admin_center.models import WebhookEndpoint
from conversations.webhooks import delivery
from conversations.webhooks.models import Delivery


@pytest.fixture
def public_only(settings):
    settings.PARLEY_WEBHOOK_ALLOW_PRIVATE = False


def resolving_to(address: str):
    return mock.patch.object(
        socket, "getaddrinfo", return_value=[(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, 443))]
    )


@pytest.mark.parametrize(
    "url",
    [
        "http://crm.example.com/hook",
        "ftp://crm.example.com/hook",
        "https://localhost/hook",
        "https://127.0.0.1/hook",
        "https://10.1.2.3/hook",
        "https://192.168.0.10/hook",
        "https://172.16.5.4/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://100.64.0.1/hook",
        "https://[::1]/hook",
        "https://[::ffff:10.0.0.1]/hook",
        "https://0.0.0.0/hook",
        "https://user:pw@crm.example.com/hook",
        "https://",
        "not a url",
    ],
)
def test_a_webhook_url_outside_https_or_into_private_networks_is_refused(public_only, url):
    assert webhook_validators.url_problem(url) is not None


def test_a_host_name_resolving_to_a_private_address_is_refused(public_only):
    with resolving_to("10.0.0.5"):
        assert "private" in webhook_validators.url_problem("https://intranet.example.com/hook")
    with resolving_to("93.184.216.34"):
        assert webhook_validators.url_problem("https://crm.example.com/hook") is None


def test_a_delivery_does_not_connect_to_a_host_that_now_resolves_privately(public_only):
    job = delivery.Job(1, "e", "message.created", "https://rebound.example.com/hook", "s", b"{}")
    with resolving_to("127.0.0.1"):
        outcome = delivery.post(job)
    assert not outcome.ok and outcome.status_code is None and "private" in outcome.error


def test_private_receivers_are_allowed_for_development(settings):
    settings.PARLEY_WEBHOOK_ALLOW_PRIVATE = True
    assert webhook_validators.url_problem("http://127.0.0.1:8080/hook") is None


@pytest.mark.django_db
def test_the_admin_center_refuses_a_private_url_and_creates_nothing(public_only, admin_client):
    response = admin_client.post(
        "/admin/admin_center/webhookendpoint/add/",
        {"name": "CRM", "url": "https://192.168.1.20/hook", "events": ["message.created"], "secret": "s3cret"},
    )
    assert response.status_code == 200
    assert "not allowed" in response.content.decode()
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.django_db
def test_the_admin_center_creates_an_endpoint_with_a_generated_secret(public_only, admin_client):
    page = admin_client.get("/admin/admin_center/webhookendpoint/add/")
    secret = page.context["adminform"].form["secret"].value()
    assert len(secret) >= 40
    response = admin_client.post(
        "/admin/admin_center/webhookendpoint/add/",
        {"name": "CRM", "url": "https://93.184.216.34/hook", "events": ["message.created", "conversation.rated"],
         "enabled": "on", "secret": secret},
    )  # fmt: skip
    assert response.status_code == 302
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.events == ["message.created", "conversation.rated"] and endpoint.secret == secret


@pytest.mark.django_db(transaction=True)
def test_send_a_test_event_delivers_it_at_once_and_logs_it(settings, admin_client, receiver):
    endpoint = WebhookEndpoint.objects.create(name="CRM", url=receiver.url, events=[])
    response = admin_client.post(
        "/admin/admin_center/webhookendpoint/",
        {"action": "send_test_event", "_selected_action": [endpoint.pk]},
        follow=True,
    )
    assert "answered 200" in response.content.decode()
    (request,) = receiver.wait_for(1)
    assert b'"type":"webhook.test"' in request["body"]
    row = Delivery.objects.get()
    assert (row.event_type, row.status, row.last_status_code) == ("webhook.test", "delivered", 200)


@pytest.mark.django_db(transaction=True)
def test_the_delivery_log_shows_each_delivery_and_sends_again(settings, admin_client, receiver):
    receiver.default_status = 500
    endpoint = WebhookEndpoint.objects.create(name="CRM", url=receiver.url, events=[])
    delivery.send_test_event(endpoint)
    row = Delivery.objects.get()
    assert row.status == "failed"
    page = admin_client.get("/admin/webhooks/delivery/")
    assert page.status_code == 200
    assert "webhook.test" in page.content.decode()
    detail = admin_client.get(f"/admin/webhooks/delivery/{row.pk}/change/")
    assert "HTTP 500" in detail.content.decode()
    admin_client.post("/admin/webhooks/delivery/", {"action": "send_again", "_selected_action": [row.pk]})
    row.refresh_from_db()
    assert row.status == "pending" and row.leased_until is None


@pytest.mark.django_db
def test_a_viewer_without_change_permission_cannot_send_again(admin_client):
    viewer = get_user_model().objects.create_user("viewer", password="pw", is_staff=True)
    from django.contrib.auth.models import Permission

    viewer.user_permissions.add(Permission.objects.get(codename="view_delivery"))
    admin_client.force_login(viewer)
    page = admin_client.get("/admin/webhooks/delivery/")
    assert page.status_code == 200
    assert "send_again" not in page.content.decode()


# --- configuration as code ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_webhooks_import_and_export_without_their_secrets(public_only):
    document = {
        "webhooks": [
            {"name": "CRM", "url": "https://93.184.216.34/parley", "secret": "s3cret",
             "events": ["conversation.created", "message.created"], "enabled": True}
        ]
    }  # fmt: skip
    report = config_io.import_configuration(document)
    assert report.created["webhooks"] == 1
    endpoint = WebhookEndpoint.objects.get()
    assert (endpoint.secret, endpoint.events) == ("s3cret", ["conversation.created", "message.created"])
    exported = config_io.export_configuration()
    assert exported["webhooks"] == [
        {"name": "CRM", "url": "https://93.184.216.34/parley",
         "events": ["conversation.created", "message.created"], "enabled": True}
    ]  # fmt: skip
    again = config_io.import_configuration(exported)
    assert again.unchanged["webhooks"] == 1
    assert WebhookEndpoint.objects.get().secret == "s3cret"  # kept: the export has none


@pytest.mark.django_db
def test_an_imported_endpoint_without_a_secret_gets_one():
    config_io.import_configuration({"webhooks": [{"name": "CRM", "url": "https://93.184.216.34/h"}]})
    assert len(WebhookEndpoint.objects.get().secret) >= 40


@pytest.mark.django_db
def test_an_import_with_a_refused_webhook_changes_nothing(public_only):
    document = {
        "webhooks": [
            {"name": "Ok", "url": "https://93.184.216.34/h", "events": ["message.created"]},
            {"name": "Internal", "url": "http://10.0.0.2/h", "events": ["message.sent"]},
        ]
    }
    with pytest.raises(config_io.ConfigError) as refused:
        config_io.import_configuration(document)
    problems = "\n".join(refused.value.problems)
    assert "webhooks[1].url" in problems and "webhooks[1].events" in problems
    assert not WebhookEndpoint.objects.exists()

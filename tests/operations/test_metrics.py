"""``/metrics`` (docs/operations.md "Metrics"): scraped and parsed with prometheus-client's own parser."""

from __future__ import annotations

from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from conversations.models import Conversation
from routing.models import Presence
from tests import factories
from tests.support import sockets

db = database_sync_to_async


def scrape(**headers) -> dict[tuple[str, tuple], float]:
    """{(sample name, sorted labels): value} of one scrape from the loopback address."""
    response = Client().get("/metrics", REMOTE_ADDR="127.0.0.1", **headers)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=")
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: dict, name: str, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_a_live_chat_moves_the_socket_message_latency_and_assignment_metrics():
    widget = await db(factories.make_setup)()
    queue = await db(lambda: widget.workstream.queue)()
    profile = await db(factories.make_agent)(presence=Presence.AVAILABLE, queues=[queue])
    before = await db(scrape)()

    agent, _ = await sockets.agent(profile)
    customer, _ = await sockets.customer(widget, origin="https://shop.example.com")
    during = await db(scrape)()
    assert value(during, "parley_open_sockets", kind="agent") == value(before, "parley_open_sockets", kind="agent") + 1
    assert value(during, "parley_open_sockets", kind="customer") == (
        value(before, "parley_open_sockets", kind="customer") + 1
    )

    await customer.request({"type": "send", "client_id": "m1", "text": "Where is my parcel?"})
    await agent.expect("assigned")
    conversation_id = str(await db(lambda: Conversation.objects.get(widget=widget).id)())
    await agent.request({"type": "send", "conversation_id": conversation_id, "client_id": "a1", "text": "Here."})
    await customer.expect("message", timeout=5)
    after = await db(scrape)()
    for role in ("customer", "agent"):
        assert value(after, "parley_messages_total", role=role) == value(before, "parley_messages_total", role=role) + 1
    assert value(after, "parley_delivery_latency_seconds_count") == (
        value(before, "parley_delivery_latency_seconds_count") + 2
    )
    assert (
        0
        < value(after, "parley_delivery_latency_seconds_sum") - value(before, "parley_delivery_latency_seconds_sum")
        < 5
    )
    assert value(after, "parley_assignments_total", reason="routed") == (
        value(before, "parley_assignments_total", reason="routed") + 1
    )

    await customer.close()
    await agent.close()
    closed = await db(scrape)()
    for kind in ("agent", "customer"):
        assert value(closed, "parley_open_sockets", kind=kind) == value(before, "parley_open_sockets", kind=kind)


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_queue_depth_and_longest_wait_come_from_the_database_in_one_query():
    widget = await db(factories.make_setup)()
    queue = await db(lambda: widget.workstream.queue)()
    other = await db(lambda: factories.make_setup().workstream.queue)()  # nobody waits here
    first, _ = await sockets.customer(widget, origin="https://shop.example.com")
    second, _ = await sockets.customer(widget, origin="https://shop.example.com")
    await first.request({"type": "send", "client_id": "m1", "text": "Hello"})
    await second.request({"type": "send", "client_id": "m1", "text": "Hello too"})

    def wait_longer():
        head = Conversation.objects.filter(widget=widget).order_by("queued_at").first()
        Conversation.objects.filter(pk=head.pk).update(queued_at=timezone.now() - timedelta(seconds=120))

    await db(wait_longer)()

    def scrape_counting_queries():
        with CaptureQueriesContext(connection) as queries:
            samples = scrape()
        return samples, len(queries)

    samples, queries = await db(scrape_counting_queries)()
    assert queries == 1
    assert value(samples, "parley_queue_depth", queue=queue.name) == 2
    assert 120 <= value(samples, "parley_queue_longest_wait_seconds", queue=queue.name) < 180
    assert ("parley_queue_depth", (("queue", other.name),)) in samples
    assert value(samples, "parley_queue_depth", queue=other.name) == 0
    assert value(samples, "parley_queue_longest_wait_seconds", queue=other.name) == 0
    await first.close()
    await second.close()


@pytest.mark.django_db
def test_webhook_and_channel_layer_metrics_are_defined_for_their_owners_to_move():
    from conversations import metrics
    from conversations.webhooks import metrics as webhook_metrics

    before = scrape()
    webhook_metrics.attempted("message.created", ok=True, gave_up=False)
    webhook_metrics.attempted("message.created", ok=False, gave_up=True)
    metrics.channel_layer_probed(False)
    after = scrape()
    for outcome in ("delivered", "failed"):
        assert value(after, "parley_webhook_deliveries_total", outcome=outcome) == (
            value(before, "parley_webhook_deliveries_total", outcome=outcome) + 1
        )
    assert value(after, "parley_webhook_failures_total") == value(before, "parley_webhook_failures_total") + 1
    assert value(after, "parley_channel_layer_up") == 0
    assert value(after, "parley_channel_layer_probe_failures_total") == (
        value(before, "parley_channel_layer_probe_failures_total") + 1
    )
    metrics.channel_layer_probed(True)
    assert value(scrape(), "parley_channel_layer_up") == 1


@pytest.mark.django_db
@pytest.mark.parametrize("address", ["127.0.0.1", "::1"])
def test_without_a_token_loopback_clients_read_the_metrics(settings, address):
    settings.PARLEY_METRICS_TOKEN = ""
    assert Client().get("/metrics", REMOTE_ADDR=address).status_code == 200


@pytest.mark.django_db
def test_without_a_token_other_and_proxied_clients_are_refused(settings):
    settings.PARLEY_METRICS_TOKEN = ""
    assert Client().get("/metrics", REMOTE_ADDR="203.0.113.7").status_code == 403
    # a reverse proxy on the same machine connects from loopback: its clients are not local
    proxied = Client().get("/metrics", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.7")
    assert proxied.status_code == 403


@pytest.mark.django_db
def test_with_a_token_only_its_bearer_reads_the_metrics_from_anywhere(settings):
    settings.PARLEY_METRICS_TOKEN = "scrape-me-please"
    client = Client()
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 401
    wrong = client.get("/metrics", REMOTE_ADDR="203.0.113.7", HTTP_AUTHORIZATION="Bearer guess")
    assert wrong.status_code == 401 and wrong["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/metrics", REMOTE_ADDR="203.0.113.7", HTTP_AUTHORIZATION="Basic c2NyYXBl").status_code == 401
    right = client.get("/metrics", REMOTE_ADDR="203.0.113.7", HTTP_AUTHORIZATION="Bearer scrape-me-please")
    assert right.status_code == 200
    assert "parley_open_sockets" in right.content.decode()

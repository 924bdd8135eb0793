"""The outbox and its delivery against a real HTTP receiver in the test process."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from django.db import transaction
from django.utils import timezone

from admin_center.models import WebhookEndpoint
from conversations import webhooks
from conversations.webhooks import delivery
from conversations.webhooks.dispatcher import Dispatcher
from conversations.webhooks.models import Delivery

pytestmark = pytest.mark.django_db(transaction=True)

CONVERSATION = "7b0f6f2e-9d7c-4d0e-a3b5-3f0cb1d7a001"
OTHER_CONVERSATION = "7b0f6f2e-9d7c-4d0e-a3b5-3f0cb1d7a002"


def endpoint(url: str, events=("message.created",), **fields) -> WebhookEndpoint:
    return WebhookEndpoint.objects.create(name=fields.pop("name", "CRM"), url=url, events=list(events), **fields)


def emit_committed(event_type: str, conversation_id, data: dict) -> None:
    with transaction.atomic():
        webhooks.emit(event_type, conversation_id, data)


def make_due() -> None:
    Delivery.objects.filter(status=Delivery.Status.PENDING).update(next_attempt_at=timezone.now())


async def test_a_delivery_is_signed_with_the_endpoint_secret(receiver):
    hook = await database_sync_to_async(endpoint)(receiver.url)
    await database_sync_to_async(emit_committed)("message.created", CONVERSATION, {"message": {"text": "hi"}})
    await Dispatcher().drain()

    (request,) = receiver.wait_for(1)
    header = request["headers"]["Parley-Signature"]
    timestamp, signature = (part.split("=", 1)[1] for part in header.split(","))
    expected = hmac.new(hook.secret.encode(), f"{timestamp}.".encode() + request["body"], hashlib.sha256).hexdigest()
    assert signature == expected
    document = json.loads(request["body"])
    assert document["type"] == "message.created"
    assert document["data"] == {"conversation_id": CONVERSATION, "message": {"text": "hi"}}
    assert request["headers"]["Parley-Event-Id"] == document["id"]
    stored = await database_sync_to_async(Delivery.objects.get)()
    assert (stored.status, stored.attempts, stored.last_status_code) == ("delivered", 1, 200)
    assert stored.last_response_ms is not None


async def test_only_subscribed_enabled_endpoints_get_an_event(receiver):
    await database_sync_to_async(endpoint)(receiver.url, events=["conversation.created"], name="Created only")
    await database_sync_to_async(endpoint)(receiver.url, enabled=False, name="Disabled")
    await database_sync_to_async(emit_committed)("message.created", CONVERSATION, {"message": {}})
    assert await database_sync_to_async(Delivery.objects.count)() == 0


async def test_a_failed_delivery_is_retried_within_the_retry_base(receiver, settings):
    settings.PARLEY_WEBHOOK_RETRY_BASE = 30
    receiver.statuses.extend([500])
    await database_sync_to_async(endpoint)(receiver.url)
    await database_sync_to_async(emit_committed)("message.created", CONVERSATION, {"message": {}})
    before = timezone.now()
    await Dispatcher().drain()

    row = await database_sync_to_async(Delivery.objects.get)()
    assert (row.status, row.attempts, row.last_status_code, row.last_error) == ("pending", 1, 500, "HTTP 500")
    assert before < row.next_attempt_at <= timezone.now() + timedelta(seconds=30)

    await database_sync_to_async(make_due)()
    await Dispatcher().drain()
    assert len(receiver.wait_for(2)) == 2
    row = await database_sync_to_async(Delivery.objects.get)()
    assert (row.status, row.attempts) == ("delivered", 2)
    assert [json.loads(r["body"])["id"] for r in receiver.requests] == [str(row.event_id)] * 2


def test_backoff_doubles_with_jitter(settings):
    settings.PARLEY_WEBHOOK_RETRY_BASE = 30
    for attempts, ceiling in [(1, 30), (2, 60), (3, 120), (10, 3600)]:
        delays = [delivery.backoff_seconds(attempts) for _ in range(50)]
        assert all(ceiling / 2 <= delay <= ceiling for delay in delays)
        assert len(set(delays)) > 1


async def test_a_delivery_fails_for_good_after_the_retry_window(receiver, settings):
    settings.PARLEY_WEBHOOK_RETRY_FOR = 0
    receiver.default_status = 503
    await database_sync_to_async(endpoint)(receiver.url)
    await database_sync_to_async(emit_committed)("message.created", CONVERSATION, {"message": {}})
    await Dispatcher().drain()
    row = await database_sync_to_async(Delivery.objects.get)()
    assert (row.status, row.attempts, row.last_status_code) == ("failed", 1, 503)


async def test_events_of_one_conversation_arrive_in_order(receiver, settings):
    settings.PARLEY_WEBHOOK_RETRY_BASE = 30
    failed = set()

    def first_event_fails_once(document: dict) -> int:
        if document["data"]["n"] == 1 and not failed:
            failed.add(1)
            return 500
        return 200

    receiver.respond = first_event_fails_once
    await database_sync_to_async(endpoint)(receiver.url)
    for n in (1, 2, 3):
        await database_sync_to_async(emit_committed)("message.created", CONVERSATION, {"n": n})
    await database_sync_to_async(emit_committed)("message.created", OTHER_CONVERSATION, {"n": 99})
    await Dispatcher().drain()
    # the first event of CONVERSATION failed: its later events wait; the other conversation's went
    assert sorted(document["data"]["n"] for document in receiver.documents()) == [1, 99]

    await database_sync_to_async(make_due)()
    await Dispatcher().drain()
    receiver.wait_for(5)
    ordered = [d["data"]["n"] for d in receiver.documents() if d["data"]["conversation_id"] == CONVERSATION]
    assert ordered == [1, 1, 2, 3]


async def test_a_rolled_back_change_sends_nothing(receiver):
    await database_sync_to_async(endpoint)(receiver.url)

    def change_that_fails() -> None:
        with transaction.atomic():
            webhooks.emit("message.created", CONVERSATION, {"message": {}})
            raise RuntimeError("the change failed")

    with pytest.raises(RuntimeError):
        await database_sync_to_async(change_that_fails)()
    await Dispatcher().drain()
    assert await database_sync_to_async(Delivery.objects.count)() == 0
    assert receiver.requests == []


async def test_no_event_is_lost_when_the_delivering_process_dies(receiver):
    await database_sync_to_async(endpoint)(receiver.url)
    await database_sync_to_async(emit_committed)("message.created", CONVERSATION, {"n": 1})
    await database_sync_to_async(emit_committed)("message.created", CONVERSATION, {"n": 2})
    # A process took the first event and died before sending it: its lease holds the row for a while.
    (job,) = await database_sync_to_async(delivery.claim)(1)
    await Dispatcher().drain()
    assert receiver.requests == []  # neither the leased event nor the one behind it went out

    def lease_runs_out() -> None:
        Delivery.objects.filter(pk=job.delivery_id).update(leased_until=timezone.now() - timedelta(seconds=1))

    await database_sync_to_async(lease_runs_out)()
    await Dispatcher().drain()  # another process's sweep
    receiver.wait_for(2)
    assert [d["data"]["n"] for d in receiver.documents()] == [1, 2]
    statuses = await database_sync_to_async(lambda: list(Delivery.objects.values_list("status", flat=True)))()
    assert statuses == ["delivered", "delivered"]


async def test_events_committed_without_a_running_dispatcher_are_delivered_by_a_new_one(receiver):
    await database_sync_to_async(endpoint)(receiver.url)
    await database_sync_to_async(emit_committed)("message.created", CONVERSATION, {"n": 1})
    # the process that committed it is gone; a new process starts its dispatcher with its first call
    task = asyncio.get_running_loop().create_task(Dispatcher().run_forever())
    try:
        await asyncio.get_running_loop().run_in_executor(None, receiver.wait_for, 1)
    finally:
        task.cancel()
    assert receiver.documents()[0]["data"]["n"] == 1


async def test_a_slow_receiver_does_not_hold_up_the_event_loop(receiver, settings):
    settings.PARLEY_WEBHOOK_CONCURRENCY = 1
    receiver.hold()
    await database_sync_to_async(endpoint)(receiver.url)
    await database_sync_to_async(emit_committed)("message.created", CONVERSATION, {"n": 1})
    dispatcher = Dispatcher()
    assert await dispatcher.run_once() == 1
    await asyncio.get_running_loop().run_in_executor(None, receiver.wait_for, 1)
    # while the receiver keeps the request open, the loop and the database serve others
    assert await asyncio.wait_for(database_sync_to_async(Delivery.objects.count)(), timeout=2) == 1
    assert await dispatcher.run_once() == 0  # the one delivery thread is busy: nothing more starts
    receiver.release()
    await dispatcher.drain()
    row = await database_sync_to_async(Delivery.objects.get)()
    assert row.status == "delivered"


def test_emit_costs_no_query_when_nobody_subscribes(django_assert_num_queries):
    WebhookEndpoint.objects.create(name="Other", url="https://crm.example.com/h", events=["conversation.created"])
    webhooks.subscribed("message.created")  # the process loads its cache once
    with django_assert_num_queries(0):
        webhooks.emit("message.created", CONVERSATION, {"message": {}})
    assert Delivery.objects.count() == 0


def test_a_new_endpoint_is_seen_at_once_by_the_process_that_saved_it():
    assert not webhooks.subscribed("message.created")
    hook = WebhookEndpoint.objects.create(name="CRM", url="https://crm.example.com/h", events=["message.created"])
    assert webhooks.subscribed("message.created")
    hook.delete()
    assert not webhooks.subscribed("message.created")


def test_a_stale_subscription_cache_never_fails_the_change():
    hook = WebhookEndpoint.objects.create(name="CRM", url="https://crm.example.com/h", events=["message.created"])
    assert webhooks.subscribed("message.created")
    WebhookEndpoint.objects.filter(pk=hook.pk).delete()  # as another process would: no signal here
    from conversations.webhooks import subscriptions

    subscriptions._cache = (float("inf"), {"message.created": (hook.pk,)})
    with transaction.atomic():
        webhooks.emit("message.created", CONVERSATION, {"message": {}})
    assert Delivery.objects.count() == 0


def test_an_event_taken_by_one_process_is_not_taken_by_another():
    WebhookEndpoint.objects.create(name="CRM", url="https://crm.example.com/h", events=["message.created"])
    emit_committed("message.created", CONVERSATION, {"n": 1})
    emit_committed("message.created", OTHER_CONVERSATION, {"n": 2})
    first = delivery.claim(10)
    assert delivery.claim(10) == []  # leased to the first process
    assert len(first) == 2


def test_a_row_taken_or_delivered_after_it_was_read_is_not_leased_again():
    """SQLite's claim reads the due rows outside its transaction and leases them in a short one: a row
    that changed in between (leased by another claim, delivered) is left alone."""
    WebhookEndpoint.objects.create(name="CRM", url="https://crm.example.com/h", events=["message.created"])
    for conversation in (CONVERSATION, OTHER_CONVERSATION, "7b0f6f2e-9d7c-4d0e-a3b5-3f0cb1d7a003"):
        emit_committed("message.created", conversation, {"n": 1})
    now = timezone.now()
    read = list(delivery.due(now).select_related("endpoint").order_by("id"))
    taken_meanwhile, delivered_meanwhile, free = read
    Delivery.objects.filter(pk=taken_meanwhile.pk).update(leased_until=now + timedelta(seconds=60))
    Delivery.objects.filter(pk=delivered_meanwhile.pk).update(status=Delivery.Status.DELIVERED)
    leased = delivery._lease_read_rows(read, now, now + timedelta(seconds=30))
    assert [row.pk for row in leased] == [free.pk]
    assert Delivery.objects.get(pk=taken_meanwhile.pk).leased_until == now + timedelta(seconds=60)
    assert delivery.claim(10) == []


def test_one_round_records_each_rows_own_answer():
    WebhookEndpoint.objects.create(name="CRM", url="https://crm.example.com/h", events=["message.created"])
    emit_committed("message.created", CONVERSATION, {"n": 1})
    emit_committed("message.created", OTHER_CONVERSATION, {"n": 2})
    first, second = delivery.claim(10)
    statuses = delivery.record_many(
        [(first, delivery.Outcome(True, 200, 12)), (second, delivery.Outcome(True, 204, 31))]
    )
    assert statuses == [Delivery.Status.DELIVERED, Delivery.Status.DELIVERED]
    rows = {row.pk: row for row in Delivery.objects.all()}
    assert (rows[first.delivery_id].last_status_code, rows[first.delivery_id].last_response_ms) == (200, 12)
    assert (rows[second.delivery_id].last_status_code, rows[second.delivery_id].last_response_ms) == (204, 31)
    assert all(row.attempts == 1 and row.leased_until is None and row.delivered_at for row in rows.values())


def test_processes_claiming_at_the_same_moment_skip_each_others_rows():
    """PostgreSQL: a row locked by another process's claim is skipped (SKIP LOCKED), not waited for."""
    import threading

    from django.db import connection as main_connection

    if main_connection.vendor != "postgresql":
        pytest.skip("SKIP LOCKED is PostgreSQL's; SQLite serves one process")
    WebhookEndpoint.objects.create(name="CRM", url="https://crm.example.com/h", events=["message.created"])
    emit_committed("message.created", CONVERSATION, {"n": 1})
    emit_committed("message.created", OTHER_CONVERSATION, {"n": 2})
    locked, release = threading.Event(), threading.Event()
    held: list[int] = []

    def other_process() -> None:
        from django.db import connection as own

        try:
            with transaction.atomic():
                rows = list(delivery.due().select_for_update(skip_locked=True).order_by("id")[:1])
                held.extend(row.pk for row in rows)
                locked.set()
                release.wait(10)
        finally:
            own.close()

    thread = threading.Thread(target=other_process)
    thread.start()
    try:
        assert locked.wait(10)
        taken = delivery.claim(10)
    finally:
        release.set()
        thread.join()
    assert len(taken) == 1 and taken[0].delivery_id not in held


async def test_deliveries_and_failures_are_counted_for_prometheus(receiver, settings):
    from conversations import metrics

    def value(counter, **labels) -> float:
        return (counter.labels(**labels) if labels else counter)._value.get()

    settings.PARLEY_WEBHOOK_RETRY_FOR = 0
    before = (value(metrics.WEBHOOK_DELIVERIES, outcome="delivered"),
              value(metrics.WEBHOOK_DELIVERIES, outcome="failed"), value(metrics.WEBHOOK_FAILURES))  # fmt: skip
    receiver.respond = lambda document: 200 if document["data"]["n"] == 1 else 500
    await database_sync_to_async(endpoint)(receiver.url)
    await database_sync_to_async(emit_committed)("message.created", CONVERSATION, {"n": 1})
    await database_sync_to_async(emit_committed)("message.created", OTHER_CONVERSATION, {"n": 2})
    await Dispatcher().drain()
    after = (value(metrics.WEBHOOK_DELIVERIES, outcome="delivered"),
             value(metrics.WEBHOOK_DELIVERIES, outcome="failed"), value(metrics.WEBHOOK_FAILURES))  # fmt: skip
    assert [b - a for a, b in zip(before, after, strict=True)] == [1, 1, 1]


async def test_events_of_a_disabled_endpoint_wait_until_it_is_enabled_again(receiver):
    hook = await database_sync_to_async(endpoint)(receiver.url)
    await database_sync_to_async(emit_committed)("message.created", CONVERSATION, {"n": 1})
    hook.enabled = False
    await database_sync_to_async(hook.save)()
    await database_sync_to_async(emit_committed)("message.created", CONVERSATION, {"n": 2})  # not written
    await Dispatcher().drain()
    assert receiver.requests == []
    hook.enabled = True
    await database_sync_to_async(hook.save)()
    await Dispatcher().drain()
    receiver.wait_for(1)
    assert [d["data"]["n"] for d in receiver.documents()] == [1]

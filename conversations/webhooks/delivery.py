"""Delivering the outbox: take due rows, POST them signed, record the answer, retry with backoff.

The database steps (``claim``, ``record``) are short transactions; the HTTP call (``post``, ``sender``) runs
in a bounded pool of threads (``dispatcher``), never on the event loop and never inside a transaction.
Several processes share the work: ``claim`` locks rows with ``SELECT ... FOR UPDATE SKIP LOCKED`` on
PostgreSQL (SQLite has one writer, one process) and leases them; a process that dies leaves its rows
pending, and they are delivered again when the lease runs out (at least once: receivers deduplicate by
the event ``id``).
"""

from __future__ import annotations

import json
import logging
import random
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Case, Exists, F, OuterRef, PositiveIntegerField, Q, Value, When
from django.utils import timezone

from admin_center import webhook_validators
from admin_center.models import WebhookEndpoint

from . import document, metrics, sender, wakeup
from .models import Delivery
from .sender import TIMEOUT_SECONDS, Outcome

logger = logging.getLogger("parley.webhooks")

MAX_BACKOFF_SECONDS = 3600


def lease_seconds() -> float:
    """How long a process holds the rows it took: longer than one attempt can take (the time-out), so
    that a live process is never raced; a dead process's rows go out again after it."""
    return max(settings.PARLEY_WEBHOOK_LEASE_SECONDS, TIMEOUT_SECONDS + 1)


@dataclass(frozen=True)
class Job:
    """What one attempt needs, read in ``claim`` so that ``post`` runs without the database."""

    delivery_id: int
    event_id: str
    event_type: str
    url: str
    secret: str
    body: bytes
    # Until when this process holds the row (``claim``): an attempt after it could race another process.
    leased_until: float = float("inf")


# --- the database steps ---------------------------------------------------------------------------


def not_leased(now: datetime) -> Q:
    """No process holds the row: never leased, or its lease ran out."""
    return Q(leased_until__isnull=True) | Q(leased_until__lte=now)


def due(now: datetime | None = None):
    """Pending rows whose time has come, not leased, and with no earlier pending row of their
    (endpoint, conversation): the next event of a conversation waits for the one before it."""
    now = now or timezone.now()
    earlier = Delivery.objects.filter(
        endpoint_id=OuterRef("endpoint_id"),
        conversation_id=OuterRef("conversation_id"),
        status=Delivery.Status.PENDING,
        id__lt=OuterRef("id"),
    )
    return (
        Delivery.objects.filter(status=Delivery.Status.PENDING, next_attempt_at__lte=now, endpoint__enabled=True)
        .filter(not_leased(now))
        .exclude(Exists(earlier))
    )


def claim(limit: int, now: datetime | None = None) -> list[Job]:
    """Lease up to ``limit`` due rows to this process; the jobs to attempt."""
    now = now or timezone.now()
    if limit <= 0:
        return []
    leased_until = now + timedelta(seconds=lease_seconds())
    if connection.features.has_select_for_update_skip_locked:
        with transaction.atomic():
            rows = list(
                due(now)
                .select_for_update(skip_locked=True, of=("self",))
                .select_related("endpoint")
                .order_by("id")[:limit]
            )
            if not rows:
                return []
            Delivery.objects.filter(pk__in=[row.pk for row in rows]).update(leased_until=leased_until)
    else:
        rows = _lease_read_rows(list(due(now).select_related("endpoint").order_by("id")[:limit]), now, leased_until)
    # The lease as this process's clock sees it, with a margin for the attempt itself.
    held_until = time.monotonic() + lease_seconds() - TIMEOUT_SECONDS
    return [job_for(row, held_until) for row in rows]


def _lease_read_rows(rows: list[Delivery], now: datetime, leased_until: datetime) -> list[Delivery]:
    """SQLite: one writer for the whole database, the server's message commits included. The due rows are
    read without a lock, and leased by one ``UPDATE`` in autocommit, which takes each row only if it is
    still pending and not leased. One statement holds the write lock only while SQLite runs it: a
    transaction of several statements would hold it across this process's waits for the interpreter lock,
    which its delivery threads keep busy (the server's commits waited up to tens of milliseconds)."""
    if not rows:
        return []
    ids = [row.pk for row in rows]
    taken = (
        Delivery.objects.filter(pk__in=ids, status=Delivery.Status.PENDING)
        .filter(not_leased(now))
        .update(leased_until=leased_until)
    )
    if taken == len(ids):
        return rows
    kept = set(Delivery.objects.filter(pk__in=ids, leased_until=leased_until).values_list("pk", flat=True))
    return [row for row in rows if row.pk in kept]


def job_for(row: Delivery, held_until: float = float("inf")) -> Job:
    endpoint = row.endpoint
    return Job(row.pk, str(row.event_id), row.event_type, endpoint.url, endpoint.secret, row.body.encode(), held_until)


def backoff_seconds(attempts: int) -> float:
    """The wait after the ``attempts``-th failed attempt: the first within ``PARLEY_WEBHOOK_RETRY_BASE``
    seconds, then doubling (at most an hour), each with random jitter so that receivers that come back
    are not hit by every sender at once."""
    base = settings.PARLEY_WEBHOOK_RETRY_BASE * (2 ** min(attempts - 1, 30))
    return min(base, MAX_BACKOFF_SECONDS) * random.uniform(0.5, 1.0)


def record(job: Job, outcome: Outcome, now: datetime | None = None) -> str:
    """Store the outcome of one attempt; returns the row's new status."""
    return record_many([(job, outcome)], now)[0]


def record_many(results: list[tuple[Job, Outcome]], now: datetime | None = None) -> list[str]:
    """Store the outcomes of several attempts (a busy dispatcher's finished deliveries); returns each
    row's new status ("" for a row deleted meanwhile).

    One query finds which rows still exist. The delivered rows are written by one ``UPDATE`` in
    autocommit (their status codes and response times by ``CASE``): one statement holds the database's
    write lock only while it runs, and on SQLite the server's message commits wait for that lock
    (``_lease_read_rows``). A failed attempt's next try depends on its row (attempts, retry window), so
    failed rows are read, locked, and written one by one in a transaction."""
    now = now or timezone.now()
    ids = [job.delivery_id for job, _ in results]
    existing = set(Delivery.objects.filter(pk__in=ids).values_list("pk", flat=True))
    delivered = {job.delivery_id: outcome for job, outcome in results if outcome.ok and job.delivery_id in existing}
    if delivered:
        Delivery.objects.filter(pk__in=list(delivered)).update(
            **_recorded(_by_row(delivered, "status_code"), _by_row(delivered, "response_ms"), ""),
            status=Delivery.Status.DELIVERED,
            delivered_at=now,
        )
    failed_ids = [job.delivery_id for job, outcome in results if not outcome.ok and job.delivery_id in existing]
    failed = {}
    if failed_ids:
        with transaction.atomic():
            rows = Delivery.objects.select_for_update().in_bulk(failed_ids)
            failed = {pk: _record_failure(row, outcome, now) for pk, row, outcome in _failures(results, rows)}
    statuses = [
        Delivery.Status.DELIVERED if job.delivery_id in delivered else failed.get(job.delivery_id, "")
        for job, _ in results
    ]
    for (job, outcome), status in zip(results, statuses, strict=True):
        if status:
            metrics.attempted(job.event_type, outcome.ok, status == Delivery.Status.FAILED)
    return statuses


def _failures(results: list[tuple[Job, Outcome]], rows: dict[int, Delivery]):
    for job, outcome in results:
        if not outcome.ok and job.delivery_id in rows:
            yield job.delivery_id, rows[job.delivery_id], outcome


def _by_row(outcomes: dict[int, Outcome], attribute: str):
    """``attribute`` of each row's outcome as one expression: the value itself when all rows share it."""
    values = {pk: getattr(outcome, attribute) for pk, outcome in outcomes.items()}
    if len(set(values.values())) == 1:
        return next(iter(values.values()))
    field = PositiveIntegerField(null=True)
    return Case(
        *(When(pk=pk, then=Value(value, output_field=field)) for pk, value in values.items()), output_field=field
    )


def _recorded(status_code: int | None, response_ms: int | None, error: str) -> dict:
    return {
        "attempts": F("attempts") + 1,
        "leased_until": None,
        "last_status_code": status_code,
        "last_response_ms": response_ms,
        "last_error": error[:500],
    }


def _record_failure(row: Delivery, outcome: Outcome, now: datetime) -> str:
    fields = _recorded(outcome.status_code, outcome.response_ms, outcome.error)
    retry_at = now + timedelta(seconds=backoff_seconds(row.attempts + 1))
    if retry_at > row.retry_until:
        fields.update(status=Delivery.Status.FAILED)
    else:
        fields.update(next_attempt_at=retry_at)
    Delivery.objects.filter(pk=row.pk).update(**fields)
    return fields.get("status", Delivery.Status.PENDING)


def prune(now: datetime | None = None) -> int:
    """Delivered and failed rows older than ``PARLEY_WEBHOOK_LOG_DAYS`` leave the delivery log."""
    days = settings.PARLEY_WEBHOOK_LOG_DAYS
    if not days:
        return 0
    before = (now or timezone.now()) - timedelta(days=days)
    deleted, _ = Delivery.objects.filter(created_at__lt=before).exclude(status=Delivery.Status.PENDING).delete()
    return deleted


# --- the HTTP step ------------------------------------------------------------------------------


def post(job: Job) -> Outcome:
    """One signed POST of ``job``'s body (no database access; runs in a delivery thread)."""
    return sender.post(job.url, job.body, job.secret, {"Parley-Event": job.event_type, "Parley-Event-Id": job.event_id})


def host_of(url: str) -> str:
    return urlsplit(url).hostname or ""


# --- the admin's actions ---------------------------------------------------------------------------


def send_again(delivery: Delivery, now: datetime | None = None) -> None:
    """Queue a delivered or failed row again (same event id), with a fresh retry window."""
    now = now or timezone.now()
    Delivery.objects.filter(pk=delivery.pk).update(
        status=Delivery.Status.PENDING,
        next_attempt_at=now,
        retry_until=now + timedelta(seconds=settings.PARLEY_WEBHOOK_RETRY_FOR),
        leased_until=None,
        delivered_at=None,
    )
    transaction.on_commit(wakeup.wake)


def send_test_event(endpoint: WebhookEndpoint) -> tuple[Delivery, Outcome]:
    """Send a ``webhook.test`` event to ``endpoint`` now (whatever it subscribes to, even disabled) and
    log it like any delivery; the admin page shows the outcome at once."""
    now = timezone.now()
    delivery = Delivery(
        endpoint=endpoint,
        event_type=webhook_validators.TEST_EVENT,
        created_at=now,
        next_attempt_at=now,
        retry_until=now,  # a test is tried once
        leased_until=now + timedelta(seconds=lease_seconds()),
    )
    data = {"endpoint": endpoint.name, "test": True}
    delivery.body = document.encode(delivery.event_id, delivery.event_type, now, data)
    delivery.save()
    job = job_for(delivery)
    outcome = post(job)
    record(job, outcome)
    delivery.refresh_from_db()
    return delivery, outcome


def payload(delivery: Delivery) -> dict:
    return json.loads(delivery.body)

"""Every Prometheus metric of the server (docs/operations.md "Metrics"), served at ``/metrics``
(``conversations.views.operations``).

Counters and gauges change on the hot path with one ``inc``/``dec``/``observe`` each: no query, no lock
beyond prometheus-client's own per-value one. What the database knows (queue depth, the longest wait) is
read at scrape time with one aggregate query (``QueueCollector``).

Several server processes: with ``PROMETHEUS_MULTIPROC_DIR`` set (an empty directory, before the processes
start) prometheus-client keeps each process's values in files there, and a scrape of any process adds up
every process's figures (``registry()``). Without it, a scrape shows the figures of the process that
answered.
"""

from __future__ import annotations

import atexit
import logging
import os
import time

from django.db import DatabaseError, transaction
from django.db.models import Count, Min, Q
from django.utils import timezone
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, multiprocess
from prometheus_client.core import GaugeMetricFamily

logger = logging.getLogger("parley.metrics")

MULTIPROCESS = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))

OPEN_SOCKETS = Gauge(
    "parley_open_sockets",
    "WebSockets open now, by kind (customer, agent, supervisor).",
    ["kind"],
    multiprocess_mode="livesum",
)
MESSAGES = Counter(
    "parley_messages",
    "Messages stored and announced, by sender role (rate() of it: messages per second).",
    ["role"],
)
DELIVERY_LATENCY = Histogram(
    "parley_delivery_latency_seconds",
    "From storing a message to its news handed to the channel layer (after the commit).",
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
ASSIGNMENTS = Counter(
    "parley_assignments",
    "Conversations given to an agent, by how (routed, picked, transferred, ...).",
    ["reason"],
)
WEBHOOK_DELIVERIES = Counter(
    "parley_webhook_deliveries",
    "Webhook delivery attempts, by outcome (delivered, failed).",
    ["outcome"],
)
WEBHOOK_FAILURES = Counter(
    "parley_webhook_failures",
    "Webhook deliveries given up after their last retry.",
)
CHANNEL_LAYER_UP = Gauge(
    "parley_channel_layer_up",
    "1 when the last channel-layer probe of the timer loop succeeded, 0 when it failed "
    "(several processes: the lowest).",
    multiprocess_mode="livemin",
)
CHANNEL_LAYER_FAILURES = Counter(
    "parley_channel_layer_probe_failures",
    "Channel-layer probes of the timer loop that failed.",
)

if MULTIPROCESS:

    @atexit.register
    def _forget_this_process() -> None:
        """Live gauges (open sockets, layer health) stop counting this process when it exits."""
        multiprocess.mark_process_dead(os.getpid())


# --- the hot path ---------------------------------------------------------------------------------------


def socket_opened(kind: str) -> None:
    OPEN_SOCKETS.labels(kind=kind).inc()


def socket_closed(kind: str) -> None:
    OPEN_SOCKETS.labels(kind=kind).dec()


def message_stored(role: str):
    """Called when a message is stored (before the commit); returns the callback that counts it and
    records its delivery latency once its news has been handed to the channel layer."""
    stored = time.perf_counter()
    counter = MESSAGES.labels(role=role)

    def sent() -> None:
        DELIVERY_LATENCY.observe(time.perf_counter() - stored)
        counter.inc()

    return sent


def assigned(reason: str) -> None:
    """A conversation went to an agent: counted when the transaction commits."""
    counter = ASSIGNMENTS.labels(reason=reason or "other")
    transaction.on_commit(counter.inc)


def channel_layer_probed(ok: bool) -> None:
    CHANNEL_LAYER_UP.set(1 if ok else 0)
    if not ok:
        CHANNEL_LAYER_FAILURES.inc()


# --- scrape time ----------------------------------------------------------------------------------------


class QueueCollector:
    """Open conversations and the longest wait of every queue, in one aggregate query per scrape."""

    def collect(self):
        from conversations.models import State
        from routing.models import Queue

        waiting = Q(conversations__state=State.OPEN)
        try:
            rows = list(
                Queue.objects.annotate(
                    depth=Count("conversations", filter=waiting),
                    oldest=Min("conversations__queued_at", filter=waiting),
                )
                .order_by("name", "id")
                .values_list("id", "name", "depth", "oldest")
            )
        except DatabaseError as exc:  # the process's own metrics are still worth serving (see /readyz)
            logger.warning("queue metrics not collected: %s", exc)
            return
        depth = GaugeMetricFamily(
            "parley_queue_depth", "Conversations waiting in the queue (open, not yet assigned).", labels=["queue"]
        )
        wait = GaugeMetricFamily(
            "parley_queue_longest_wait_seconds",
            "How long the queue's oldest waiting conversation has waited (0 when none waits).",
            labels=["queue"],
        )
        now = timezone.now()
        for _id, name, count, oldest in rows:
            depth.add_metric([name], count)
            wait.add_metric([name], max(0.0, (now - oldest).total_seconds()) if oldest else 0.0)
        yield depth
        yield wait


class _ThisProcess:
    """The process's own metrics (single-process mode) inside a scrape's registry."""

    def collect(self):
        yield from REGISTRY.collect()


def registry() -> CollectorRegistry:
    """A registry for one scrape: every process's metrics (or this process's) and the queues."""
    scrape = CollectorRegistry(auto_describe=False)
    if MULTIPROCESS:
        multiprocess.MultiProcessCollector(scrape)
    else:
        scrape.register(_ThisProcess())
    scrape.register(QueueCollector())
    return scrape

"""Webhook counters for Prometheus, kept with the server's other metrics in ``conversations.metrics``."""

from __future__ import annotations

from .. import metrics as server_metrics


def attempted(event_type: str, ok: bool, gave_up: bool) -> None:
    """One delivery attempt finished: delivered, failed for now, or failed for good (``gave_up``)."""
    server_metrics.WEBHOOK_DELIVERIES.labels(outcome="delivered" if ok else "failed").inc()
    if gave_up:
        server_metrics.WEBHOOK_FAILURES.inc()

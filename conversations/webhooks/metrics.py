"""Webhook counters for Prometheus, kept with the server's other metrics in ``conversations.metrics``."""

from __future__ import annotations

try:
    from .. import metrics as server_metrics
except ImportError:  # the metrics module is optional for this package
    server_metrics = None


def attempted(event_type: str, ok: bool, gave_up: bool) -> None:
    """One delivery attempt finished: delivered, failed for now, or failed for good."""
    if server_metrics is None:
        return
    deliveries = getattr(server_metrics, "WEBHOOK_DELIVERIES", None)
    failures = getattr(server_metrics, "WEBHOOK_FAILURES", None)
    if deliveries is not None:
        deliveries.labels(outcome="delivered" if ok else "failed").inc()
    if failures is not None and gave_up:
        failures.inc()

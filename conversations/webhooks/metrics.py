"""Webhook counters for Prometheus, kept with the server's other metrics in ``conversations.metrics``.

In a delivery process (``worker``) the attempts are reported to the parent server process, which counts
them (``report_with``)."""

from __future__ import annotations

from collections.abc import Callable

from .. import metrics as server_metrics

_report: Callable[[bool, bool], None] | None = None


def report_with(report: Callable[[bool, bool], None] | None) -> None:
    """Send each attempt to ``report(ok, gave_up)`` instead of counting it here (the delivery process)."""
    global _report
    _report = report


def attempted(event_type: str, ok: bool, gave_up: bool) -> None:
    """One delivery attempt finished: delivered, failed for now, or failed for good (``gave_up``)."""
    if _report is not None:
        _report(ok, gave_up)
    else:
        count(ok=ok, gave_up=gave_up)


def count(*, ok: bool, gave_up: bool) -> None:
    server_metrics.WEBHOOK_DELIVERIES.labels(outcome="delivered" if ok else "failed").inc()
    if gave_up:
        server_metrics.WEBHOOK_FAILURES.inc()

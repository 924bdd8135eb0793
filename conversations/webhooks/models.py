"""The webhook outbox: one row per event and subscribed endpoint, which is also the delivery log."""

from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Delivery(models.Model):
    """One event for one endpoint, written in the transaction of the change it describes.

    ``body`` is the JSON document exactly as it is sent (and signed). A row is ``pending`` until the
    receiver answers 2xx (``delivered``) or its retry window ends (``failed``). A process that takes a
    row for delivery holds it until ``leased_until``; if the process dies, the lease runs out and any
    process delivers the row. Rows of one (endpoint, conversation) go out in ``id`` order: a row waits
    while an earlier one of its conversation is pending.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Failed")

    endpoint = models.ForeignKey(
        "admin_center.WebhookEndpoint", on_delete=models.CASCADE, related_name="deliveries", verbose_name=_("endpoint")
    )
    event_id = models.UUIDField(_("event id"), default=uuid.uuid4, editable=False)
    event_type = models.CharField(_("event"), max_length=64)
    # Not a foreign key: the event outlives a conversation deleted by retention; it orders the deliveries.
    conversation_id = models.UUIDField(_("conversation"), null=True, blank=True)
    body = models.TextField(_("body"))
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    next_attempt_at = models.DateTimeField(_("next attempt"), default=timezone.now)
    retry_until = models.DateTimeField(_("retried until"))
    leased_until = models.DateTimeField(_("being delivered until"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)
    last_status_code = models.PositiveIntegerField(_("HTTP status"), null=True, blank=True)
    last_response_ms = models.PositiveIntegerField(_("response time (ms)"), null=True, blank=True)
    last_error = models.CharField(_("last error"), max_length=500, blank=True, default="")

    class Meta:
        ordering = ["-id"]
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="webhook_due_idx"),
            models.Index(fields=["endpoint", "conversation_id", "status"], name="webhook_order_idx"),
            # The claim reads pending rows in id order: without it, PostgreSQL's plan scanned the whole
            # delivery log (kept PARLEY_WEBHOOK_LOG_DAYS) past every delivered row on each round.
            models.Index(fields=["id"], condition=models.Q(status="pending"), name="webhook_pending_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} → {self.endpoint.name} ({self.get_status_display()})"

"""Admin center pages: webhook endpoints (with "Send a test event") and the delivery log ("Send again")."""

from __future__ import annotations

import json

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, Q
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from admin_center import webhook_validators
from admin_center.models import WebhookEndpoint
from admin_center.readonly import ReadOnly

from . import delivery
from .models import Delivery

ADMIN_CSS = {"all": ["admin_center/admin_center.css", "admin_center/webhooks.css"]}


class WebhookEndpointForm(forms.ModelForm):
    events = forms.MultipleChoiceField(
        label=_("Events"),
        choices=[(event, event) for event in webhook_validators.EVENTS],
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )

    class Meta:
        model = WebhookEndpoint
        fields = ["name", "url", "events", "enabled", "secret"]
        widgets = {"url": forms.URLInput(attrs={"size": 80}), "secret": forms.TextInput(attrs={"size": 60})}


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    form = WebhookEndpointForm
    list_display = ["name", "url", "event_list", "enabled", "pending", "failed", "log"]
    search_fields = ["name", "url"]
    actions = ["send_test_event"]
    fieldsets = [
        (None, {"fields": ["name", "url", "events", "enabled"]}),
        (
            _("Signature"),
            {
                "fields": ["secret"],
                "description": _(
                    "Every delivery carries the header Parley-Signature: t=(unix time),v1=(hex HMAC-SHA256 of "
                    "the time, a dot and the body, keyed with this secret). Give the secret to the receiver; "
                    "docs/webhooks.md has an example that checks it."
                ),
            },
        ),
    ]

    class Media:
        css = ADMIN_CSS

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                pending_count=Count("deliveries", filter=Q(deliveries__status=Delivery.Status.PENDING)),
                failed_count=Count("deliveries", filter=Q(deliveries__status=Delivery.Status.FAILED)),
            )
        )

    @admin.display(description=_("events"))
    def event_list(self, endpoint: WebhookEndpoint) -> str:
        return ", ".join(endpoint.events) or "—"

    @admin.display(description=_("pending"), ordering="pending_count")
    def pending(self, endpoint: WebhookEndpoint) -> int:
        return endpoint.pending_count

    @admin.display(description=_("failed"), ordering="failed_count")
    def failed(self, endpoint: WebhookEndpoint) -> int:
        return endpoint.failed_count

    @admin.display(description=_("delivery log"))
    def log(self, endpoint: WebhookEndpoint) -> str:
        url = reverse("admin:webhooks_delivery_changelist") + f"?endpoint__id__exact={endpoint.pk}"
        return format_html('<a href="{}">{}</a>', url, _("Deliveries"))

    @admin.action(description=_("Send a test event"), permissions=["change"])
    def send_test_event(self, request, queryset):
        for endpoint in queryset:
            row, outcome = delivery.send_test_event(endpoint)
            if outcome.ok:
                message = _("%(endpoint)s answered %(status)s in %(ms)s ms.") % {
                    "endpoint": endpoint.name,
                    "status": outcome.status_code,
                    "ms": outcome.response_ms,
                }
                self.message_user(request, message, messages.SUCCESS)
            else:
                message = _("%(endpoint)s did not accept the test event: %(error)s") % {
                    "endpoint": endpoint.name,
                    "error": outcome.error,
                }
                self.message_user(request, message, messages.ERROR)


@admin.register(Delivery)
class DeliveryAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ["created_at", "endpoint", "event_type", "status", "attempts", "last_status_code",
                    "last_response_ms"]  # fmt: skip
    list_filter = ["status", "event_type", "endpoint"]
    list_select_related = ["endpoint"]
    search_fields = ["event_id", "conversation_id"]
    date_hierarchy = "created_at"
    actions = ["send_again"]
    fields = ["endpoint", "event_id", "event_type", "conversation_id", "status", "attempts", "created_at",
              "next_attempt_at", "retry_until", "delivered_at", "last_status_code", "last_response_ms",
              "last_error", "document"]  # fmt: skip
    readonly_fields = fields

    class Media:
        css = ADMIN_CSS

    def has_resend_permission(self, request) -> bool:
        return request.user.has_perm("webhooks.change_delivery")

    @admin.display(description=_("body"))
    def document(self, row: Delivery) -> str:
        """The JSON that was sent, indented; escaped (text, never HTML)."""
        return format_html("<pre>{}</pre>", json.dumps(json.loads(row.body), indent=2, ensure_ascii=False))

    @admin.action(description=_("Send again"), permissions=["resend"])
    def send_again(self, request, queryset):
        count = 0
        for row in queryset.exclude(status=Delivery.Status.PENDING):
            delivery.send_again(row)
            count += 1
        message = ngettext(
            "%(count)d event queued to be sent again.", "%(count)d events queued to be sent again.", count
        ) % {"count": count}
        self.message_user(request, message, messages.SUCCESS)

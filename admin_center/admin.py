"""Admin center pages for workstreams, chat widgets, authentication settings and operating hours."""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from admin_center.authentication_admin import ChatAuthenticationSettingAdmin
from admin_center.forms import ChatWidgetForm, OperatingHoursForm, WorkstreamForm
from admin_center.models import (
    ChatAuthenticationSetting,
    ChatWidget,
    ConfigurationImport,
    OperatingHours,
    QuickReply,
    Workstream,
)
from admin_center.readonly import ReadOnly

ADMIN_MEDIA = {"css": {"all": ["admin_center/admin_center.css"]}}


def embed_snippet(origin: str, public_id: str) -> str:
    """The tag a website adds to show the widget (the loader is served by the widget app)."""
    return f'<script src="{origin}/static/widget/loader.js" data-parley-widget="{public_id}" async></script>'


@admin.register(Workstream)
class WorkstreamAdmin(admin.ModelAdmin):
    form = WorkstreamForm
    list_display = ["name", "mode_label", "same_agent", "distribution", "queue", "capacity_units"]
    list_filter = ["persistent", "distribution", "queue"]
    search_fields = ["name"]
    fieldsets = [
        (None, {"fields": ["name"]}),
        (
            _("Persistent chat"),
            {
                "fields": ["persistent", "same_agent"],
                "description": _(
                    "Persistent chat keeps one conversation per customer across visits and devices; only agents "
                    "end it. It needs the same agent for the entire conversation, and every widget of a "
                    "persistent workstream needs an authentication setting (signed-in customers)."
                ),
            },
        ),
        (_("Work distribution"), {"fields": ["distribution", "queue", "capacity_units"]}),
        (
            _("Offers"),
            {
                "fields": ["auto_accept", "offer_timeout_seconds"],
                "description": _(
                    "Without automatic assignment, routing offers each conversation to an agent, who accepts or "
                    "declines it within the time-out; an agent who lets 3 offers in a row expire is set away."
                ),
            },
        ),
        (
            _("Routing rules"),
            {
                "fields": ["routing_rules"],
                "description": _(
                    "Ordered rules that send a new conversation to another queue by what the website signed "
                    '(context.<key>) or what the customer answered (pre_chat.<field>), e.g. [{"when": '
                    '{"context.tier": "gold"}, "queue": "VIP"}]. The first rule whose every condition holds wins; '
                    "no match keeps the queue above. Each rule needs a condition and an existing queue."
                ),
            },
        ),
        (_("Timing"), {"fields": ["auto_close_after_inactivity_seconds", "wrap_up_seconds"]}),
        (
            _("Auto-close per state"),
            {
                "fields": ["auto_close_open", "auto_close_active", "auto_close_waiting", "auto_close_wrap_up"],
                "description": _(
                    "A conversation with no activity in its state for this long is closed by the server, and the "
                    "closing is logged with the state and the timer. On a new workstream, leave all four empty for "
                    "the defaults: persistent chat closes a conversation waiting 30 days; live chat one open or "
                    "active for 1 day. The inactivity time above still applies to every state."
                ),
            },
        ),
    ]

    class Media:
        css = ADMIN_MEDIA["css"]

    @admin.display(description=_("mode"), ordering="persistent")
    def mode_label(self, obj: Workstream) -> str:
        return _("Persistent") if obj.persistent else _("Live")


@admin.register(ChatWidget)
class ChatWidgetAdmin(admin.ModelAdmin):
    form = ChatWidgetForm
    list_display = ["name", "public_id", "workstream", "authentication", "language", "enabled"]
    list_filter = ["enabled", "language", "workstream"]
    search_fields = ["name", "public_id", "title"]
    fieldsets = [
        (None, {"fields": ["name", "public_id", "enabled"]}),
        (_("Chat"), {"fields": ["workstream", "authentication", "allowed_origins"]}),
        (_("Appearance"), {"fields": ["title", "language", "color", "logo_url"]}),
        (
            _("System messages"),
            {
                "classes": ["collapse"],
                "fields": [
                    "message_queue_position",
                    "message_average_wait_time",
                    "message_agent_joined",
                    "message_out_of_hours",
                    "message_conversation_ended",
                    "message_rate_conversation",
                    "message_no_agent_available",
                    "message_transferred",
                    "message_agent_disconnected",
                ],
            },
        ),
        (
            _("The customer's journey"),
            {
                "fields": ["pre_chat", "post_chat_survey", "email_notifications", "return_url"],
                "description": _(
                    "A survey before the first message of a new conversation, for example "
                    '[{"name": "topic", "label": "Topic", "kind": "choice", "required": true, '
                    '"choices": ["Billing", "Delivery"]}] (kinds: text, email, textarea, choice). '
                    "A rating after an agent ends a conversation. Emails to a customer who is away when an "
                    "agent answers (persistent chat and messages left when nobody was available), linking "
                    "back to the return address. See docs/customer-journey.md."
                ),
            },
        ),
    ]

    class Media:
        css = ADMIN_MEDIA["css"]
        js = ["admin_center/copy-snippet.js"]

    def get_urls(self):
        from django.urls import path

        from admin_center import widget_test

        own = [
            path(
                "<path:object_id>/test/",
                self.admin_site.admin_view(widget_test.test_page),
                name="admin_center_chatwidget_test",
            ),
            path(
                "<path:object_id>/test-token/",
                self.admin_site.admin_view(widget_test.test_token_view),
                name="admin_center_chatwidget_test_token",
            ),
        ]
        return own + super().get_urls()

    def change_view(self, request, object_id, form_url="", extra_context=None):
        widget = self.get_object(request, object_id)
        extra_context = dict(extra_context or {})
        if widget is not None:
            origin = request.build_absolute_uri("/").rstrip("/")
            extra_context["embed_snippet"] = embed_snippet(origin, widget.public_id)
        return super().change_view(request, object_id, form_url, extra_context)


admin.site.register(ChatAuthenticationSetting, ChatAuthenticationSettingAdmin)


@admin.register(OperatingHours)
class OperatingHoursAdmin(admin.ModelAdmin):
    form = OperatingHoursForm
    list_display = ["name", "timezone"]
    search_fields = ["name"]
    fieldsets = [
        (None, {"fields": ["name", "timezone"]}),
        (
            _("Weekly hours"),
            {
                "description": _("Local times in the time zone above. A day left empty is closed."),
                "fields": ["day_mon", "day_tue", "day_wed", "day_thu", "day_fri", "day_sat", "day_sun"],
            },
        ),
        (None, {"fields": ["closed_dates"]}),
    ]


@admin.register(ConfigurationImport)
class ConfigurationImportAdmin(ReadOnly, admin.ModelAdmin):
    """The audit trail of ``import_config``: who applied a document, when, and the counts per kind."""

    list_display = ("created_at", "imported_by", "source", "allow_staff")
    readonly_fields = ("created_at", "imported_by", "source", "allow_staff", "summary")


@admin.register(QuickReply)
class QuickReplyAdmin(admin.ModelAdmin):
    """Prepared answers agents insert in the workspace by typing / and the shortcut (docs/agents.md)."""

    list_display = ["title", "shortcut_label", "language", "queue_names"]
    list_filter = ["language", "queues"]
    search_fields = ["title", "shortcut", "text"]
    filter_horizontal = ["queues"]
    fields = ["title", "shortcut", "language", "text", "queues"]

    class Media:
        css = ADMIN_MEDIA["css"]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("queues")

    @admin.display(description=_("shortcut"), ordering="shortcut")
    def shortcut_label(self, reply: QuickReply) -> str:
        return f"/{reply.shortcut}"

    @admin.display(description=_("queues"))
    def queue_names(self, reply: QuickReply) -> str:
        return ", ".join(queue.name for queue in reply.queues.all()) or _("all agents")

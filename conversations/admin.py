"""Conversations in the admin center: read-only, with the transcript, the state
history and one action, "Reassign to agent", that calls the service layer.
Customers: read-only, with the two data-protection actions of
``conversations.actions.privacy``: export their data as JSON, and erase it."""

from __future__ import annotations

import json

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.models import DELETION, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.http import HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from admin_center.readonly import ReadOnly
from conversations import agent_admin  # noqa: F401  (registers the agent and queue pages)
from conversations.actions import assignment, privacy
from conversations.errors import ServiceError
from conversations.models import Conversation, ConversationEvent, Customer, Rating
from routing.models import AgentProfile

# The admin history entry of an erasure: the customer's id and this label, nothing they told us.
ERASED_LABEL = "Customer data erased"


class ReadOnlyAdmin(ReadOnly, admin.ModelAdmin):
    pass


class ConversationEventInline(ReadOnly, admin.TabularInline):
    model = ConversationEvent
    verbose_name_plural = _("state history")
    fields = ["created_at", "from_state", "to_state", "actor_role", "actor_name", "reason"]
    readonly_fields = fields
    ordering = ["created_at", "id"]
    extra = 0


class ReassignForm(forms.Form):
    agent = forms.ModelChoiceField(queryset=AgentProfile.objects.select_related("user"), label=_("New agent"))


@admin.register(Conversation)
class ConversationAdmin(ReadOnlyAdmin):
    list_display = ["customer", "mode", "state", "workstream", "agent", "created_at", "last_message_at"]
    list_filter = ["state", "mode", "workstream", "agent"]
    search_fields = ["customer__name", "customer__email", "customer__username", "customer__subject"]
    list_select_related = ["customer", "workstream", "agent"]
    date_hierarchy = "created_at"
    inlines = [ConversationEventInline]
    actions = ["reassign_to_agent"]
    fields = [
        "customer",
        "mode",
        "state",
        "workstream",
        "widget",
        "queue",
        "agent",
        "created_at",
        "assigned_at",
        "last_message_at",
        "closed_at",
        "rating_shown",
        "pre_chat_answers",
        "transcript_downloads",
        "transcript",
    ]
    readonly_fields = fields

    class Media:
        css = {"all": ["admin_center/admin_center.css"]}

    @admin.display(description=_("rating"))
    def rating_shown(self, conversation: Conversation):
        rating = Rating.objects.filter(conversation=conversation).first()
        if rating is None:
            return _("Not rated")
        stars = "★" * rating.score + "☆" * (5 - rating.score)
        return format_html("{} ({}/5) {}", stars, rating.score, rating.comment)

    @admin.display(description=_("pre-chat answers"))
    def pre_chat_answers(self, conversation: Conversation):
        answers = conversation.pre_chat or {}
        return "; ".join(f"{name}: {value}" for name, value in answers.items()) or "—"

    @admin.display(description=_("download transcript"))
    def transcript_downloads(self, conversation: Conversation):
        url = reverse("workspace-transcript", args=[conversation.pk])
        return format_html(
            '<a href="{}?format=txt">{}</a> · <a href="{}?format=html">{}</a> · '
            '<a href="{}?format=html&amp;notes=1">{}</a>',
            url,
            _("text"),
            url,
            _("printable HTML"),
            url,
            _("HTML with internal notes"),
        )

    @admin.display(description=_("transcript"))
    def transcript(self, conversation: Conversation):
        """Every message as plain text (escaped by the admin; never rendered as HTML)."""
        lines = [
            f"[{message.sent_at:%Y-%m-%d %H:%M:%S}] {message.sender_name} ({message.get_sender_role_display()}): "
            f"{message.text}"
            for message in conversation.messages.order_by("seq")
        ]
        return "\n".join(lines) or _("No messages.")

    def get_actions(self, request):
        # Read-only for editing, but the reassign action stays available to staff who may change conversations.
        actions = super().get_actions(request)
        if not request.user.has_perm("conversations.change_conversation"):
            actions.pop("reassign_to_agent", None)
        return actions

    @admin.action(description=_("Reassign to agent"))
    def reassign_to_agent(self, request, queryset):
        if "agent" in request.POST:
            form = ReassignForm(request.POST)
            if form.is_valid():
                self._reassign(request, queryset, form.cleaned_data["agent"])
                return None
        else:
            form = ReassignForm()
        context = {
            **self.admin_site.each_context(request),
            "title": _("Reassign to agent"),
            "form": form,
            "conversations": queryset,
            "opts": self.model._meta,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/conversations/reassign.html", context)

    def _reassign(self, request, queryset, agent: AgentProfile) -> None:
        actor = request.user.get_full_name() or request.user.get_username()
        moved, refused = 0, []
        for conversation in queryset:
            try:
                assignment.reassign(conversation, agent, actor_name=actor)
                moved += 1
                self.log_change(request, conversation, f"Reassigned to agent {agent.pk} ({agent.display_name}).")
            except ServiceError as error:
                refused.append(f"{conversation}: {error.message}")
        if moved:
            message = _("Reassigned to %(agent)s: %(count)d.") % {"count": moved, "agent": agent.display_name}
            self.message_user(request, message, messages.SUCCESS)
        for line in refused:
            self.message_user(request, _("Not reassigned: %(reason)s") % {"reason": line}, messages.WARNING)


@admin.register(Customer)
class CustomerAdmin(ReadOnlyAdmin):
    list_display = ["display_name", "email", "subject", "authentication", "last_seen_at"]
    list_filter = ["authentication"]
    search_fields = ["name", "email", "username", "subject"]
    fields = ["name", "email", "username", "subject", "authentication", "created_at", "last_seen_at"]
    readonly_fields = fields
    actions = ["export_data", "erase_data"]

    def has_erase_permission(self, request) -> bool:
        return request.user.has_perm("conversations.delete_customer")

    @admin.action(description=_("Export data (JSON)"), permissions=["view"])
    def export_data(self, request, queryset):
        exports = [privacy.export_customer(customer) for customer in queryset]
        document = exports[0] if len(exports) == 1 else {"customers": exports}
        name = f"customer-{queryset[0].pk}.json" if len(exports) == 1 else "customers.json"
        response = HttpResponse(
            json.dumps(document, ensure_ascii=False, indent=2), content_type="application/json; charset=utf-8"
        )
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response

    @admin.action(description=_("Erase data…"), permissions=["erase"])
    def erase_data(self, request, queryset):
        customers = list(queryset)
        if request.POST.get("confirm") != "yes":
            context = {
                **self.admin_site.each_context(request),
                "title": _("Erase customer data"),
                "customers": customers,
                "conversation_count": Conversation.objects.filter(customer__in=customers).count(),
                "opts": self.model._meta,
                "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            }
            return TemplateResponse(request, "admin/conversations/erase.html", context)
        # One transaction for the whole erasure; the audit trail (who erased which customer id, and when)
        # is written after each erasure succeeded, with a fixed label: never the customer's name or email.
        with transaction.atomic():
            erased = []
            for customer in customers:
                erased.append(privacy.erase_customer(customer))
                LogEntry.objects.create(
                    user_id=request.user.pk,
                    content_type=ContentType.objects.get_for_model(Customer),
                    object_id=str(customer.pk),
                    object_repr=ERASED_LABEL,
                    action_flag=DELETION,
                    change_message=ERASED_LABEL,
                )
        message = _("Erased %(customers)d customer(s): %(conversations)d conversation(s), %(messages)d message(s).") % {
            "customers": len(erased),
            "conversations": sum(counts["conversations"] for counts in erased),
            "messages": sum(counts["messages"] for counts in erased),
        }
        self.message_user(request, message, messages.SUCCESS)
        return None

"""Admin center pages for agents and queues (agents are managed with their user).

The pages are adapters like the sockets: what changes who can work (an agent's presence, capacity and
queues, a queue's members) goes through ``conversations.actions.sessions``, so the agent's open
workspace hears it, its sockets follow their new queues, and routing runs, exactly as when the agent
changes presence in the workspace. Registered from ``conversations/admin.py``.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.utils.translation import gettext_lazy as _

from routing.models import AgentProfile, Presence, Queue

from .actions import sessions


class AgentProfileForm(forms.ModelForm):
    """The agent's profile with the queues the agent works in (queue membership is stored on the queue).

    Presence, capacity and queues are not written by the form: once the profile is saved they go through
    ``sessions.change_agent``."""

    queues = forms.ModelMultipleChoiceField(
        queryset=Queue.objects.all(),
        required=False,
        label=_("Queues"),
        widget=forms.CheckboxSelectMultiple,
        help_text=_("The queues this agent takes conversations from."),
    )

    class Meta:
        model = AgentProfile
        fields = ["display_name", "capacity", "presence", "language"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # What the row holds now: the form saves these, the actions make the change.
        self._stored = {"presence": self.instance.presence, "capacity": self.instance.capacity}
        if self.instance.pk is not None:
            self.fields["queues"].initial = list(self.instance.queues.all())
        self.fields["language"].required = False  # left out: the agent keeps theirs (English for a new one)

    def clean_language(self) -> str:
        return self.cleaned_data.get("language") or self.instance.language or "en"

    def save(self, commit: bool = True):
        self.instance.presence = self._stored["presence"]
        self.instance.capacity = self._stored["capacity"]
        return super().save(commit)

    def _save_m2m(self) -> None:
        super()._save_m2m()
        data = self.cleaned_data
        sessions.change_agent(
            self.instance,
            presence=data.get("presence") or self._stored["presence"] or Presence.OFFLINE,
            capacity=data["capacity"] if data.get("capacity") is not None else self._stored["capacity"],
            queue_ids=[queue.pk for queue in data.get("queues", [])],
        )


class AgentProfileInline(admin.StackedInline):
    model = AgentProfile
    form = AgentProfileForm
    can_delete = True
    max_num = 1
    verbose_name = _("agent profile")
    verbose_name_plural = _("agent profile (makes this user an agent)")
    readonly_fields = ["used_capacity", "last_assigned_at"]


User = get_user_model()
if admin.site.is_registered(User):
    admin.site.unregister(User)


@admin.register(User)
class AgentUserAdmin(UserAdmin):
    """Users, with the agent profile (capacity, queues) on the same page."""

    inlines = [AgentProfileInline]
    list_display = ["username", "first_name", "last_name", "is_staff", "is_agent"]

    @admin.display(description=_("agent"), boolean=True)
    def is_agent(self, user) -> bool:
        return hasattr(user, "agent_profile")


@admin.register(AgentProfile)
class AgentProfileAdmin(admin.ModelAdmin):
    form = AgentProfileForm
    list_display = ["display_name", "user", "capacity", "used_capacity", "presence", "last_assigned_at"]
    list_filter = ["presence", "queues"]
    search_fields = ["display_name", "user__username", "user__email"]
    readonly_fields = ["used_capacity", "presence_changed_at", "last_assigned_at"]
    fieldsets = [
        (_("Agent profile"), {"fields": ["display_name", "capacity", "presence", "queues", "language"]}),
        (_("Account"), {"fields": ["user"]}),
        (_("Activity"), {"fields": ["used_capacity", "presence_changed_at", "last_assigned_at"]}),
    ]
    autocomplete_fields = ["user"]


@admin.register(Queue)
class QueueAdmin(admin.ModelAdmin):
    list_display = ["name", "assignment_method", "operating_hours", "member_count"]
    list_filter = ["assignment_method", "operating_hours"]
    search_fields = ["name"]
    filter_horizontal = ["members"]
    fields = ["name", "members", "assignment_method", "operating_hours"]

    @admin.display(description=_("members"))
    def member_count(self, queue: Queue) -> int:
        return queue.members.count()

    def save_related(self, request, form, formsets, change) -> None:
        """Members change through ``sessions.set_queue_members`` (the agents' sockets follow, routing runs)."""
        members = form.cleaned_data.pop("members", None)
        super().save_related(request, form, formsets, change)
        if members is not None:
            sessions.set_queue_members(form.instance, [agent.pk for agent in members])

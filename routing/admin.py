"""Admin center pages for queues and agents (agents are managed with their user)."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.utils.translation import gettext_lazy as _

from routing.models import AgentProfile, Queue


class AgentProfileForm(forms.ModelForm):
    """The agent's profile with the queues the agent works in (queue membership is stored on the queue)."""

    queues = forms.ModelMultipleChoiceField(
        queryset=Queue.objects.all(),
        required=False,
        label=_("queues"),
        widget=forms.CheckboxSelectMultiple,
        help_text=_("The queues this agent takes conversations from."),
    )

    class Meta:
        model = AgentProfile
        fields = ["display_name", "capacity", "presence"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:
            self.fields["queues"].initial = list(self.instance.queues.all())

    def _save_m2m(self) -> None:
        super()._save_m2m()
        self.instance.queues.set(self.cleaned_data["queues"])


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
    fields = [
        "user",
        "display_name",
        "capacity",
        "presence",
        "queues",
        "used_capacity",
        "presence_changed_at",
        "last_assigned_at",
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

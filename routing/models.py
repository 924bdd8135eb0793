"""Who can take work: queues and agents, with presence and capacity."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Presence(models.TextChoices):
    AVAILABLE = "available", _("Available")
    BUSY = "busy", _("Busy")
    AWAY = "away", _("Away")
    OFFLINE = "offline", _("Offline")


class AgentProfileQuerySet(models.QuerySet):
    def with_free_capacity(self):
        """Each agent with ``free``: capacity not used now (the one way free capacity is computed in SQL;
        ``AgentProfile.free_capacity`` is the same for a row in hand)."""
        return self.annotate(
            free=models.ExpressionWrapper(
                models.F("capacity") - models.F("used_capacity"), output_field=models.IntegerField()
            )
        )


class AgentProfile(models.Model):
    """An agent: a user who works in the workspace.

    ``used_capacity`` is the sum of the capacity units of the agent's
    conversations that hold capacity (active and wrap-up). It is kept in the
    same transaction as every state change that moves it, with this row
    locked, so routing reads one row instead of summing conversations.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="agent_profile", verbose_name=_("user")
    )
    display_name = models.CharField(_("display name"), max_length=150)
    capacity = models.PositiveIntegerField(
        _("capacity"),
        default=100,
        help_text=_(
            "The agent's total capacity units. Each conversation the agent holds uses its workstream's capacity "
            "units (for example 10 of 100: ten chats at once); routing assigns only while enough are free."
        ),
    )
    used_capacity = models.PositiveIntegerField(_("used capacity"), default=0, editable=False)
    presence = models.CharField(_("presence"), max_length=16, choices=Presence.choices, default=Presence.OFFLINE)
    presence_changed_at = models.DateTimeField(_("presence changed"), null=True, blank=True, editable=False)
    last_assigned_at = models.DateTimeField(_("last assignment"), null=True, blank=True, editable=False)
    disconnected_at = models.DateTimeField(_("last workspace socket closed"), null=True, blank=True, editable=False)

    # The language the agent works in: quick replies in it come first (docs/agents.md).
    language = models.CharField(
        _("language"), max_length=5, choices=[("en", "English"), ("ru", "Русский")], default="en"
    )
    # Offers the agent let expire in a row (conversations/actions/offers.py); at 3 the agent is set away.
    missed_offers = models.PositiveSmallIntegerField(_("offers missed in a row"), default=0, editable=False)

    objects = AgentProfileQuerySet.as_manager()

    class Meta:
        verbose_name = _("agent")
        verbose_name_plural = _("agents")
        ordering = ["display_name"]
        constraints = [
            models.CheckConstraint(condition=models.Q(used_capacity__gte=0), name="used_capacity_not_negative"),
        ]
        indexes = [models.Index(fields=["presence", "last_assigned_at"], name="agent_presence_idx")]
        # Supervisors (docs/security.md): the live dashboard, watching and transferring any conversation,
        # setting an agent's presence, and the reports. Granted through a group or the configuration.
        permissions = [("supervise", _("Can supervise queues and agents"))]

    def __str__(self) -> str:
        return f"{self.display_name} ({self.user.get_username()})"

    @property
    def free_capacity(self) -> int:
        return self.capacity - self.used_capacity


class Queue(models.Model):
    class AssignmentMethod(models.TextChoices):
        HIGHEST_CAPACITY = "highest_capacity", _("Highest capacity")
        ROUND_ROBIN = "round_robin", _("Round robin")

    name = models.CharField(_("name"), max_length=100, unique=True)
    members = models.ManyToManyField(AgentProfile, related_name="queues", blank=True, verbose_name=_("members"))
    assignment_method = models.CharField(
        _("assignment method"),
        max_length=20,
        choices=AssignmentMethod.choices,
        default=AssignmentMethod.HIGHEST_CAPACITY,
    )
    operating_hours = models.ForeignKey(
        "admin_center.OperatingHours",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="queues",
        verbose_name=_("operating hours"),
        help_text=_("Empty means always open."),
    )
    # Exponential moving average of how long live conversations waited here
    # before an agent took them (routing/estimates.py).
    average_wait_seconds = models.FloatField(null=True, blank=True, editable=False)
    wait_samples = models.PositiveIntegerField(default=0, editable=False)

    class Meta:
        verbose_name = _("queue")
        verbose_name_plural = _("queues")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

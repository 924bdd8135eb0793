"""What an administrator configures: workstreams, chat widgets, chat
authentication settings and operating hours.

Validation lives here (``clean()``) and in ``admin_center.validators`` so that
the admin forms and ``import_config`` apply one set of rules.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class OperatingHours(models.Model):
    """Weekly opening intervals in one time zone, with closed dates.

    ``weekly`` maps ``mon``..``sun`` to lists of ``["HH:MM", "HH:MM"]``
    intervals in local time; an interval whose end is not after its start runs
    overnight into the next day. A day left out is closed. ``closed_dates`` are
    local ``YYYY-MM-DD`` dates on which nothing opens.
    """

    name = models.CharField(_("name"), max_length=100, unique=True)
    timezone = models.CharField(_("time zone"), max_length=64, default="UTC")
    weekly = models.JSONField(_("weekly hours"), default=dict, blank=True)
    closed_dates = models.JSONField(_("closed dates"), default=list, blank=True)

    class Meta:
        verbose_name = _("operating hours")
        verbose_name_plural = _("operating hours")
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.timezone})"


class ChatAuthenticationSetting(models.Model):
    """How the customer's website proves who its signed-in customer is: the
    public key that verifies the site's JWTs, an optional issuer, and the name
    of the site's JavaScript function that returns a token."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    public_key_pem = models.TextField(
        _("public key (PEM)"),
        help_text=_("The website's RSA or EC public key, '-----BEGIN PUBLIC KEY-----' ... "),
    )
    issuer = models.CharField(
        _("issuer"),
        max_length=255,
        blank=True,
        default="",
        help_text=_("If set, tokens must carry exactly this 'iss' claim."),
    )
    javascript_function = models.CharField(
        _("JavaScript function name"),
        max_length=100,
        default="getChatToken",
        help_text=_("A function on the website that returns a token or a Promise of one."),
    )

    class Meta:
        verbose_name = _("chat authentication setting")
        verbose_name_plural = _("chat authentication settings")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Workstream(models.Model):
    class Distribution(models.TextChoices):
        PUSH = "push", _("Push (routing assigns)")
        PICK = "pick", _("Pick (agents take from the queue)")

    name = models.CharField(_("name"), max_length=100, unique=True)
    persistent = models.BooleanField(
        _("make chats persistent"),
        default=False,
        help_text=_(
            "An asynchronous conversation across many sessions: the customer comes back any time "
            "to the full history; only agents end it. Requires signed-in customers and the same agent "
            "for the entire conversation."
        ),
    )
    same_agent = models.BooleanField(
        _("same agent for the entire conversation"),
        default=False,
        help_text=_("Once assigned, a conversation always stays with its agent. Required for persistent chat."),
    )
    distribution = models.CharField(
        _("work distribution"), max_length=8, choices=Distribution.choices, default=Distribution.PUSH
    )
    capacity_units = models.PositiveIntegerField(
        _("capacity units"), default=50, help_text=_("How much of an agent's capacity one active conversation uses.")
    )
    queue = models.ForeignKey(
        "routing.Queue", on_delete=models.PROTECT, related_name="workstreams", verbose_name=_("queue")
    )
    auto_close_after_inactivity_seconds = models.PositiveIntegerField(
        _("auto-close after inactivity"),
        default=0,
        help_text=_("A conversation with no message for this long is closed. 0 never closes it."),
    )
    wrap_up_seconds = models.PositiveIntegerField(
        _("wrap-up time"),
        default=0,
        help_text=_("After the agent ends it, the conversation stays in wrap-up (holding capacity) at most this long. 0 closes at once."),
    )

    class Meta:
        verbose_name = _("workstream")
        verbose_name_plural = _("workstreams")
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(persistent=False) | models.Q(same_agent=True),
                name="persistent_requires_same_agent",
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def mode(self) -> str:
        return "persistent" if self.persistent else "live"


class ChatWidget(models.Model):
    class Language(models.TextChoices):
        EN = "en", "English"
        RU = "ru", "Русский"

    public_id = models.SlugField(
        _("public id"),
        max_length=64,
        unique=True,
        help_text=_("3-64 of a-z, 0-9 and '-'; appears in the embed snippet and URLs."),
    )
    name = models.CharField(_("name"), max_length=100, unique=True)
    workstream = models.ForeignKey(
        Workstream, on_delete=models.PROTECT, related_name="widgets", verbose_name=_("workstream")
    )
    authentication = models.ForeignKey(
        ChatAuthenticationSetting,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="widgets",
        verbose_name=_("authentication setting"),
    )
    allowed_origins = models.JSONField(
        _("allowed origins"),
        default=list,
        blank=True,
        help_text=_("Websites allowed to embed this widget, e.g. https://shop.example.com"),
    )
    title = models.CharField(_("title"), max_length=100, default="Chat with us")
    language = models.CharField(_("language"), max_length=5, choices=Language.choices, default=Language.EN)
    color = models.CharField(_("accent colour"), max_length=7, default="#2563eb")
    enabled = models.BooleanField(_("enabled"), default=True)
    messages = models.JSONField(
        _("system messages"),
        default=dict,
        blank=True,
        help_text=_("Overrides of the system-message texts; missing ones use the defaults."),
    )

    class Meta:
        verbose_name = _("chat widget")
        verbose_name_plural = _("chat widgets")
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.public_id})"

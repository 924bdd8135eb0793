"""What an administrator configures: workstreams, chat widgets, chat
authentication settings and operating hours.

Validation lives here (``clean()``) and in ``admin_center.validators`` so that
the admin forms and ``import_config`` apply one set of rules.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from admin_center import validators

# How far next_opening() looks ahead: a year of closed dates plus a week.
_LOOKAHEAD_DAYS = 400


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

    def clean(self) -> None:
        _collect(
            {
                "timezone": lambda: validators.validate_timezone(self.timezone),
                "weekly": lambda: validators.validate_weekly(self.weekly),
                "closed_dates": lambda: validators.validate_closed_dates(self.closed_dates),
            }
        )

    # --- "open at instant T?" and "next opening after T?" ---------------------------------
    #
    # Each interval is anchored to the local date it starts on and turned into a pair of
    # instants. A local time that does not exist (the hour skipped when clocks go forward)
    # maps as if the clocks had not changed yet, so 02:30 on that day is 03:30 summer
    # time; an ambiguous time (clocks go back) means its first occurrence. An interval
    # that falls entirely into a skipped hour is empty.

    def _intervals_starting_on(self, day: date) -> Iterator[tuple[datetime, datetime]]:
        if day.isoformat() in set(self.closed_dates or ()):
            return
        tz = zoneinfo.ZoneInfo(self.timezone)
        for start_text, end_text in (self.weekly or {}).get(validators.DAYS[day.weekday()], ()):
            start = _local_instant(day, start_text, tz)
            end_day = day if end_text != "24:00" and end_text > start_text else day + timedelta(days=1)
            end = _local_instant(end_day, "00:00" if end_text == "24:00" else end_text, tz)
            if end > start:
                yield start, end

    def is_open(self, at: datetime) -> bool:
        """Whether the hours are open at the aware instant ``at``."""
        local_day = at.astimezone(zoneinfo.ZoneInfo(self.timezone)).date()
        return any(
            start <= at < end
            for day in (local_day - timedelta(days=1), local_day)
            for start, end in self._intervals_starting_on(day)
        )

    def next_opening(self, after: datetime) -> datetime | None:
        """The first instant at or after ``after`` at which the hours are open.

        ``after`` itself when open then; ``None`` when nothing opens within
        the next 400 days (no intervals, or every such day closed).
        """
        local_day = after.astimezone(zoneinfo.ZoneInfo(self.timezone)).date()
        best: datetime | None = None
        for offset in range(-1, _LOOKAHEAD_DAYS):
            day = local_day + timedelta(days=offset)
            if best is not None and day > best.astimezone(zoneinfo.ZoneInfo(self.timezone)).date():
                break
            for start, end in self._intervals_starting_on(day):
                if end > after:
                    candidate = max(start, after)
                    if best is None or candidate < best:
                        best = candidate
        return best


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

    def clean(self) -> None:
        _collect(
            {
                "public_key_pem": lambda: validators.validate_public_key_pem(self.public_key_pem),
                "javascript_function": lambda: validators.validate_javascript_function(self.javascript_function),
            }
        )


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
        help_text=_(
            "After the agent ends it, the conversation stays in wrap-up (holding capacity) at most this long. "
            "0 closes at once."
        ),
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

    def clean(self) -> None:
        problems = validators.workstream_problems(persistent=self.persistent, same_agent=self.same_agent)
        if not problems and self.persistent and self.pk is not None:
            unauthenticated = validators.persistent_widgets_without_authentication(self.widgets.all())
            if unauthenticated:
                names = ", ".join(widget.name for widget in unauthenticated)
                problems["persistent"] = _(
                    "these widgets have no authentication setting, which persistent chat requires: %(names)s"
                ) % {"names": names}
        if problems:
            raise ValidationError(problems)

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
    pre_chat = models.JSONField(
        _("pre-chat survey"),
        default=list,
        blank=True,
        help_text=_(
            "Fields the customer fills in before the first message of a new conversation: a list of "
            '{"name", "label", "kind" (text, email, textarea, choice), "required", "choices"}.'
        ),
    )
    post_chat_survey = models.BooleanField(
        _("ask for a rating"),
        default=False,
        help_text=_("After an agent ends a conversation, the widget asks the customer for 1-5 stars and a comment."),
    )
    email_notifications = models.BooleanField(
        _("email an absent customer"),
        default=False,
        help_text=_(
            "Persistent chat, and messages left when nobody was available: an agent's reply that the customer "
            "has not seen is sent to their email address."
        ),
    )
    return_url = models.URLField(
        _("return address"),
        max_length=500,
        blank=True,
        default="",
        help_text=_("The page of your website with the chat; emails link back to it."),
    )

    class Meta:
        verbose_name = _("chat widget")
        verbose_name_plural = _("chat widgets")
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.public_id})"

    def clean(self) -> None:
        checks = {
            "public_id": lambda: validators.validate_public_id(self.public_id),
            "allowed_origins": lambda: validators.validate_allowed_origins(self.allowed_origins),
            "messages": lambda: validators.validate_messages(self.messages),
            "pre_chat": lambda: validators.validate_pre_chat(self.pre_chat),
            "return_url": lambda: validators.validate_return_url(self.return_url),
        }
        errors = _collect(checks, raise_now=False)
        if self.workstream_id is not None:
            rules = validators.widget_problems(
                workstream_persistent=self.workstream.persistent,
                has_authentication=self.authentication_id is not None,
            )
            errors.update({name: [message] for name, message in rules.items()})
        if errors:
            raise ValidationError(errors)


def _local_instant(day: date, hhmm: str, tz: zoneinfo.ZoneInfo) -> datetime:
    hours, minutes = (int(part) for part in hhmm.split(":"))
    return datetime.combine(day, time(hours, minutes), tzinfo=tz).astimezone(UTC)


def _collect(checks: dict, *, raise_now: bool = True) -> dict:
    """Run field validators; gather their errors by field name."""
    errors: dict[str, list] = {}
    for field, check in checks.items():
        try:
            check()
        except ValidationError as error:
            errors[field] = error.messages
    if errors and raise_now:
        raise ValidationError(errors)
    return errors


class ConfigurationImport(models.Model):
    """The audit trail of ``import_config``: who applied a configuration document, when, and what it
    changed (counts per kind). Written in the import's own transaction, so a refused import leaves none."""

    imported_by = models.CharField(_("imported by"), max_length=150)
    source = models.CharField(_("source"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("at"), default=timezone.now, db_index=True)
    allow_staff = models.BooleanField(_("staff accounts allowed"), default=False)
    summary = models.JSONField(_("changes"), default=dict)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("configuration import")
        verbose_name_plural = _("configuration imports")

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.imported_by}"

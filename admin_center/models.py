"""What an administrator configures: workstreams, chat widgets, chat
authentication settings and operating hours.

Validation lives here (``clean()``) and in ``admin_center.validators`` so that
the admin forms and ``import_config`` apply one set of rules.
"""

from __future__ import annotations

import secrets
import zoneinfo
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from admin_center import validators, webhook_validators

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
    public keys that verify the site's JWTs (a key without kid, keys with a
    kid in ``keys``, and/or a JWKS URL), the claims the tokens must carry, and
    the name of the site's JavaScript function that gives a token."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    public_key_pem = models.TextField(
        _("public key without kid (PEM)"),
        blank=True,
        default="",
        help_text=_(
            "The website's RSA (2048 bits or more) or EC P-256 public key, '-----BEGIN PUBLIC KEY-----' ... "
            "Tokens without a 'kid' header are checked against it. Leave empty when you use keys with a kid "
            "or a JWKS URL."
        ),
    )
    key_last_used_at = models.DateTimeField(_("key without kid last used"), null=True, blank=True, editable=False)
    jwks_url = models.URLField(
        _("JWKS URL"),
        max_length=500,
        blank=True,
        default="",
        help_text=_(
            "Optional: the website's JSON Web Key Set (https://…/.well-known/jwks.json). Its keys are fetched "
            "and cached for up to 10 minutes; a token naming an unknown kid fetches it again (at most once a minute)."
        ),
    )
    jwks_fetched_at = models.DateTimeField(_("JWKS last fetched"), null=True, blank=True, editable=False)
    jwks_keys = models.JSONField(
        _("JWKS keys"), default=list, blank=True, editable=False,
        help_text=_("The keys of the last good JWKS document: kid, fingerprint, last use."),
    )  # fmt: skip
    jwks_error = models.TextField(_("JWKS last error"), blank=True, default="", editable=False)
    jwks_error_at = models.DateTimeField(_("JWKS last error at"), null=True, blank=True, editable=False)
    issuer = models.CharField(
        _("issuer"),
        max_length=255,
        blank=True,
        default="",
        help_text=_("If set, tokens must carry exactly this 'iss' claim."),
    )
    audience = models.CharField(
        _("audience"),
        max_length=255,
        blank=True,
        default="",
        help_text=_(
            "If set, tokens must carry this value in their 'aud' claim. If empty, tokens must not carry 'aud'."
        ),
    )
    max_token_age_seconds = models.PositiveIntegerField(
        _("maximum token age"),
        default=86400,
        help_text=_(
            "Tokens issued ('iat') longer ago than this are refused, and so are tokens valid for longer than "
            "this ('exp' minus 'iat')."
        ),
    )
    javascript_function = models.CharField(
        _("JavaScript function name"),
        max_length=100,
        default="getChatToken",
        help_text=_(
            "A function on the website that gives a token: it may return it, return a Promise of it, "
            "or call the callback it receives."
        ),
    )

    class Meta:
        verbose_name = _("chat authentication setting")
        verbose_name_plural = _("chat authentication settings")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        checks = {
            "javascript_function": lambda: validators.validate_javascript_function(self.javascript_function),
            "max_token_age_seconds": lambda: validators.validate_max_token_age(self.max_token_age_seconds),
        }
        if self.public_key_pem.strip():
            checks["public_key_pem"] = lambda: validators.validate_public_key_pem(self.public_key_pem)
        if self.jwks_url:
            checks["jwks_url"] = lambda: validators.validate_jwks_url(self.jwks_url)
        _collect(checks)

    @property
    def key_fingerprint(self) -> str:
        from admin_center.signing_keys import pem_fingerprint

        return pem_fingerprint(self.public_key_pem) if self.public_key_pem.strip() else ""


class ChatAuthenticationKey(models.Model):
    """One of an authentication setting's public keys, named by the ``kid`` its tokens carry."""

    setting = models.ForeignKey(
        ChatAuthenticationSetting, on_delete=models.CASCADE, related_name="keys", verbose_name=_("setting")
    )
    kid = models.CharField(_("key id (kid)"), max_length=200)
    public_key_pem = models.TextField(
        _("public key (PEM)"), help_text=_("RSA (2048 bits or more) or EC P-256, '-----BEGIN PUBLIC KEY-----' ...")
    )
    fingerprint = models.CharField(_("fingerprint (SHA-256)"), max_length=64, blank=True, editable=False)
    created_at = models.DateTimeField(_("added"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("public key")
        verbose_name_plural = _("public keys")
        ordering = ["setting", "kid"]
        constraints = [models.UniqueConstraint(fields=["setting", "kid"], name="unique_kid_per_setting")]

    def __str__(self) -> str:
        return self.kid

    def save(self, *args, **kwargs) -> None:
        from admin_center.signing_keys import pem_fingerprint

        self.fingerprint = pem_fingerprint(self.public_key_pem)
        if kwargs.get("update_fields") is not None and "public_key_pem" in kwargs["update_fields"]:
            kwargs["update_fields"] = {*kwargs["update_fields"], "fingerprint"}
        super().save(*args, **kwargs)

    def clean(self) -> None:
        _collect(
            {
                "kid": lambda: validators.validate_kid(self.kid),
                "public_key_pem": lambda: validators.validate_public_key_pem(self.public_key_pem),
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
        _("capacity units"),
        default=50,
        help_text=_(
            "How much of an agent's capacity one conversation holds while it is active or in wrap-up. With the "
            "usual 100 per agent, 10 lets an agent hold 10 chats at once, 25 four, 50 two, 100 one."
        ),
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
    # Version 2 (docs/supervisors.md): offers instead of plain assignment, and a timer per state.
    auto_accept = models.BooleanField(
        _("assign without asking"),
        default=True,
        help_text=_(
            "On: routing assigns conversations directly. Off: the agent gets an offer with a countdown "
            "and accepts or declines it; the offer reserves the agent's capacity meanwhile."
        ),
    )
    offer_timeout_seconds = models.PositiveIntegerField(
        _("offer time-out"),
        default=120,
        validators=[MinValueValidator(5)],
        help_text=_("How long an agent has to accept an offer before it goes to another agent."),
    )
    auto_close_seconds = models.JSONField(
        _("auto-close per state"),
        default=dict,
        blank=True,
        validators=[validators.validate_auto_close_seconds],
        help_text=_(
            "Per state (open, active, waiting, wrap_up): a conversation with no activity in that state "
            "for this long is closed; empty never closes it."
        ),
    )

    routing_rules = models.JSONField(
        _("routing rules"),
        default=list,
        blank=True,
        validators=[validators.validate_routing_rules],
        help_text=_(
            "Ordered rules that send a new conversation to another queue, e.g. "
            '[{"when": {"context.tier": "gold"}, "queue": "VIP"}]: the first rule whose every condition '
            "equals the conversation's value (context.<key> from the website's token, pre_chat.<field> "
            "from the survey) wins; no match uses the queue above."
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

    def save(self, *args, **kwargs) -> None:
        # A new workstream without timers of its own gets the reference's defaults for its mode.
        if self._state.adding and not self.auto_close_seconds:
            self.auto_close_seconds = validators.default_auto_close_seconds(persistent=self.persistent)
        super().save(*args, **kwargs)

    def clean(self) -> None:
        problems = validators.workstream_problems(persistent=self.persistent, same_agent=self.same_agent)
        if isinstance(self.routing_rules, list) and self.routing_rules:
            from routing.models import Queue

            names = {rule.get("queue") for rule in self.routing_rules if isinstance(rule, dict)}
            unknown = validators.routing_rule_queue_problems(
                self.routing_rules,
                Queue.objects.filter(name__in=[n for n in names if isinstance(n, str)]).values_list("name", flat=True),
            )
            if unknown:
                problems["routing_rules"] = " ".join(unknown)
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


# The languages a widget speaks (and a widget set to "auto" chooses among).
WIDGET_LANGUAGES = ("en", "ru")


def visitor_language(page: str = "", accept_language: str = "") -> str:
    """The visitor's language among ``WIDGET_LANGUAGES``: the embedding page's ``lang``, else the first
    supported one of the browser's ``Accept-Language``, else English."""
    code = page.strip().lower().replace("_", "-").split("-")[0]
    if code in WIDGET_LANGUAGES:
        return code
    for entry in accept_language.split(","):
        code = entry.split(";")[0].strip().lower().split("-")[0]
        if code in WIDGET_LANGUAGES:
            return code
    return "en"


class ChatWidget(models.Model):
    class Language(models.TextChoices):
        EN = "en", "English"
        RU = "ru", "Русский"
        AUTO = "auto", _("The visitor's (page or browser language, English or Russian)")

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
    color = models.CharField(
        _("brand colour"),
        max_length=7,
        default="#2563eb",
        validators=[RegexValidator(r"^#[0-9a-fA-F]{6}$", _("A colour as #rrggbb, for example #2563eb."))],
        help_text=_(
            "The header, your customer's bubbles and the launcher; text on it turns white or black to stay readable."
        ),
    )
    logo_url = models.URLField(
        _("logo address"),
        max_length=500,
        blank=True,
        default="",
        help_text=_("An https address of a square image (at least 80 × 80 px) shown in the widget's header."),
    )
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

    def language_for(self, visitor: str = "") -> str:
        """The language this widget speaks to a visitor: its own, or for "auto" the visitor's
        (``visitor_language`` of their page, or the customer's remembered ``language``), else English."""
        if self.language != self.Language.AUTO:
            return self.language
        return visitor if visitor in WIDGET_LANGUAGES else "en"

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


def new_webhook_secret() -> str:
    return secrets.token_urlsafe(32)


class WebhookEndpoint(models.Model):
    """A receiver of signed event notifications (../shared/PROTOCOL.md "Webhooks").

    The outbox and the delivery log are in ``conversations.webhooks``; the URL and event rules in
    ``admin_center.webhook_validators``."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    url = models.CharField(_("URL"), max_length=500, help_text=_("https only; the server POSTs events here."))
    secret = models.CharField(
        _("signing secret"),
        max_length=200,
        default=new_webhook_secret,
        help_text=_("Shared with the receiver, which checks the Parley-Signature header with it."),
    )
    events = models.JSONField(_("events"), default=list, blank=True)
    enabled = models.BooleanField(_("enabled"), default=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)

    class Meta:
        ordering = ["name"]
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        _collect(
            {
                "url": lambda: webhook_validators.validate_url(self.url),
                "events": lambda: webhook_validators.validate_events(self.events),
            }
        )


class QuickReply(models.Model):
    """A prepared answer agents insert by typing ``/`` and its shortcut in the composer (or from the
    picker). With no queues it is offered to every agent; with queues, to their members. ``{customer}``
    and ``{agent}`` are filled in by the workspace."""

    class Language(models.TextChoices):
        EN = "en", "English"
        RU = "ru", "Русский"

    title = models.CharField(_("title"), max_length=100, unique=True)
    shortcut = models.CharField(
        _("shortcut"),
        max_length=30,
        validators=[validators.validate_quick_reply_shortcut],
        help_text=_("The agent types / and this, e.g. hi for /hi."),
    )
    language = models.CharField(_("language"), max_length=5, choices=Language.choices, default=Language.EN)
    text = models.TextField(
        _("text"),
        validators=[validators.validate_quick_reply_text],
        help_text=_("Placeholders: {customer} (the customer's name) and {agent} (the agent's name)."),
    )
    queues = models.ManyToManyField(
        "routing.Queue",
        blank=True,
        related_name="quick_replies",
        verbose_name=_("queues"),
        help_text=_("Empty: offered to every agent."),
    )

    class Meta:
        verbose_name = _("quick reply")
        verbose_name_plural = _("quick replies")
        ordering = ["language", "shortcut", "title"]

    def __str__(self) -> str:
        return f"/{self.shortcut} · {self.title} ({self.language})"

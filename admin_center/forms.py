"""Admin center forms: friendly editors over the stored values.

The forms only translate between what an administrator types and what the
models store (seconds, JSON lists and objects); every rule is checked by the
models' ``clean()`` through ``admin_center.validators``, the same rules
``import_config`` applies.
"""

from __future__ import annotations

import zoneinfo

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from admin_center import validators
from admin_center.models import ChatWidget, OperatingHours, Workstream
from conversations.notices import DEFAULTS

# --- durations: a number and a unit, stored as whole seconds ---------------------------------

UNITS = [(86400, _("days")), (3600, _("hours")), (60, _("minutes")), (1, _("seconds"))]


class DurationWidget(forms.MultiWidget):
    def __init__(self, attrs=None) -> None:
        number = forms.NumberInput(attrs={"min": 0, "step": 1, "class": "duration-number", **(attrs or {})})
        super().__init__([number, forms.Select(choices=UNITS)], attrs)
        self.label = ""  # the field's label, set by DurationSecondsField: names the two parts for screen readers

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        if self.label:
            # A MultiWidget's <label> points at neither part: each part gets its own accessible name.
            number, unit = context["widget"]["subwidgets"]
            number["attrs"]["aria-label"] = _("%(field)s: number") % {"field": self.label}
            unit["attrs"]["aria-label"] = _("%(field)s: unit") % {"field": self.label}
        return context

    def decompress(self, value):
        if value in (None, ""):
            return [None, 60]
        seconds = int(value)
        if seconds == 0:
            return [0, 60]
        unit = next(size for size, _label in UNITS if seconds % size == 0)
        return [seconds // unit, unit]


class DurationSecondsField(forms.MultiValueField):
    """A duration typed as number + unit (days, hours, minutes, seconds); cleans to whole seconds."""

    widget = DurationWidget

    def __init__(self, **kwargs) -> None:
        # The admin passes its own number widget for integer model fields; this field brings its own.
        for key in ("max_length", "min_value", "max_value", "step_size", "widget"):
            kwargs.pop(key, None)
        fields = [forms.IntegerField(min_value=0), forms.TypedChoiceField(choices=UNITS, coerce=int)]
        super().__init__(fields=fields, require_all_fields=True, **kwargs)
        self.widget.label = self.label

    def compress(self, data_list):
        if not data_list:
            return None
        number, unit = data_list
        return number * unit


class OptionalDurationSecondsField(DurationSecondsField):
    """A duration that may be left empty (``None``: never); 0 means never too."""

    def compress(self, data_list):
        if not data_list or data_list[0] in (None, "") or data_list[0] == 0:
            return None
        number, unit = data_list
        return number * unit


AUTO_CLOSE_LABELS = {
    "open": _("Close an open conversation after"),
    "active": _("Close an active conversation after"),
    "waiting": _("Close a waiting conversation after"),
    "wrap_up": _("Close a conversation in wrap-up after"),
}


# --- forms -----------------------------------------------------------------------------------


class WorkstreamForm(forms.ModelForm):
    """The per-state timers (``auto_close_seconds``) are one duration field per state: empty means
    never. On a new workstream, leaving all four empty gives the reference's defaults for its mode
    (persistent: waiting 30 days; live: open and active 1 day)."""

    class Meta:
        model = Workstream
        fields = [
            "name",
            "persistent",
            "same_agent",
            "distribution",
            "queue",
            "capacity_units",
            "auto_accept",
            "offer_timeout_seconds",
            "auto_close_after_inactivity_seconds",
            "wrap_up_seconds",
            "routing_rules",
        ]
        widgets = {"routing_rules": forms.Textarea(attrs={"rows": 6, "cols": 80, "class": "vLargeTextField"})}
        field_classes = {
            "auto_close_after_inactivity_seconds": DurationSecondsField,
            "wrap_up_seconds": DurationSecondsField,
        }

    def clean_routing_rules(self):
        """An empty box means no rules (the JSON field reads it as null)."""
        rules = self.cleaned_data.get("routing_rules")
        return [] if rules in (None, "") else rules

    auto_accept = forms.TypedChoiceField(
        label=_("When routing chooses an agent"),
        choices=[
            ("true", _("assign the conversation at once")),
            ("false", _("offer it; the agent accepts or declines")),
        ],
        coerce=lambda value: value != "false",
        empty_value=True,
        required=False,
    )
    offer_timeout_seconds = DurationSecondsField(
        label=_("offer time-out"),
        required=False,
        help_text=_("How long an agent has to accept an offer before it goes to another agent (at least 5 seconds)."),
    )
    auto_close_open = OptionalDurationSecondsField(
        label=AUTO_CLOSE_LABELS["open"],
        required=False,
        help_text=_("No activity in this state for this long closes the conversation. Empty: never."),
    )
    auto_close_active = OptionalDurationSecondsField(label=AUTO_CLOSE_LABELS["active"], required=False)
    auto_close_waiting = OptionalDurationSecondsField(label=AUTO_CLOSE_LABELS["waiting"], required=False)
    auto_close_wrap_up = OptionalDurationSecondsField(label=AUTO_CLOSE_LABELS["wrap_up"], required=False)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        stored = self.instance.auto_close_seconds or {}
        for state in validators.AUTO_CLOSE_STATES:
            self.fields[f"auto_close_{state}"].initial = stored.get(state)
        self.fields["auto_accept"].initial = "true" if self.instance.auto_accept else "false"
        self.fields["offer_timeout_seconds"].initial = self.instance.offer_timeout_seconds

    def clean_offer_timeout_seconds(self):
        value = self.cleaned_data.get("offer_timeout_seconds")
        return self.instance.offer_timeout_seconds if value is None else value

    def clean(self):
        cleaned = super().clean()
        timers = {state: cleaned.get(f"auto_close_{state}") for state in validators.AUTO_CLOSE_STATES}
        if self.instance.pk is None and not any(timers.values()):
            self.instance.auto_close_seconds = {}  # a new workstream: the defaults of its mode (models.Workstream)
        else:
            self.instance.auto_close_seconds = timers
        return cleaned


MESSAGE_LABELS = {
    "queue_position": _("Queue position message"),
    "average_wait_time": _("Average wait message"),
    "agent_joined": _("Agent joined message"),
    "out_of_hours": _("Out of hours message"),
    "conversation_ended": _("Conversation ended message"),
    "rate_conversation": _("Rating request message"),
    "no_agent_available": _("Nobody available message"),
    "transferred": _("Transferred message"),
    "agent_disconnected": _("Agent disconnected message"),
}
MESSAGE_HELP = {
    "queue_position": _("Use {position} for the number in line. Empty uses the default."),
    "average_wait_time": _("Use {minutes} for the wait in minutes. Empty uses the default."),
    "agent_joined": _("Use {agent} for the agent's name. Empty uses the default."),
    "transferred": _(
        "Use {agent} for the new agent's name (a transfer to a queue shows the default). Empty uses the default."
    ),
}

DAY_LABELS = {
    "mon": _("Monday"),
    "tue": _("Tuesday"),
    "wed": _("Wednesday"),
    "thu": _("Thursday"),
    "fri": _("Friday"),
    "sat": _("Saturday"),
    "sun": _("Sunday"),
}


def _message_field(key: str) -> forms.CharField:
    return forms.CharField(
        label=MESSAGE_LABELS[key],
        required=False,
        widget=forms.TextInput(attrs={"size": 70}),
        help_text=MESSAGE_HELP.get(key, ""),
    )


def _day_field(day: str) -> forms.CharField:
    return forms.CharField(
        label=DAY_LABELS[day],
        required=False,
        widget=forms.TextInput(attrs={"size": 40, "placeholder": _("closed")}),
        help_text=_("e.g. 09:00-13:00, 14:00-18:00; 22:00-06:00 runs overnight; 00:00-24:00 is all day.")
        if day == "mon"
        else "",
    )


class LinesField(forms.CharField):
    """A list of strings, one a line."""

    widget = forms.Textarea(attrs={"rows": 3, "cols": 60})

    def prepare_value(self, value):
        return "\n".join(value) if isinstance(value, list) else value

    def to_python(self, value):
        return [line.strip() for line in (value or "").splitlines() if line.strip()]


class BrandColourWidget(forms.TextInput):
    """A colour picker (``<input type=color>``) followed by a live preview of the widget's header,
    updated as the title, colour and logo change (static/admin_center/widget-preview.js)."""

    input_type = "color"

    class Media:
        js = ["admin_center/widget-preview.js"]
        css = {"all": ["admin_center/widget-preview.css"]}

    def render(self, name, value, attrs=None, renderer=None):
        picker = super().render(name, value, attrs, renderer)
        preview = format_html(
            '<div class="widget-preview" id="widget-preview" data-preview-for="{}" aria-hidden="true">'
            '<div class="widget-preview-header"><span class="widget-preview-logo"></span>'
            '<span class="widget-preview-text"><strong class="widget-preview-title"></strong>'
            '<span class="widget-preview-status">{}</span></span></div>'
            '<div class="widget-preview-body"><span class="widget-preview-bubble">{}</span></div></div>'
            '<p class="help">{}</p>',
            (attrs or {}).get("id", ""),
            _("Online"),
            _("Hello! Where is my order?"),
            _("Preview: the header and a customer's message with this colour, title and logo."),
        )
        return picker + preview


class ChatWidgetForm(forms.ModelForm):
    """Allowed origins one a line; each system-message override in a field of its own."""

    allowed_origins = LinesField(
        label=_("Allowed origins"),
        required=False,
        help_text=_("One a line, e.g. https://shop.example.com (scheme, host and port; no path)."),
    )
    message_queue_position = _message_field("queue_position")
    message_average_wait_time = _message_field("average_wait_time")
    message_agent_joined = _message_field("agent_joined")
    message_out_of_hours = _message_field("out_of_hours")
    message_conversation_ended = _message_field("conversation_ended")
    return_url = forms.URLField(
        label=_("return address"),
        required=False,
        assume_scheme="https",
        max_length=500,
        help_text=_("The page of your website with the chat; emails link back to it."),
    )
    logo_url = forms.URLField(
        label=_("logo address"),
        required=False,
        assume_scheme="https",
        max_length=500,
        help_text=_("An https address of a square image (at least 80 × 80 px) shown in the widget's header."),
    )
    message_rate_conversation = _message_field("rate_conversation")
    message_no_agent_available = _message_field("no_agent_available")
    message_transferred = _message_field("transferred")
    message_agent_disconnected = _message_field("agent_disconnected")

    class Meta:
        model = ChatWidget
        fields = [
            "name",
            "public_id",
            "workstream",
            "authentication",
            "allowed_origins",
            "title",
            "language",
            "color",
            "logo_url",
            "enabled",
            "pre_chat",
            "post_chat_survey",
            "email_notifications",
            "return_url",
        ]
        widgets = {
            "pre_chat": forms.Textarea(attrs={"rows": 8, "cols": 80, "class": "vLargeTextField"}),
            "color": BrandColourWidget(),
        }

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        stored = self.instance.messages or {}
        for key in validators.MESSAGE_KEYS:
            self.fields[f"message_{key}"].initial = stored.get(key, "")
            self.fields[f"message_{key}"].widget.attrs["placeholder"] = str(DEFAULTS[key])

    def clean(self):
        data = super().clean()
        self.instance.messages = {
            key: data[f"message_{key}"].strip()
            for key in validators.MESSAGE_KEYS
            if data.get(f"message_{key}", "").strip()
        }
        return data

    def _update_errors(self, errors) -> None:
        # Errors the model reports on "messages" belong to the fields that edit them.
        super()._update_errors(_route(errors, "messages", "message_", validators.MESSAGE_KEYS))


class OperatingHoursForm(forms.ModelForm):
    """Each day as text like ``09:00-13:00, 14:00-18:00``; closed dates one a line."""

    closed_dates = LinesField(
        label=_("Closed dates"),
        required=False,
        help_text=_("One date a line, YYYY-MM-DD: nothing opens on these local dates."),
    )
    day_mon = _day_field("mon")
    day_tue = _day_field("tue")
    day_wed = _day_field("wed")
    day_thu = _day_field("thu")
    day_fri = _day_field("fri")
    day_sat = _day_field("sat")
    day_sun = _day_field("sun")

    class Meta:
        model = OperatingHours
        fields = ["name", "timezone", "closed_dates"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        zones = sorted(zoneinfo.available_timezones() | {self.instance.timezone or "UTC"})
        self.fields["timezone"].widget = forms.Select(choices=[(zone, zone) for zone in zones])
        weekly = self.instance.weekly or {}
        for day in validators.DAYS:
            self.fields[f"day_{day}"].initial = ", ".join(f"{start}-{end}" for start, end in weekly.get(day, []))

    def clean(self):
        data = super().clean()
        weekly = {}
        for day in validators.DAYS:
            text = (data.get(f"day_{day}") or "").strip()
            if text:
                weekly[day] = [[part.strip() for part in chunk.split("-", 1)] for chunk in text.split(",")]
        self.instance.weekly = weekly
        return data

    def _update_errors(self, errors) -> None:
        super()._update_errors(_route(errors, "weekly", "day_", validators.DAYS))


def _route(errors: ValidationError, model_field: str, prefix: str, keys) -> ValidationError:
    """Move the model's errors on a JSON field to the form fields that edit its parts.

    The validators start each message with the part's key (``mon: ...``, ``agent_joined: ...``).
    """
    if not hasattr(errors, "error_dict") or model_field not in errors.error_dict:
        return errors
    routed: dict[str, list] = {name: list(items) for name, items in errors.error_dict.items() if name != model_field}
    for error in errors.error_dict[model_field]:
        for message in error.messages:
            key = message.split(":", 1)[0]
            target = f"{prefix}{key}" if key in keys else NON_FIELD_ERRORS
            routed.setdefault(target, []).append(ValidationError(message))
    return ValidationError(routed)

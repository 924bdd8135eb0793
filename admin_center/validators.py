"""One set of rules for what an administrator configures.

The model ``clean()`` methods (and through them the admin forms) and
``import_config`` call these functions, so a rule is written once and both
entry points refuse the same things with the same message. Field validators
raise ``ValidationError``; the cross-field rules return a mapping of field
name to message so that each entry point can put the message on its field.
"""

from __future__ import annotations

import re
import string
import zoneinfo
from collections.abc import Iterable
from datetime import date
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
PUBLIC_ID_RE = re.compile(r"^[a-z0-9-]{3,64}$")
TIME_RE = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$|^24:00$")
JS_NAME_RE = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$]*(\.[A-Za-z_$][A-Za-z0-9_$]*)*$")
MESSAGE_KEYS = (
    "queue_position",
    "average_wait_time",
    "agent_joined",
    "out_of_hours",
    "conversation_ended",
    "rate_conversation",
    "no_agent_available",
    "transferred",
    "agent_disconnected",
)
MESSAGE_PLACEHOLDERS = {
    "queue_position": "{position}",
    "average_wait_time": "{minutes}",
    "agent_joined": "{agent}",
    "transferred": "{agent}",  # the new agent's name; a transfer to a queue falls back to the default text
}


# --- single fields ------------------------------------------------------------------


def validate_public_id(value: str) -> None:
    if not isinstance(value, str) or not PUBLIC_ID_RE.match(value):
        raise ValidationError(_("Use 3-64 characters: lowercase letters a-z, digits 0-9 and '-'."), code="public_id")


def validate_timezone(value: str) -> None:
    if not isinstance(value, str) or not value:
        raise ValidationError(_("Enter a time zone name such as Europe/Moscow."), code="timezone")
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValidationError(
            _("Unknown time zone %(value)s; use a name such as Europe/Moscow.") % {"value": value}, code="timezone"
        ) from None


def validate_capacity(value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValidationError(_("Enter a whole number 0 or greater."), code="min_value")


def validate_origin(value: str) -> None:
    """A full origin: ``scheme://host[:port]``, nothing after it."""
    message = _("%(value)s is not an origin: write scheme://host[:port] with no path, e.g. https://shop.example.com")
    if not isinstance(value, str):
        raise ValidationError(message, code="origin", params={"value": value})
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        raise ValidationError(message, code="origin", params={"value": value}) from None
    del port
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.path
        or parts.query
        or parts.fragment
        or parts.username
        or parts.password
        or value.endswith(("?", "#"))
        or value != value.strip()
    ):
        raise ValidationError(message, code="origin", params={"value": value})


def validate_allowed_origins(value: object) -> None:
    if not isinstance(value, list):
        raise ValidationError(_("Enter a list of origins."), code="origins")
    problems = []
    for origin in value:
        try:
            validate_origin(origin)
        except ValidationError as error:
            problems.extend(error.messages)
    if problems:
        raise ValidationError(problems)


def validate_public_key_pem(value: str) -> None:
    """The PEM must load as a public key the JWT check can use safely: RSA of at least 2048 bits
    (RS256) or EC on P-256 (ES256). The message says why anything else is refused."""
    from admin_center.signing_keys import UnsafeKey, load_public_key_pem

    try:
        load_public_key_pem(value)
    except UnsafeKey as error:
        raise ValidationError(str(error), code="public_key") from None


def validate_kid(value: str) -> None:
    from admin_center.signing_keys import KID_MAX_LENGTH

    if not isinstance(value, str) or not value.strip() or len(value) > KID_MAX_LENGTH or value != value.strip():
        raise ValidationError(
            _("Enter a key id (kid) of 1-%(max)s characters without surrounding spaces.") % {"max": KID_MAX_LENGTH},
            code="kid",
        )


def validate_jwks_url(value: str) -> None:
    """HTTPS; plain HTTP only for a loopback host (development and tests)."""
    import ipaddress

    message = _("Enter an https:// URL of the website's JWKS document (plain http:// only for localhost or 127.0.0.1).")
    if not isinstance(value, str) or not value or value != value.strip():
        raise ValidationError(message, code="jwks_url")
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        raise ValidationError(message, code="jwks_url") from None
    if not parts.hostname or parts.username or parts.password or parts.fragment:
        raise ValidationError(message, code="jwks_url")
    if parts.scheme == "https":
        return
    if parts.scheme == "http":
        host = parts.hostname
        if host == "localhost":
            return
        try:
            if ipaddress.ip_address(host).is_loopback:
                return
        except ValueError:
            pass
    raise ValidationError(message, code="jwks_url")


# Bounds of an authentication setting's maximum token age: a minute to thirty days.
MIN_TOKEN_AGE_SECONDS = 60
MAX_TOKEN_AGE_SECONDS = 30 * 86400


def validate_max_token_age(value: object) -> None:
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or not MIN_TOKEN_AGE_SECONDS <= value <= MAX_TOKEN_AGE_SECONDS
    ):
        raise ValidationError(
            _("Enter a number of seconds from %(min)s (a minute) to %(max)s (thirty days).")
            % {"min": MIN_TOKEN_AGE_SECONDS, "max": MAX_TOKEN_AGE_SECONDS},
            code="max_token_age",
        )


def authentication_problems(*, has_unnamed_key: bool, named_keys: int, jwks_url: str) -> dict[str, str]:
    """A setting needs at least one way to verify tokens, and at most MAX_KEYS configured keys."""
    from admin_center.signing_keys import MAX_KEYS

    if not has_unnamed_key and not named_keys and not jwks_url:
        return {"public_key_pem": _("Give at least one public key: a key without kid, keys with a kid, or a JWKS URL.")}
    if named_keys + (1 if has_unnamed_key else 0) > MAX_KEYS:
        return {"public_key_pem": _("At most %(max)s keys per setting.") % {"max": MAX_KEYS}}
    return {}


def validate_javascript_function(value: str) -> None:
    if not isinstance(value, str) or not JS_NAME_RE.match(value):
        raise ValidationError(
            _("Enter a JavaScript function name such as getChatToken or shop.getChatToken."), code="js_name"
        )


def _minutes(text: str) -> int:
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def validate_weekly(value: object) -> None:
    """``{"mon": [["09:00", "18:00"], ...], ...}``; end <= start runs overnight, "24:00" only as an end."""
    if not isinstance(value, dict):
        raise ValidationError(_('Enter an object of days, e.g. {"mon": [["09:00", "18:00"]]}.'), code="weekly")
    problems = []
    for day, intervals in value.items():
        if day not in DAYS:
            problems.append(_("%(day)s is not a day; use mon, tue, wed, thu, fri, sat, sun.") % {"day": day})
            continue
        if not isinstance(intervals, list):
            problems.append(_("%(day)s: enter a list of [start, end] intervals.") % {"day": day})
            continue
        for interval in intervals:
            if (
                not isinstance(interval, list | tuple)
                or len(interval) != 2
                or not all(isinstance(t, str) and TIME_RE.match(t) for t in interval)
            ):
                problems.append(
                    _('%(day)s: %(interval)s is not an interval ["HH:MM", "HH:MM"].')
                    % {"day": day, "interval": interval}
                )
            elif interval[0] == "24:00":
                problems.append(_("%(day)s: an interval cannot start at 24:00.") % {"day": day})
    if problems:
        raise ValidationError(problems)


def validate_closed_dates(value: object) -> None:
    if not isinstance(value, list):
        raise ValidationError(_("Enter a list of dates YYYY-MM-DD."), code="dates")
    problems = []
    for item in value:
        try:
            if not isinstance(item, str):
                raise ValueError
            date.fromisoformat(item)
            if len(item) != 10:
                raise ValueError
        except ValueError:
            problems.append(_("%(value)s is not a date YYYY-MM-DD.") % {"value": item})
    if problems:
        raise ValidationError(problems)


def template_fields(text: str) -> list[str]:
    """The placeholders of a system-message template, parsed as ``str.format`` would.

    Only bare names are accepted: attribute or index access, conversions and format specifications
    (``{position.__class__:{position}}``) raise ``ValueError``, as do unbalanced braces."""
    fields = []
    for _literal, field, spec, conversion in string.Formatter().parse(text):
        if field is None:
            continue
        if spec or conversion or not field.isidentifier():
            raise ValueError(field)
        fields.append(field)
    return fields


def validate_messages(value: object) -> None:
    if not isinstance(value, dict):
        raise ValidationError(_("Enter an object of message texts."), code="messages")
    problems = []
    for key, text in value.items():
        if key not in MESSAGE_KEYS:
            problems.append(
                _("%(key)s is not a system message; use %(keys)s.") % {"key": key, "keys": ", ".join(MESSAGE_KEYS)}
            )
        elif not isinstance(text, str) or not text.strip():
            problems.append(_("%(key)s: enter a text.") % {"key": key})
        else:
            allowed = MESSAGE_PLACEHOLDERS.get(key)
            try:
                fields = template_fields(text)
            except ValueError:
                problems.append(
                    _("%(key)s: only {placeholder} names may stand in braces; write {{ and }} for braces.")
                    % {"key": key}
                )
                continue
            for field in fields:
                if "{" + field + "}" != allowed:
                    problems.append(
                        _("%(key)s: unknown placeholder %(placeholder)s.")
                        % {"key": key, "placeholder": "{" + field + "}"}
                    )
    if problems:
        raise ValidationError(problems)


# --- rules across fields and objects ------------------------------------------------


def workstream_problems(*, persistent: bool, same_agent: bool) -> dict[str, str]:
    if persistent and not same_agent:
        return {"same_agent": _('persistent chat requires "same agent for the entire conversation"')}
    return {}


def widget_problems(*, workstream_persistent: bool | None, has_authentication: bool) -> dict[str, str]:
    if workstream_persistent and not has_authentication:
        return {
            "authentication": _(
                "a widget of a persistent workstream requires an authentication setting: "
                "persistent chat is for signed-in customers"
            )
        }
    return {}


def persistent_widgets_without_authentication(widgets: Iterable) -> list:
    """Widgets that would break the widget rule if their workstream became persistent."""
    return [widget for widget in widgets if widget.authentication_id is None]


# --- the customer's journey: pre-chat survey, return URL (issue 15) -------------------

PRE_CHAT_KINDS = ("text", "email", "textarea", "choice")
PRE_CHAT_NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
PRE_CHAT_MAX_FIELDS = 10


def validate_pre_chat(value: object) -> None:
    """The survey: a list of at most 10 fields ``{"name", "label", "kind", "required", "choices"?}``;
    names are unique identifiers (``a-z``, digits, ``_``), a ``choice`` field lists 1-20 distinct choices."""
    if value is None:
        return
    if not isinstance(value, list):
        raise ValidationError(_("Enter a list of survey fields."), code="pre_chat")
    if len(value) > PRE_CHAT_MAX_FIELDS:
        raise ValidationError(_("A survey has at most %(max)s fields.") % {"max": PRE_CHAT_MAX_FIELDS})
    problems = []
    names = set()
    for index, field in enumerate(value, start=1):
        where = _("field %(n)s") % {"n": index}
        if not isinstance(field, dict):
            problems.append(_("%(where)s: enter an object.") % {"where": where})
            continue
        unknown = set(field) - {"name", "label", "kind", "required", "choices"}
        if unknown:
            keys = ", ".join(sorted(map(str, unknown)))
            problems.append(_("%(where)s: unknown keys %(keys)s.") % {"where": where, "keys": keys})
        name = field.get("name")
        if not isinstance(name, str) or not PRE_CHAT_NAME_RE.match(name):
            problems.append(
                _("%(where)s: 'name' must be 1-40 of a-z, 0-9 and '_', starting with a letter.") % {"where": where}
            )
        elif name in names:
            problems.append(_("%(where)s: the name %(name)s is used twice.") % {"where": where, "name": name})
        else:
            names.add(name)
        label = field.get("label")
        if not isinstance(label, str) or not label.strip() or len(label) > 100:
            problems.append(_("%(where)s: 'label' must be a text of 1-100 characters.") % {"where": where})
        kind = field.get("kind")
        if kind not in PRE_CHAT_KINDS:
            problems.append(
                _("%(where)s: 'kind' must be one of %(kinds)s.") % {"where": where, "kinds": ", ".join(PRE_CHAT_KINDS)}
            )
        if "required" in field and not isinstance(field["required"], bool):
            problems.append(_("%(where)s: 'required' must be true or false.") % {"where": where})
        choices = field.get("choices")
        if kind == "choice":
            if (
                not isinstance(choices, list)
                or not 1 <= len(choices) <= 20
                or not all(isinstance(c, str) and c.strip() and len(c) <= 100 for c in choices)
                or len(set(choices)) != len(choices)
            ):
                problems.append(
                    _("%(where)s: a choice field needs 'choices', 1-20 different texts of up to 100 characters.")
                    % {"where": where}
                )
        elif choices is not None:
            problems.append(_("%(where)s: only a choice field has 'choices'.") % {"where": where})
    if problems:
        raise ValidationError(problems)


def validate_return_url(value: object) -> None:
    """Where the email to an absent customer links back to: an absolute http(s) URL, or empty."""
    if value in ("", None):
        return
    message = _("Enter an absolute http or https address, e.g. https://shop.example.com/help")
    if not isinstance(value, str) or len(value) > 500:
        raise ValidationError(message, code="return_url")
    try:
        parts = urlsplit(value)
    except ValueError:
        raise ValidationError(message, code="return_url") from None
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.username or parts.password:
        raise ValidationError(message, code="return_url")


# --- timers per state and offers (issue 16) ---------------------------------------------

AUTO_CLOSE_STATES = ("open", "active", "waiting", "wrap_up")
DAY = 24 * 3600


def default_auto_close_seconds(*, persistent: bool) -> dict[str, int | None]:
    """The reference's defaults for a new workstream (../shared/PROTOCOL.md "Routing, additions"):
    persistent chat closes a conversation left waiting for 30 days; live chat closes one open or
    active for a day. Every state is named, so that "never" (null) is explicit."""
    if persistent:
        return {"open": None, "active": None, "waiting": 30 * DAY, "wrap_up": None}
    return {"open": DAY, "active": DAY, "waiting": None, "wrap_up": None}


def validate_auto_close_seconds(value: object) -> None:
    """``{"open": seconds | null, "active": …, "waiting": …, "wrap_up": …}``: any subset of the four
    non-closed states, each a whole number of seconds of at least 1, or null for never."""
    if not isinstance(value, dict):
        raise ValidationError(
            _("Expected an object of states (open, active, waiting, wrap_up) to seconds or null."),
            code="auto_close_seconds",
        )
    for state, seconds in value.items():
        if state not in AUTO_CLOSE_STATES:
            raise ValidationError(
                _("%(state)s is not a state with a timer; use open, active, waiting or wrap_up.") % {"state": state},
                code="auto_close_seconds",
            )
        if seconds is not None and (isinstance(seconds, bool) or not isinstance(seconds, int) or seconds < 1):
            raise ValidationError(
                _("The timer of %(state)s must be a whole number of seconds of at least 1, or null for never.")
                % {"state": state},
                code="auto_close_seconds",
            )


def normalise_auto_close_seconds(value: dict) -> dict[str, int | None]:
    """All four states named (a state left out never closes); call after validating."""
    return {state: value.get(state) for state in AUTO_CLOSE_STATES}


# --- agents working together: routing rules and quick replies (issue 14) ----------------

ROUTING_RULE_KEY_RE = re.compile(r"^(context|pre_chat)\.[A-Za-z0-9_.-]{1,100}$")
ROUTING_RULES_MAX = 50
QUICK_REPLY_SHORTCUT_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,29}$")
QUICK_REPLY_PLACEHOLDERS = ("customer", "agent")
QUICK_REPLY_FIELD_RE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def validate_routing_rules(value: object) -> None:
    """Ordered rules ``[{"when": {"context.<key>" | "pre_chat.<name>": value, ...}, "queue": "<name>"}]``.
    Each rule needs at least one condition (an empty rule would match nothing, or everything) and a
    queue; values are texts, numbers or booleans. Whether the queues exist is checked by
    ``routing_rule_queue_problems``, which needs the database."""
    if value in (None, []):
        return
    if not isinstance(value, list):
        raise ValidationError(_("Enter a list of rules."), code="routing_rules")
    if len(value) > ROUTING_RULES_MAX:
        raise ValidationError(_("A workstream has at most %(max)s rules.") % {"max": ROUTING_RULES_MAX})
    problems = []
    for index, rule in enumerate(value, start=1):
        where = _("rule %(n)s") % {"n": index}
        if not isinstance(rule, dict):
            problems.append(_("%(where)s: enter an object with 'when' and 'queue'.") % {"where": where})
            continue
        unknown = set(rule) - {"when", "queue"}
        if unknown:
            keys = ", ".join(sorted(map(str, unknown)))
            problems.append(_("%(where)s: unknown keys %(keys)s.") % {"where": where, "keys": keys})
        when = rule.get("when")
        if not isinstance(when, dict) or not when:
            problems.append(
                _('%(where)s: the rule is empty; give at least one condition, e.g. "context.tier": "gold".')
                % {"where": where}
            )
        else:
            for key, expected in when.items():
                if not isinstance(key, str) or not ROUTING_RULE_KEY_RE.match(key):
                    problems.append(
                        _("%(where)s: %(key)s is not a condition; use context.<key> or pre_chat.<field>.")
                        % {"where": where, "key": key}
                    )
                elif (
                    expected is None
                    or not isinstance(expected, str | int | float | bool)
                    or (isinstance(expected, str) and (not expected.strip() or len(expected) > 500))
                ):
                    problems.append(
                        _("%(where)s: the value of %(key)s must be a text of 1-500 characters, a number or a boolean.")
                        % {"where": where, "key": key}
                    )
        queue = rule.get("queue")
        if not isinstance(queue, str) or not queue.strip():
            problems.append(_("%(where)s: name the queue the rule sends conversations to.") % {"where": where})
    if problems:
        raise ValidationError(problems)


def routing_rule_queue_problems(rules: object, known_queues: Iterable[str]) -> list[str]:
    """The rules naming a queue that does not exist (after ``validate_routing_rules`` passed)."""
    known = set(known_queues)
    problems = []
    for index, rule in enumerate(rules or [], start=1):
        queue = rule.get("queue") if isinstance(rule, dict) else None
        if isinstance(queue, str) and queue.strip() and queue not in known:
            problems.append(_("rule %(n)s: there is no queue named %(queue)s.") % {"n": index, "queue": queue})
    return problems


def validate_quick_reply_shortcut(value: str) -> None:
    if not isinstance(value, str) or not QUICK_REPLY_SHORTCUT_RE.match(value):
        raise ValidationError(
            _("1-30 of a-z, 0-9, '-' and '_', starting with a letter or digit (the agent types /%(example)s).")
            % {"example": "hi"},
            code="shortcut",
        )


def validate_quick_reply_text(value: str) -> None:
    """1-4000 characters (a message's limit); placeholders only ``{customer}`` and ``{agent}``."""
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(_("Enter the text of the reply."), code="text")
    if len(value) > 4000:
        raise ValidationError(_("A reply has at most 4000 characters."), code="text")
    unknown = [field for field in QUICK_REPLY_FIELD_RE.findall(value) if field not in QUICK_REPLY_PLACEHOLDERS]
    if unknown:
        raise ValidationError(
            _("Unknown placeholder %(placeholder)s; use {customer} or {agent}.")
            % {"placeholder": "{" + unknown[0] + "}"},
            code="text",
        )

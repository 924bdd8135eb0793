"""Configuration as code: the admin center's set-up as one JSON document.

``import_configuration`` applies a document (../shared/CONFIG.md) in one
transaction: objects are matched by ``name`` (agents by ``username``, widgets
by ``public_id``) and updated in place, objects absent from the document are
left alone, and on any problem nothing changes and ``ConfigError`` lists every
problem with its path (``workstreams[1].same_agent: ...``). Each object is
checked by the same model validation the admin forms run (``clean_fields``,
``clean``, uniqueness and constraints, see ``admin_center.validators``).

``export_configuration`` returns the same shape (agent passwords left out);
importing it back changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.models import Permission
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import models, transaction
from django.utils.translation import gettext as _

from admin_center import validators
from admin_center.models import (
    ChatAuthenticationKey,
    ChatAuthenticationSetting,
    ChatWidget,
    ConfigurationImport,
    OperatingHours,
    QuickReply,
    WebhookEndpoint,
    Workstream,
)
from routing.models import AgentProfile, Queue

VERSION = 1
SECTIONS = ("operating_hours", "authentication_settings", "agents", "queues", "workstreams", "chat_widgets", "webhooks",
            "quick_replies")  # fmt: skip

# JSON key -> (accepted Python types, may be null). Keys listed in REQUIRED must be present.
_STR, _BOOL, _INT, _LIST, _DICT = (str,), (bool,), (int,), (list,), (dict,)
FIELDS: dict[str, dict[str, tuple[tuple[type, ...], bool]]] = {
    "operating_hours": {"name": (_STR, False), "timezone": (_STR, False), "weekly": (_DICT, False),
                        "closed_dates": (_LIST, False)},
    "authentication_settings": {"name": (_STR, False), "public_key_pem": (_STR, True), "issuer": (_STR, True),
                                "javascript_function": (_STR, False), "keys": (_LIST, False),
                                "jwks_url": (_STR, True), "audience": (_STR, True),
                                "max_token_age_seconds": (_INT, False)},
    "agents": {"username": (_STR, False), "password": (_STR, False), "name": (_STR, False),
               "capacity": (_INT, False)},
    "queues": {"name": (_STR, False), "members": (_LIST, False), "assignment_method": (_STR, False),
               "operating_hours": (_STR, True)},
    "workstreams": {"name": (_STR, False), "persistent": (_BOOL, False), "same_agent": (_BOOL, False),
                    "distribution": (_STR, False), "capacity_units": (_INT, False), "queue": (_STR, False),
                    "auto_close_after_inactivity_seconds": (_INT, False), "wrap_up_seconds": (_INT, False)},
    "chat_widgets": {"name": (_STR, False), "public_id": (_STR, False), "workstream": (_STR, False),
                     "authentication": (_STR, True), "allowed_origins": (_LIST, False), "title": (_STR, False),
                     "language": (_STR, False), "color": (_STR, False), "enabled": (_BOOL, False),
                     "messages": (_DICT, False)},
}  # fmt: skip
REQUIRED = {
    "operating_hours": ("name",),
    "authentication_settings": ("name",),
    "agents": ("username",),
    "queues": ("name",),
    "workstreams": ("name", "queue"),
    "chat_widgets": ("public_id", "name", "workstream"),
}
# Model field name -> JSON key where they differ (for error paths).
JSON_KEY = {"agents": {"display_name": "name"}}
# Webhook endpoints (docs/webhooks.md): the secret is never exported; without one, an import keeps the
# endpoint's secret (a new endpoint gets a generated one).
# The customer's journey (docs/customer-journey.md): null means no survey / no return address.
FIELDS["chat_widgets"].update({"pre_chat": (_LIST, True), "post_chat_survey": (_BOOL, False),
                               "email_notifications": (_BOOL, False), "return_url": (_STR, True)})  # fmt: skip
FIELDS["webhooks"] = {"name": (_STR, False), "url": (_STR, False), "secret": (_STR, False),
                      "events": (_LIST, False), "enabled": (_BOOL, False)}  # fmt: skip
REQUIRED["webhooks"] = ("name", "url")
# Supervisors, offers and timers per state (docs/supervisors.md): ``supervisor`` grants the agent's user the
# ``routing.supervise`` permission directly (groups are managed in the admin center); ``auto_close_seconds``
# is a timer per state, null for never, and a new workstream without it gets the defaults of its mode.
FIELDS["agents"].update({"supervisor": (_BOOL, False)})
FIELDS["workstreams"].update({"auto_accept": (_BOOL, False), "offer_timeout_seconds": (_INT, False),
                              "auto_close_seconds": (_DICT, False)})  # fmt: skip
# Agents working together (docs/agents.md): the agent's language, a workstream's ordered routing rules (queues
# by name), and quick replies matched by ``title`` (``queues`` by name; empty: offered to every agent).
FIELDS["agents"].update({"language": (_STR, False)})
FIELDS["workstreams"].update({"routing_rules": (_LIST, False)})
FIELDS["quick_replies"] = {"title": (_STR, False), "shortcut": (_STR, False), "language": (_STR, False),
                           "text": (_STR, False), "queues": (_LIST, False)}  # fmt: skip
REQUIRED["quick_replies"] = ("title", "shortcut", "text")
# A widget's brand (docs/configuration.md): ``brand_color`` (#rrggbb; the older ``color`` key still
# imports) and ``logo_url`` (null: no logo); ``language`` may be "auto", the visitor's.
FIELDS["chat_widgets"].update({"brand_color": (_STR, False), "logo_url": (_STR, True)})


class ConfigError(Exception):
    """The document was refused; ``problems`` are ``path: message`` lines."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass
class ImportReport:
    created: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SECTIONS, 0))
    updated: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SECTIONS, 0))
    unchanged: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SECTIONS, 0))


class _Rollback(Exception):
    pass


# --- import ---------------------------------------------------------------------------


def import_configuration(
    document: Any, *, allow_staff: bool = False, imported_by: str = "", source: str = ""
) -> ImportReport:
    """Apply ``document`` all-or-nothing; raise ``ConfigError`` listing every problem.

    The password of a staff or superuser account is never set or changed unless ``allow_staff``: a
    configuration file must not be a way to take over an administrator. Every applied import leaves a
    ``ConfigurationImport`` audit row (who, when, counts per kind) in the same transaction."""
    problems, unreadable = _check_shape(document)
    if unreadable is None:
        raise ConfigError(problems)
    importer = _Importer(document, unreadable, allow_staff=allow_staff)
    try:
        with transaction.atomic():
            importer.run()
            if problems or importer.problems:
                raise _Rollback
            report = importer.report
            ConfigurationImport.objects.create(
                imported_by=imported_by[:150] or "unknown",
                source=source[:200],
                allow_staff=allow_staff,
                summary={
                    section: {
                        "created": report.created[section],
                        "updated": report.updated[section],
                        "unchanged": report.unchanged[section],
                    }
                    for section in SECTIONS
                },
            )
    except _Rollback:
        raise ConfigError(problems + importer.problems) from None
    return importer.report


def _check_shape(document: Any) -> tuple[list[str], set[str] | None]:
    """Problems of form, and the paths of items too malformed to validate further (None: the whole document)."""
    if not isinstance(document, dict):
        return ["(document): " + _("expected a JSON object")], None
    problems: list[str] = []
    unreadable: set[str] = set()
    for key in document:
        if key != "version" and key not in SECTIONS:
            problems.append(f"{key}: " + _("unknown section"))
    if document.get("version", VERSION) != VERSION:
        problems.append("version: " + _("unsupported version; expected %(version)s") % {"version": VERSION})
    for section in SECTIONS:
        items = document.get(section, [])
        if not isinstance(items, list):
            problems.append(f"{section}: " + _("expected a list"))
            unreadable.add(section)
            continue
        seen: set = set()
        for index, item in enumerate(items):
            path = f"{section}[{index}]"
            if not isinstance(item, dict):
                problems.append(f"{path}: " + _("expected an object"))
                unreadable.add(path)
                continue
            item_problems, fatal = _check_item(section, path, item)
            problems.extend(item_problems)
            if fatal:
                unreadable.add(path)
            key = item.get(REQUIRED[section][0])
            if isinstance(key, str):
                if key in seen:
                    problems.append(f"{path}.{REQUIRED[section][0]}: " + _("%(key)s appears twice") % {"key": key})
                seen.add(key)
    return problems, unreadable


def _check_item(section: str, path: str, item: dict) -> tuple[list[str], bool]:
    """Problems of one item, and whether they stop its validation (wrong types, missing keys)."""
    problems = []
    fatal = False
    spec = FIELDS[section]
    for key, value in item.items():
        if key not in spec:
            problems.append(f"{path}.{key}: " + _("unknown field"))
            continue
        types, nullable = spec[key]
        if value is None and nullable:
            continue
        wrong_bool = bool not in types and isinstance(value, bool)
        if not isinstance(value, types) or wrong_bool:
            expected = {str: _("a string"), bool: _("true or false"), int: _("a whole number"),
                        list: _("a list"), dict: _("an object")}[types[0]]  # fmt: skip
            problems.append(f"{path}.{key}: " + _("expected %(expected)s") % {"expected": expected})
            fatal = True
    for key in REQUIRED[section]:
        if key not in item:
            problems.append(f"{path}.{key}: " + _("this field is required"))
            fatal = True
    return problems, fatal


class _Importer:
    def __init__(self, document: dict, unreadable: set[str], *, allow_staff: bool = False) -> None:
        self.allow_staff = allow_staff
        self.document = document
        self.unreadable = unreadable
        self.problems: list[str] = []
        self.failed: dict[str, set[str]] = {section: set() for section in SECTIONS}
        self.unresolved: dict[str, set[str]] = {}
        self.report = ImportReport()

    def run(self) -> None:
        for section in SECTIONS:
            if section in self.unreadable:
                continue
            apply = getattr(self, f"_apply_{section}")
            for index, item in enumerate(self.document.get(section, [])):
                path = f"{section}[{index}]"
                if path in self.unreadable:
                    key = item.get(REQUIRED[section][0]) if isinstance(item, dict) else None
                    self.failed[section].add(key)
                    continue
                apply(path, item)
        self._check_persistent_widgets()

    # Each _apply_* builds or updates one object, validates it like the admin does and saves it when valid.

    def _apply_operating_hours(self, path: str, item: dict) -> None:
        hours, created = _find(OperatingHours, name=item["name"])
        _assign(hours, item, ("timezone", "weekly", "closed_dates"))
        self._save("operating_hours", path, item["name"], hours, created)

    def _apply_authentication_settings(self, path: str, item: dict) -> None:
        """The setting, then its keys with a kid: ``keys`` (when given) is the whole set, so a key left out
        of it is removed. ``public_key_pem`` null or "" means no key without kid."""
        section, name = "authentication_settings", item["name"]
        setting, created = _find(ChatAuthenticationSetting, name=name)
        _assign(setting, item, ("javascript_function", "max_token_age_seconds"))
        for key in ("public_key_pem", "issuer", "jwks_url", "audience"):
            if key in item:
                setattr(setting, key, item[key] or "")
        keys = _key_rows(item["keys"]) if "keys" in item else None
        problems = self._key_problems(path, keys) if keys is not None else []
        named = len(keys) if keys is not None else (0 if created else setting.keys.count())
        rules = validators.authentication_problems(
            has_unnamed_key=bool(setting.public_key_pem.strip()), named_keys=named, jwks_url=setting.jwks_url
        )
        problems += [f"{path}.{'keys' if named else where}: {message}" for where, message in rules.items()]
        if problems:
            self.failed[section].add(name)
            self.problems.extend(problems)
            self._field_problems(path, setting)
            return
        changed = self._save(section, path, name, setting, created, count=False)
        if changed is None:
            return
        if keys is not None:
            changed = _replace_keys(setting, keys) or changed
        self._count(section, created, changed)

    def _key_problems(self, path: str, keys: list) -> list[str]:
        """Each key validated like the admin's key form; kids unique within the setting."""
        problems, seen = [], set()
        for index, row in enumerate(keys):
            where = f"{path}.keys[{index}]"
            if not isinstance(row, dict):
                problems.append(f"{where}: " + _('expected an object {"kid": …, "public_key_pem": …}'))
                continue
            for unknown in sorted(row.keys() - {"kid", "public_key_pem"}):
                problems.append(f"{where}.{unknown}: " + _("unknown field"))
            candidate = ChatAuthenticationKey(kid=row.get("kid"), public_key_pem=row.get("public_key_pem"))
            try:
                candidate.clean()
            except ValidationError as error:
                for name, messages in error.message_dict.items():
                    problems.extend(f"{where}.{name}: {message}" for message in messages)
            kid = row.get("kid")
            if isinstance(kid, str) and kid in seen:
                problems.append(f"{where}.kid: " + _("%(key)s appears twice") % {"key": kid})
            seen.add(kid)
        return problems

    def _field_problems(self, path: str, setting: ChatAuthenticationSetting) -> None:
        """Report the setting's own field problems too, so that one run lists every problem."""
        try:
            setting.clean()
            extra = {}
        except ValidationError as error:
            extra = error.message_dict
        for name, messages in _validation_errors(setting, extra=extra).items():
            where = path if name == NON_FIELD_ERRORS else f"{path}.{name}"
            self.problems.extend(f"{where}: {message}" for message in dict.fromkeys(messages))

    def _apply_agents(self, path: str, item: dict) -> None:
        """An agent is a Django user plus its AgentProfile; the password is set only when it differs."""
        username = item["username"]
        user, user_created = _find(get_user_model(), username=username)
        if user_created:
            user.set_unusable_password()
        password_changed = "password" in item and not user.check_password(item["password"])
        if password_changed:
            if (user.is_staff or user.is_superuser) and not self.allow_staff:
                message = _("%(username)s is a staff account; its password is changed only with --allow-staff.")
                self._report("agents", path, username, {"password": [message % {"username": username}]})
                return
            try:
                password_validation.validate_password(item["password"], user)
            except ValidationError as error:
                self._report("agents", path, username, {"password": error.messages})
                return
            user.set_password(item["password"])
        errors = _validation_errors(user, exclude={"password"})
        if errors:
            self._report("agents", path, username, errors)
            return
        if user_created or password_changed:
            user.save()
        profile = AgentProfile.objects.filter(user=user).first()
        created = profile is None
        if created:
            profile = AgentProfile(user=user, display_name=username)
        _assign(profile, {"display_name": item.get("name", profile.display_name), **item}, ("display_name", "capacity"))
        _assign(profile, item, ("language",))
        changed = self._save("agents", path, username, profile, created)
        supervisor_changed = changed is not None and "supervisor" in item and _set_supervisor(user, item["supervisor"])
        if changed is False and (password_changed or supervisor_changed):
            self.report.unchanged["agents"] -= 1
            self.report.updated["agents"] += 1

    def _apply_queues(self, path: str, item: dict) -> None:
        queue, created = _find(Queue, name=item["name"])
        _assign(queue, item, ("assignment_method",))
        if "operating_hours" in item:
            queue.operating_hours = self._ref(path, "operating_hours", OperatingHours, "operating_hours",
                                              item["operating_hours"])  # fmt: skip
        members = [self._ref(path, "members", AgentProfile, "agents", username, lookup="user__username")
                   for username in item.get("members", ())]  # fmt: skip
        changed = self._save("queues", path, item["name"], queue, created, count=False)
        if changed is None:
            return
        if "members" in item:
            before = set(queue.members.values_list("pk", flat=True))
            queue.members.set(members)
            changed = changed or before != {member.pk for member in members}
        self._count("queues", created, changed)

    def _apply_workstreams(self, path: str, item: dict) -> None:
        workstream, created = _find(Workstream, name=item["name"])
        _assign(workstream, item, ("persistent", "same_agent", "distribution", "capacity_units",
                                   "auto_close_after_inactivity_seconds", "wrap_up_seconds"))  # fmt: skip
        _assign(workstream, item, ("auto_accept", "offer_timeout_seconds", "routing_rules"))
        if "auto_close_seconds" in item:
            timers = item["auto_close_seconds"]
            try:
                validators.validate_auto_close_seconds(timers)
                timers = validators.normalise_auto_close_seconds(timers)
            except ValidationError:
                pass  # reported with its path by the model validation in _save
            workstream.auto_close_seconds = timers
        workstream.queue = self._ref(path, "queue", Queue, "queues", item["queue"])
        self._save("workstreams", path, item["name"], workstream, created)

    def _apply_chat_widgets(self, path: str, item: dict) -> None:
        widget, created = _find(ChatWidget, public_id=item["public_id"])
        _assign(widget, item, ("name", "allowed_origins", "title", "language", "color", "enabled", "messages"))
        _assign(widget, item, ("post_chat_survey", "email_notifications"))
        if "brand_color" in item:
            widget.color = item["brand_color"]
        if "logo_url" in item:
            widget.logo_url = item["logo_url"] or ""
        if "pre_chat" in item:
            widget.pre_chat = item["pre_chat"] or []
        if "return_url" in item:
            widget.return_url = item["return_url"] or ""
        widget.workstream = self._ref(path, "workstream", Workstream, "workstreams", item["workstream"])
        if "authentication" in item:
            widget.authentication = self._ref(path, "authentication", ChatAuthenticationSetting,
                                              "authentication_settings", item["authentication"])  # fmt: skip
        self._save("chat_widgets", path, item["public_id"], widget, created)

    def _apply_quick_replies(self, path: str, item: dict) -> None:
        reply, created = _find(QuickReply, title=item["title"])
        _assign(reply, item, ("shortcut", "language", "text"))
        if any(not isinstance(name, str) for name in item.get("queues", ())):
            self._report("quick_replies", path, item["title"], {"queues": [_("expected a list of queue names")]})
            return
        queues = [self._ref(path, "queues", Queue, "queues", name) for name in item.get("queues", ())]
        changed = self._save("quick_replies", path, item["title"], reply, created, count=False)
        if changed is None:
            return
        if "queues" in item:
            before = set(reply.queues.values_list("pk", flat=True))
            reply.queues.set(queues)
            changed = changed or before != {queue.pk for queue in queues}
        self._count("quick_replies", created, changed)

    def _apply_webhooks(self, path: str, item: dict) -> None:
        endpoint, created = _find(WebhookEndpoint, name=item["name"])
        _assign(endpoint, item, ("url", "secret", "events", "enabled"))
        self._save("webhooks", path, item["name"], endpoint, created)

    # --- helpers ----------------------------------------------------------------------

    def _ref(self, path: str, key: str, model: type[models.Model], section: str, name: str | None, lookup="name"):
        """The referenced object; None (and the referring object refused) when it does not exist."""
        if name is None:
            return None
        found = model.objects.filter(**{lookup: name}).first()
        if found is None:
            self.unresolved.setdefault(path, set()).add(key)
            if name not in self.failed[section]:  # the target's own problems are reported already
                message = _('no %(section)s entry named "%(name)s"') % {"section": section, "name": name}
                self.problems.append(f"{path}.{key}: {message}")
        return found

    def _save(self, section: str, path: str, key: str, obj: models.Model, created: bool, *, count=True) -> bool | None:
        """Validate and save ``obj``: None when refused, else whether it changed."""
        if section == "workstreams":
            rules = validators.workstream_problems(persistent=obj.persistent, same_agent=obj.same_agent)
            rule_errors = {name: [message] for name, message in rules.items()}
            if isinstance(obj.routing_rules, list):  # queues named by routing rules exist (imported above)
                names = Queue.objects.values_list("name", flat=True)
                unknown = validators.routing_rule_queue_problems(obj.routing_rules, names)
                if unknown:
                    rule_errors["routing_rules"] = unknown
        else:
            try:
                obj.clean()
                rule_errors = {}
            except ValidationError as error:
                rule_errors = error.message_dict
        unresolved = self.unresolved.get(path, set())
        errors = _validation_errors(obj, exclude=unresolved, extra=rule_errors)
        if unresolved:
            errors = {name: messages for name, messages in errors.items() if name not in unresolved}
        if errors or unresolved:
            self._report(section, path, key, errors)
            return None
        changed = created or _differs_from_database(obj)
        if changed:
            obj.save()
        if count:
            self._count(section, created, changed)
        return changed

    def _count(self, section: str, created: bool, changed: bool) -> None:
        bucket = self.report.created if created else self.report.updated if changed else self.report.unchanged
        bucket[section] += 1

    def _report(self, section: str, path: str, key: str, errors: dict[str, list[str]]) -> None:
        self.failed[section].add(key)
        names = JSON_KEY.get(section, {})
        for name, messages in errors.items():
            where = path if name == NON_FIELD_ERRORS else f"{path}.{names.get(name, name)}"
            for message in dict.fromkeys(messages):
                self.problems.append(f"{where}: {message}")

    def _check_persistent_widgets(self) -> None:
        """A workstream made persistent here must not leave widgets outside the file without authentication.

        (Widgets in the file are checked by their own ``clean()`` against the already imported workstream.)
        """
        file_widgets = {item["public_id"] for item in self.document.get("chat_widgets", [])}
        file_workstreams = {item["name"]: i for i, item in enumerate(self.document.get("workstreams", []))}
        widgets = ChatWidget.objects.filter(workstream__persistent=True, authentication__isnull=True)
        for widget in widgets.select_related("workstream").order_by("public_id"):
            index = file_workstreams.get(widget.workstream.name)
            if widget.public_id in file_widgets or index is None:
                continue
            problem = validators.widget_problems(workstream_persistent=True, has_authentication=False)
            self.problems.append(f"workstreams[{index}].persistent: {problem['authentication']} ({widget.public_id})")


def _key_rows(value: list) -> list:
    return [dict(row) if isinstance(row, dict) else row for row in value]


def _replace_keys(setting: ChatAuthenticationSetting, keys: list[dict]) -> bool:
    """Make the setting's keys with a kid exactly ``keys``; whether anything changed. A kept key keeps its
    last use unless its PEM changed."""
    stored = {row.kid: row for row in setting.keys.all()}
    wanted = {row["kid"]: row["public_key_pem"] for row in keys}
    changed = False
    for kid, row in stored.items():
        if kid not in wanted:
            row.delete()
            changed = True
    for kid, pem in wanted.items():
        row = stored.get(kid)
        if row is None:
            ChatAuthenticationKey.objects.create(setting=setting, kid=kid, public_key_pem=pem)
            changed = True
        elif row.public_key_pem != pem:
            row.public_key_pem, row.last_used_at = pem, None
            row.save()
            changed = True
    return changed


def _set_supervisor(user, supervisor: bool) -> bool:
    """Grant or take back the user's own ``routing.supervise`` permission; whether that changed anything."""
    permission = Permission.objects.get(codename="supervise", content_type__app_label="routing")
    has = user.user_permissions.filter(pk=permission.pk).exists()
    if supervisor and not has:
        user.user_permissions.add(permission)
    elif has and not supervisor:
        user.user_permissions.remove(permission)
    return has != supervisor


def _find(model: type[models.Model], **lookup) -> tuple[Any, bool]:
    found = model.objects.filter(**lookup).first()
    return (found, False) if found is not None else (model(**lookup), True)


def _assign(obj: models.Model, item: dict, keys: tuple[str, ...]) -> None:
    for key in keys:
        if key in item:
            setattr(obj, key, item[key])


def _validation_errors(obj: models.Model, *, exclude: set | None = None, extra: dict | None = None) -> dict:
    """What ``full_clean`` says about fields, uniqueness and constraints (without ``clean()``)."""
    exclude = set(exclude or ())
    errors: dict[str, list[str]] = {}
    for check in (obj.clean_fields, obj.validate_unique):
        try:
            check(exclude=exclude)
        except ValidationError as error:
            for name, messages in error.message_dict.items():
                errors.setdefault(name, []).extend(messages)
    for name, messages in (extra or {}).items():
        errors.setdefault(name, []).extend(messages)
    try:
        obj.validate_constraints(exclude=exclude | {name for name in errors if name != NON_FIELD_ERRORS})
    except ValidationError as error:
        for name, messages in error.message_dict.items():
            errors.setdefault(name, []).extend(messages)
    return errors


def _differs_from_database(obj: models.Model) -> bool:
    stored = type(obj).objects.filter(pk=obj.pk).values().first()
    if stored is None:
        return True
    return any(stored[f.attname] != getattr(obj, f.attname) for f in obj._meta.concrete_fields)


# --- export ---------------------------------------------------------------------------


def export_configuration() -> dict:
    """The whole set-up in the shape ``import_configuration`` reads (no passwords)."""
    # users granted ``routing.supervise`` themselves (``supervisor: true``), in one query
    supervisors = set(
        get_user_model()
        .objects.filter(user_permissions__codename="supervise", user_permissions__content_type__app_label="routing")
        .values_list("pk", flat=True)
    )
    return {
        "version": VERSION,
        "operating_hours": [
            {"name": h.name, "timezone": h.timezone, "weekly": h.weekly, "closed_dates": h.closed_dates}
            for h in OperatingHours.objects.order_by("name")
        ],
        "authentication_settings": [
            {
                "name": s.name,
                "public_key_pem": s.public_key_pem or None,
                "keys": [{"kid": k.kid, "public_key_pem": k.public_key_pem} for k in s.keys.all()],
                "jwks_url": s.jwks_url or None,
                "issuer": s.issuer or None,
                "audience": s.audience or None,
                "max_token_age_seconds": s.max_token_age_seconds,
                "javascript_function": s.javascript_function,
            }
            for s in ChatAuthenticationSetting.objects.prefetch_related("keys").order_by("name")
        ],  # fmt: skip
        "agents": [
            {
                "username": a.user.get_username(),
                "name": a.display_name,
                "capacity": a.capacity,
                "supervisor": a.user.pk in supervisors,
                "language": a.language,
            }
            for a in AgentProfile.objects.select_related("user").order_by("user__username")
        ],  # fmt: skip
        "queues": [
            {
                "name": q.name,
                "members": sorted(m.user.get_username() for m in q.members.all()),
                "assignment_method": q.assignment_method,
                "operating_hours": q.operating_hours.name if q.operating_hours else None,
            }
            for q in Queue.objects.select_related("operating_hours").prefetch_related("members__user").order_by("name")
        ],  # fmt: skip
        "workstreams": [
            {
                "name": w.name,
                "persistent": w.persistent,
                "same_agent": w.same_agent,
                "distribution": w.distribution,
                "capacity_units": w.capacity_units,
                "queue": w.queue.name,
                "auto_close_after_inactivity_seconds": w.auto_close_after_inactivity_seconds,
                "wrap_up_seconds": w.wrap_up_seconds,
                "auto_accept": w.auto_accept,
                "offer_timeout_seconds": w.offer_timeout_seconds,
                "auto_close_seconds": validators.normalise_auto_close_seconds(w.auto_close_seconds or {}),
                "routing_rules": w.routing_rules or [],
            }
            for w in Workstream.objects.select_related("queue").order_by("name")
        ],  # fmt: skip
        "quick_replies": [
            {
                "title": r.title,
                "shortcut": r.shortcut,
                "language": r.language,
                "text": r.text,
                "queues": sorted(q.name for q in r.queues.all()),
            }
            for r in QuickReply.objects.prefetch_related("queues").order_by("title")
        ],  # fmt: skip
        "webhooks": [
            {"name": w.name, "url": w.url, "events": w.events, "enabled": w.enabled}
            for w in WebhookEndpoint.objects.order_by("name")
        ],
        "chat_widgets": [
            {
                "name": c.name,
                "public_id": c.public_id,
                "workstream": c.workstream.name,
                "authentication": c.authentication.name if c.authentication else None,
                "allowed_origins": c.allowed_origins,
                "title": c.title,
                "language": c.language,
                "color": c.color,
                "brand_color": c.color,
                "logo_url": c.logo_url or None,
                "enabled": c.enabled,
                "messages": c.messages,
                "pre_chat": c.pre_chat or None,
                "post_chat_survey": c.post_chat_survey,
                "email_notifications": c.email_notifications,
                "return_url": c.return_url or None,
            }
            for c in ChatWidget.objects.select_related("workstream", "authentication").order_by("public_id")
        ],  # fmt: skip
    }

"""``import_config --dry-run``: what an import would create, change and leave alone, without changing it.

The plan is not a second copy of the import's rules: ``plan_configuration`` runs the import itself
(``config_io``) in a transaction that is always rolled back, and records every row the import writes, field
by field, through Django's model signals (``pre_save`` compared with the stored row, ``post_delete``,
``m2m_changed``). So every field the import learns is in the plan with no list of fields here. Each write is
attributed to the document entry being applied (``agents[0]``) by wrapping the importer's ``_apply_*``
methods. Secrets (fields named like passwords, secrets, tokens, private keys) are shown masked.

Nothing leaves the transaction: ``on_commit`` news and webhooks of the rolled-back writes never run.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, field
from typing import Any

from django.db import models, transaction
from django.db.models.signals import m2m_changed, post_delete, pre_save

from admin_center import config_io
from admin_center.models import ConfigurationImport

MASK = "******"
SECRET_WORDS = ("password", "secret", "token", "private")
LONGEST_VALUE = 60
CREATE, CHANGE, UNCHANGED = "create", "change", "unchanged"


@dataclass
class Entry:
    """One object of the document and what the import would do to the rows it writes."""

    section: str
    path: str
    key: str
    changes: list[tuple[str, str]] = field(default_factory=list)  # (what, how): "queue.name", "\"Sales\""
    created: bool = False

    @property
    def action(self) -> str:
        if self.created:
            return CREATE
        return CHANGE if self.changes else UNCHANGED


@dataclass
class Plan:
    entries: list[Entry]

    def count(self, action: str) -> int:
        return sum(1 for entry in self.entries if entry.action == action)

    @property
    def pending(self) -> bool:
        return any(entry.action != UNCHANGED for entry in self.entries)

    def lines(self) -> list[str]:
        signs = {CREATE: "+", CHANGE: "~", UNCHANGED: "="}
        out = []
        for entry in self.entries:
            out.append(f'{signs[entry.action]} {entry.path} "{entry.key}": {entry.action}')
            out.extend(f"    {what}: {how}" for what, how in entry.changes)
        out.append(
            f"Plan: {self.count(CREATE)} to create, {self.count(CHANGE)} to change, {self.count(UNCHANGED)} unchanged."
        )
        return out


class _DryRun(Exception):
    pass


def _secret(name: str) -> bool:
    return any(word in name.lower() for word in SECRET_WORDS)


def _show(value: Any) -> str:
    if isinstance(value, models.Model):
        value = str(value)
    text = json.dumps(value, ensure_ascii=False, default=str, sort_keys=True)
    return text if len(text) <= LONGEST_VALUE else text[: LONGEST_VALUE - 1] + "…"


def _unremarkable(model_field: models.Field, value: Any) -> bool:
    """A new row's field not worth a line: empty, its default, or set by the database or the clock."""
    if getattr(model_field, "auto_now", False) or getattr(model_field, "auto_now_add", False):
        return True
    if value is None or value == "":
        return True
    if model_field.has_default():
        if callable(model_field.default) and isinstance(model_field, models.DateField | models.TimeField):
            return True  # a timestamp of the moment (created_at and the like)
        return value == model_field.get_default()
    return False


def _label(instance: models.Model) -> str:
    return str(instance._meta.verbose_name)


def _value(instance: models.Model, model_field: models.Field, raw: Any) -> Any:
    """A foreign key shown as the object it points to, other fields as stored."""
    if model_field.is_relation and raw is not None:
        return model_field.related_model._default_manager.filter(pk=raw).first() or raw
    return raw


class _Recorder:
    """Signal receivers writing into the entry being applied."""

    def __init__(self) -> None:
        self.current: Entry | None = None

    def _record(self, what: str, how: str) -> None:
        if self.current is not None:
            self.current.changes.append((what, how))

    def pre_save(self, sender, instance, raw=False, update_fields=None, **kwargs) -> None:
        if isinstance(instance, ConfigurationImport) or self.current is None:
            return
        fields = [f for f in instance._meta.concrete_fields if not f.primary_key]
        if update_fields is not None:
            fields = [f for f in fields if f.name in update_fields or f.attname in update_fields]
        stored = None
        if instance.pk is not None and not instance._state.adding:
            stored = type(instance)._default_manager.filter(pk=instance.pk).values().first()
        label = _label(instance)
        if stored is None:
            self.current.created = True
            for f in fields:
                new = getattr(instance, f.attname)
                if _secret(f.name) and new not in (None, ""):
                    self._record(f"{label}.{f.name}", MASK)
                elif not _unremarkable(f, new):
                    self._record(f"{label}.{f.name}", _show(_value(instance, f, new)))
            return
        for f in fields:
            if getattr(f, "auto_now", False):
                continue
            old, new = stored[f.attname], getattr(instance, f.attname)
            if old == new:
                continue
            if _secret(f.name):
                self._record(f"{label}.{f.name}", f"{MASK} -> {MASK}")
            else:
                old_shown, new_shown = _show(_value(instance, f, old)), _show(_value(instance, f, new))
                self._record(f"{label}.{f.name}", f"{old_shown} -> {new_shown}")

    def post_delete(self, sender, instance, **kwargs) -> None:
        if self.current is not None:
            self._record(f"{_label(instance)}", f"delete {_show(instance)}")

    def m2m_changed(self, sender, instance, action, model, pk_set, **kwargs) -> None:
        if self.current is None or action not in ("post_add", "post_remove", "pre_clear"):
            return
        name = next(
            (f.name for f in instance._meta.many_to_many if f.remote_field.through is sender),
            str(model._meta.verbose_name_plural),
        )
        if action == "pre_clear":
            related = getattr(instance, name).all()
            sign = "-"
        else:
            related = model._default_manager.filter(pk__in=pk_set or ())
            sign = "+" if action == "post_add" else "-"
        for obj in related:
            self._record(f"{_label(instance)}.{name}", f"{sign} {_show(obj)}")

    @contextlib.contextmanager
    def listening(self):
        uid = f"config-plan-{id(self)}"
        pre_save.connect(self.pre_save, dispatch_uid=uid + "-save", weak=False)
        post_delete.connect(self.post_delete, dispatch_uid=uid + "-delete", weak=False)
        m2m_changed.connect(self.m2m_changed, dispatch_uid=uid + "-m2m", weak=False)
        try:
            yield
        finally:
            pre_save.disconnect(dispatch_uid=uid + "-save")
            post_delete.disconnect(dispatch_uid=uid + "-delete")
            m2m_changed.disconnect(dispatch_uid=uid + "-m2m")


def plan_configuration(document: Any, *, allow_staff: bool = False) -> Plan:
    """What ``import_configuration(document)`` would do, per object and field; changes nothing. Raises
    ``ConfigError`` with the same problems the import would report."""
    problems, unreadable = config_io._check_shape(document)
    if unreadable is None:
        raise config_io.ConfigError(problems)
    importer = config_io._Importer(document, unreadable, allow_staff=allow_staff)
    recorder = _Recorder()
    entries: list[Entry] = []

    def attributed(section: str, apply):
        def run(path: str, item: dict) -> None:
            key = item.get(config_io.REQUIRED[section][0])
            recorder.current = Entry(section, path, str(key))
            entries.append(recorder.current)
            try:
                apply(path, item)
            finally:
                recorder.current = None

        return run

    for section in config_io.SECTIONS:
        name = f"_apply_{section}"
        setattr(importer, name, attributed(section, getattr(importer, name)))
    with contextlib.suppress(_DryRun), transaction.atomic(), recorder.listening():
        importer.run()
        raise _DryRun
    if problems or importer.problems:
        raise config_io.ConfigError(problems + importer.problems)
    return Plan(entries)

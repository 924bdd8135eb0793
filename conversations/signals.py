"""Access that ends when its grant ends (issue 18, docs/security.md "Access that ends"): Django's signals
about users, widgets and authentication settings, passed on to ``actions.sessions``, which closes the
sockets that the change no longer admits (after the change commits)."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_out
from django.db.models.signals import post_delete, post_save, pre_save

from admin_center.models import ChatAuthenticationKey, ChatAuthenticationSetting, ChatWidget

from .actions import sessions

USER_FIELDS = ("password", "is_active")
WIDGET_FIELDS = ("enabled", "allowed_origins", "authentication_id")
AUTHENTICATION_FIELDS = ("public_key_pem", "issuer", "audience", "max_token_age_seconds", "jwks_url")
KEY_FIELDS = ("kid", "public_key_pem")


def _before(sender, instance, fields: tuple[str, ...], update_fields) -> None:
    """Keep the watched fields' stored values on the instance (one query, only when they may change)."""
    instance._parley_before = None
    if instance.pk is None or instance._state.adding:
        return
    if update_fields is not None and not {f.removesuffix("_id") for f in fields} & set(update_fields):
        return
    instance._parley_before = sender._default_manager.filter(pk=instance.pk).values(*fields).first()


def _changed(instance, fields: tuple[str, ...]) -> set[str]:
    before = getattr(instance, "_parley_before", None)
    if not before:
        return set()
    return {field for field in fields if before[field] != getattr(instance, field)}


def user_before_save(sender, instance, update_fields=None, **kwargs) -> None:
    _before(sender, instance, USER_FIELDS, update_fields)


def user_saved(sender, instance, created, **kwargs) -> None:
    changed = _changed(instance, USER_FIELDS)
    if "password" in changed or ("is_active" in changed and not instance.is_active):
        sessions.end_user_access(instance.pk)


def user_deleted(sender, instance, **kwargs) -> None:
    sessions.end_user_access(instance.pk)


def user_signed_out(sender, request, user, **kwargs) -> None:
    if user is not None:
        sessions.end_user_access(user.pk)


def widget_before_save(sender, instance, update_fields=None, **kwargs) -> None:
    _before(sender, instance, WIDGET_FIELDS, update_fields)


def widget_saved(sender, instance, created, **kwargs) -> None:
    changed = _changed(instance, WIDGET_FIELDS)
    if changed:
        sessions.widget_changed(instance.pk, disabled="enabled" in changed and not instance.enabled)


def authentication_before_save(sender, instance, update_fields=None, **kwargs) -> None:
    _before(sender, instance, AUTHENTICATION_FIELDS, update_fields)


def authentication_saved(sender, instance, created, **kwargs) -> None:
    if _changed(instance, AUTHENTICATION_FIELDS):
        sessions.authentication_changed(instance.pk)


def key_before_save(sender, instance, update_fields=None, **kwargs) -> None:
    _before(sender, instance, KEY_FIELDS, update_fields)


def key_saved(sender, instance, created, **kwargs) -> None:
    if _changed(instance, KEY_FIELDS):
        sessions.authentication_changed(instance.setting_id)


def key_deleted(sender, instance, **kwargs) -> None:
    sessions.authentication_changed(instance.setting_id)


def connect() -> None:
    user = get_user_model()
    pre_save.connect(user_before_save, sender=user, dispatch_uid="parley.access.user-before")
    post_save.connect(user_saved, sender=user, dispatch_uid="parley.access.user-saved")
    post_delete.connect(user_deleted, sender=user, dispatch_uid="parley.access.user-deleted")
    user_logged_out.connect(user_signed_out, dispatch_uid="parley.access.signed-out")
    pre_save.connect(widget_before_save, sender=ChatWidget, dispatch_uid="parley.access.widget-before")
    post_save.connect(widget_saved, sender=ChatWidget, dispatch_uid="parley.access.widget-saved")
    pre_save.connect(
        authentication_before_save, sender=ChatAuthenticationSetting, dispatch_uid="parley.access.auth-before"
    )
    post_save.connect(authentication_saved, sender=ChatAuthenticationSetting, dispatch_uid="parley.access.auth-saved")
    pre_save.connect(key_before_save, sender=ChatAuthenticationKey, dispatch_uid="parley.access.key-before")
    post_save.connect(key_saved, sender=ChatAuthenticationKey, dispatch_uid="parley.access.key-saved")
    post_delete.connect(key_deleted, sender=ChatAuthenticationKey, dispatch_uid="parley.access.key-deleted")

"""The admin center's page for chat authentication settings: the keys, their fingerprints and last use,
and the state of the JWKS URL (last fetch, its keys, the last error)."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from admin_center import validators
from admin_center.models import ChatAuthenticationKey, ChatAuthenticationSetting
from admin_center.signing_keys import display_fingerprint


def fingerprint_html(value: str) -> str:
    """The fingerprint in two lines of 16 bytes, so that it fits a column."""
    if not value:
        return "-"
    text = display_fingerprint(value)
    middle = len("SHA256:") + 16 * 3
    return format_html("<code>{}<br>{}</code>", text[:middle], text[middle:])


def when(value) -> str:
    """A stored instant (datetime or ISO text) in the admin's time zone and format."""
    from datetime import datetime

    from django.utils import formats
    from django.utils.timezone import localtime

    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    if not value:
        return "-"
    return formats.date_format(localtime(value), "DATETIME_FORMAT")


class KeyFormSet(forms.BaseInlineFormSet):
    """The rule across the setting and its keys (at least one way to verify, at most ten keys) is
    ``validators.authentication_problems``, the same that ``import_config`` applies."""

    def clean(self) -> None:
        super().clean()
        if any(self.errors):
            return
        kept = [
            form
            for form in self.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE") and form.cleaned_data.get("kid")
        ]
        kids = [form.cleaned_data["kid"] for form in kept]
        if len(kids) != len(set(kids)):
            raise ValidationError(_("Each key needs its own key id (kid)."))
        problems = validators.authentication_problems(
            has_unnamed_key=bool((self.instance.public_key_pem or "").strip()),
            named_keys=len(kept),
            jwks_url=self.instance.jwks_url or "",
        )
        if problems:
            raise ValidationError(list(problems.values()))


class ChatAuthenticationKeyInline(admin.TabularInline):
    model = ChatAuthenticationKey
    formset = KeyFormSet
    extra = 0
    fields = ["kid", "public_key_pem", "fingerprint_display", "created_at", "last_used_at"]
    readonly_fields = ["fingerprint_display", "created_at", "last_used_at"]
    verbose_name = _("public key with a kid")
    verbose_name_plural = _("public keys with a kid (key rotation)")

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "public_key_pem":
            kwargs["widget"] = forms.Textarea(attrs={"rows": 4, "cols": 48, "class": "pem"})
        elif db_field.name == "kid":
            kwargs["widget"] = forms.TextInput(attrs={"size": 12})
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    @admin.display(description=_("fingerprint (SHA-256)"))
    def fingerprint_display(self, obj: ChatAuthenticationKey) -> str:
        return fingerprint_html(obj.fingerprint)


class ChatAuthenticationSettingAdmin(admin.ModelAdmin):
    list_display = ["name", "key_count", "jwks_state", "issuer", "javascript_function"]
    search_fields = ["name", "issuer"]
    inlines = [ChatAuthenticationKeyInline]
    readonly_fields = ["key_fingerprint_display", "key_last_used_at", "jwks_status"]
    fieldsets = [
        (None, {"fields": ["name", "javascript_function"]}),
        (
            _("Key without kid"),
            {
                "fields": ["public_key_pem", "key_fingerprint_display", "key_last_used_at"],
                "description": _(
                    "Tokens whose header names no kid are checked against this key and every other key of "
                    "this setting. For key rotation add keys with a kid below, or give a JWKS URL."
                ),
            },
        ),
        (_("JWKS URL"), {"fields": ["jwks_url", "jwks_status"]}),
        (_("Token rules"), {"fields": ["issuer", "audience", "max_token_age_seconds"]}),
    ]

    class Media:
        css = {"all": ["admin_center/admin_center.css"]}

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("keys")

    @admin.display(description=_("keys with a kid"))
    def key_count(self, obj: ChatAuthenticationSetting) -> int:
        return len(obj.keys.all())

    @admin.display(description=_("JWKS"))
    def jwks_state(self, obj: ChatAuthenticationSetting) -> str:
        if not obj.jwks_url:
            return "-"
        if obj.jwks_error and obj.jwks_error_at:
            return _("error")
        return _("fetched") if obj.jwks_fetched_at else _("not fetched yet")

    @admin.display(description=_("fingerprint (SHA-256)"))
    def key_fingerprint_display(self, obj: ChatAuthenticationSetting) -> str:
        return fingerprint_html(obj.key_fingerprint)

    @admin.display(description=_("JWKS status"))
    def jwks_status(self, obj: ChatAuthenticationSetting) -> str:
        if not obj.jwks_url:
            return _("No JWKS URL.")
        parts = []
        if obj.jwks_fetched_at:
            parts.append(format_html("<p>{} {}</p>", _("Last fetched:"), when(obj.jwks_fetched_at)))
        else:
            parts.append(format_html("<p>{}</p>", _("Not fetched yet: it is fetched when the first token needs it.")))
        if obj.jwks_error:
            parts.append(
                format_html(
                    '<p class="errornote">{} {}: {}</p>',
                    _("Last error"),
                    when(obj.jwks_error_at),
                    obj.jwks_error,
                )
            )
        rows = [row for row in obj.jwks_keys or [] if isinstance(row, dict)]
        if rows:
            table = format_html_join(
                "",
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                (
                    (
                        row.get("kid") or "-",
                        fingerprint_html(row.get("fingerprint") or ""),
                        when(row.get("last_used_at")),
                    )
                    for row in rows
                ),
            )
            parts.append(
                format_html(
                    "<table><thead><tr><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>{}</tbody></table>",
                    _("kid"),
                    _("fingerprint (SHA-256)"),
                    _("last used"),
                    table,
                )
            )
        return format_html_join("", "{}", ((part,) for part in parts))

"""The admin center: Django's admin, branded and grouped the way an administrator thinks.

``config/settings.py`` installs ``admin_center.apps.AdminCenterAdminConfig``
instead of ``django.contrib.admin`` so that ``admin.site`` is this site.
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.utils.translation import gettext_lazy as _

# (group label, models in the order shown), in the order an administrator sets chat up (the dashboard's
# checklist, admin_center/checklist.py); models not listed keep their app's own group.
GROUPS = [
    (_("1. Authentication"), ["admin_center.ChatAuthenticationSetting"]),
    (_("2. Operating hours"), ["admin_center.OperatingHours"]),
    (_("3. Queues and agents"), ["routing.Queue", "routing.AgentProfile", "auth.User", "auth.Group"]),
    (_("4. Workstreams"), ["admin_center.Workstream"]),
    (_("5. Chat widgets"), ["admin_center.ChatWidget"]),
    (_("Conversations"), ["conversations.Conversation", "conversations.Customer"]),
    (_("Agents' tools"), ["admin_center.QuickReply"]),
    (_("Integrations"), ["admin_center.WebhookEndpoint", "webhooks.Delivery", "authtoken.TokenProxy"]),
]


def group_of(model_label: str) -> tuple[int, str] | None:
    """``(index, label)`` of the dashboard group that shows the model ``app_label.ModelName``, or None."""
    for index, (label, keys) in enumerate(GROUPS):
        if any(key.lower() == model_label.lower() for key in keys):
            return index, label
    return None


class AdminCenterSite(admin.AdminSite):
    site_header = _("Customer Service admin center")
    site_title = _("Customer Service admin center")
    index_title = _("Set up chat for your customers")
    index_template = "admin/admin_center_index.html"

    def index(self, request, extra_context=None):
        from admin_center.checklist import setup_checklist

        extra_context = {**(extra_context or {}), "checklist": setup_checklist()}
        return super().index(request, extra_context)

    def login(self, request, extra_context=None):
        """One sign-in page for the workspace and the admin center: /accounts/login/ (same brand, same form)."""
        from django.shortcuts import redirect
        from django.urls import reverse
        from django.utils.http import url_has_allowed_host_and_scheme, urlencode

        if request.method != "GET":
            return super().login(request, extra_context)
        target = request.GET.get("next", "")
        allowed = url_has_allowed_host_and_scheme(
            target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        )
        if not allowed:
            target = reverse("admin:index")
        if request.user.is_active and request.user.is_staff:
            return redirect(target)
        return redirect(f"{reverse('login')}?{urlencode({'next': target})}")

    def get_app_list(self, request, app_label=None):
        apps = super().get_app_list(request, app_label)
        if app_label is not None:
            return apps
        by_key = {f"{app['app_label']}.{model['object_name']}": (app, model) for app in apps for model in app["models"]}
        grouped, used = [], set()
        for index, (label, keys) in enumerate(GROUPS):
            models = [by_key[key][1] for key in keys if key in by_key]
            if not models:
                continue
            used.update(key for key in keys if key in by_key)
            first_app = by_key[next(key for key in keys if key in by_key)][0]
            grouped.append({**first_app, "name": label, "app_label": first_app["app_label"], "models": models,
                            "group_index": index})  # fmt: skip
        for app in apps:
            rest = [m for m in app["models"] if f"{app['app_label']}.{m['object_name']}" not in used]
            if rest:
                grouped.append({**app, "models": rest})
        return grouped


class AdminCenterAdminConfig(AdminConfig):
    """Installs ``AdminCenterSite`` as ``django.contrib.admin.site`` (INSTALLED_APPS names this class)."""

    default_site = "admin_center.site.AdminCenterSite"

"""The admin center: Django's admin, branded and grouped the way an administrator thinks.

``config/settings.py`` installs ``admin_center.apps.AdminCenterAdminConfig``
instead of ``django.contrib.admin`` so that ``admin.site`` is this site.
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.utils.translation import gettext_lazy as _

# (group label, models in the order shown); models not listed keep their app's own group.
GROUPS = [
    (
        _("Chat channels"),
        ["admin_center.Workstream", "admin_center.ChatWidget", "admin_center.ChatAuthenticationSetting"],
    ),
    (_("Queues and agents"), ["routing.Queue", "routing.AgentProfile", "auth.User", "auth.Group"]),
    (_("Operating hours"), ["admin_center.OperatingHours"]),
    (_("Conversations"), ["conversations.Conversation", "conversations.Customer"]),
    (_("Integrations"), ["admin_center.WebhookEndpoint", "webhooks.Delivery", "authtoken.TokenProxy"]),
]


class AdminCenterSite(admin.AdminSite):
    site_header = _("Customer Service admin center")
    site_title = _("Customer Service admin center")
    index_title = _("Set up chat for your customers")

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

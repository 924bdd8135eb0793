"""``{% admin_group opts as group %}``: the dashboard group of a model, for breadcrumbs that match the dashboard."""

from __future__ import annotations

from django import template
from django.urls import reverse

register = template.Library()


@register.simple_tag
def admin_group(opts) -> dict:
    """``{"label", "url"}`` of the dashboard group that shows ``opts``'s model (its app's page if none)."""
    from admin_center.site import group_of

    found = group_of(opts.label)
    if found is None:
        return {"label": opts.app_config.verbose_name, "url": reverse("admin:app_list", args=[opts.app_label])}
    index, label = found
    return {"label": label, "url": f"{reverse('admin:index')}#group-{index}"}

"""The chat widget's admin page: a colour picker with a live preview, the logo, the visitor's language."""

from __future__ import annotations

import pytest
from django.urls import reverse

from admin_center.models import ChatWidget
from tests import factories

pytestmark = pytest.mark.django_db


def test_the_widget_page_offers_a_colour_picker_with_a_live_preview_and_a_logo_field(admin_client):
    widget = factories.make_setup()
    page = admin_client.get(reverse("admin:admin_center_chatwidget_change", args=[widget.pk])).text
    assert 'type="color"' in page and 'name="color"' in page
    assert 'id="widget-preview"' in page and "admin_center/widget-preview.js" in page
    assert 'name="logo_url"' in page
    assert 'value="auto"' in page  # the visitor's language


def test_capacity_help_says_what_the_numbers_mean():
    from admin_center.models import Workstream
    from routing.models import AgentProfile

    assert "10 chats" in str(Workstream._meta.get_field("capacity_units").help_text)
    assert "ten chats" in str(AgentProfile._meta.get_field("capacity").help_text)


def test_a_colour_that_is_not_rrggbb_is_refused():
    widget = factories.make_setup()
    widget.color = "blue"
    with pytest.raises(Exception) as refused:
        widget.full_clean()
    assert "color" in str(refused.value)
    assert ChatWidget.objects.get(pk=widget.pk).color == "#2563eb"

"""The widget sockets of one widget share one set of widget instances while its rows stay as they were
(conversations/consumers/customer.py ``_load_widget``, docs/performance.md "Memory per idle widget")."""

import pytest

from admin_center.models import ChatWidget, Workstream
from conversations.consumers.customer import _load_widget
from tests import factories

pytestmark = pytest.mark.django_db


def test_sockets_of_one_widget_share_its_instances_until_a_row_changes():
    widget = factories.make_setup()
    first = _load_widget(widget.public_id)
    second = _load_widget(widget.public_id)
    assert second is first
    assert second.workstream is first.workstream

    Workstream.objects.filter(pk=widget.workstream_id).update(name="Renamed")
    third = _load_widget(widget.public_id)
    assert third is not first
    assert third.workstream.name == "Renamed"
    assert first.workstream.name != "Renamed"  # an open socket keeps what it read, as before
    assert _load_widget(widget.public_id) is third  # the new rows are shared from now on


def test_an_instance_that_cached_more_is_not_handed_to_a_new_socket():
    widget = factories.make_setup()
    first = _load_widget(widget.public_id)
    first.workstream.queue._state.fields_cache["later"] = object()  # a relation one socket read later
    second = _load_widget(widget.public_id)
    assert second is not first
    assert "later" not in second.workstream.queue._state.fields_cache


def test_a_disabled_widget_is_not_found_even_while_shared():
    widget = factories.make_setup()
    held = _load_widget(widget.public_id)
    ChatWidget.objects.filter(pk=widget.pk).update(enabled=False)
    assert _load_widget(widget.public_id) is None
    assert held is not None

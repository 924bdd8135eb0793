"""Configuration as code for issue 16 (../shared/CONFIG.md "Version 2 additions"): ``supervisor: true`` on
agents; ``auto_accept``, ``offer_timeout_seconds`` and ``auto_close_seconds`` on workstreams."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from admin_center.config_io import ConfigError, export_configuration, import_configuration
from admin_center.models import Workstream

pytestmark = pytest.mark.django_db
DAY = 86400


def document(**workstream) -> dict:
    return {
        "version": 1,
        "agents": [
            {"username": "carol", "name": "Carol", "capacity": 100, "supervisor": True},
            {"username": "alice", "name": "Alice", "capacity": 100},
        ],
        "queues": [{"name": "Support", "members": ["alice", "carol"]}],
        "workstreams": [{"name": "Live support", "queue": "Support", **workstream}],
    }


def supervises(username: str) -> bool:
    return get_user_model().objects.get(username=username).has_perm("routing.supervise")


def test_supervisor_true_grants_the_permission_and_false_takes_it_back():
    import_configuration(document())
    assert supervises("carol") and not supervises("alice")
    doc = document()
    doc["agents"][0]["supervisor"] = False
    report = import_configuration(doc)
    assert not supervises("carol")
    assert report.updated["agents"] == 1


def test_offers_and_timers_are_imported_and_exported_back_unchanged():
    timers = {"open": 3600, "active": None, "waiting": 7 * DAY, "wrap_up": None}
    import_configuration(document(auto_accept=False, offer_timeout_seconds=60, auto_close_seconds=timers))
    workstream = Workstream.objects.get()
    assert (workstream.auto_accept, workstream.offer_timeout_seconds) == (False, 60)
    assert workstream.auto_close_seconds == timers
    exported = export_configuration()
    [exported_workstream] = exported["workstreams"]
    assert exported_workstream["auto_close_seconds"] == timers and exported_workstream["auto_accept"] is False
    assert [a["supervisor"] for a in exported["agents"]] == [False, True]  # alice, carol
    report = import_configuration(exported)
    assert sum(report.updated.values()) == 0 and sum(report.created.values()) == 0


def test_a_partial_timer_object_means_never_for_the_states_left_out():
    import_configuration(document(auto_close_seconds={"waiting": DAY}))
    assert Workstream.objects.get().auto_close_seconds == {
        "open": None,
        "active": None,
        "waiting": DAY,
        "wrap_up": None,
    }


def test_a_new_workstream_without_timers_gets_the_defaults_and_the_version_1_key_still_works():
    import_configuration(document(auto_close_after_inactivity_seconds=600))
    workstream = Workstream.objects.get()
    assert workstream.auto_close_seconds == {"open": DAY, "active": DAY, "waiting": None, "wrap_up": None}
    assert workstream.auto_close_after_inactivity_seconds == 600


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"auto_close_seconds": {"closed": 60}}, "workstreams[0].auto_close_seconds: closed is not a state"),
        ({"auto_close_seconds": {"open": 0}}, "workstreams[0].auto_close_seconds: The timer of open"),
        ({"auto_close_seconds": [60]}, "workstreams[0].auto_close_seconds: expected an object"),
        ({"offer_timeout_seconds": 2}, "workstreams[0].offer_timeout_seconds: "),
        ({"auto_accept": "no"}, "workstreams[0].auto_accept: expected true or false"),
    ],
)
def test_bad_values_are_refused_with_their_path_and_nothing_changes(changes, problem):
    with pytest.raises(ConfigError) as refused:
        import_configuration(document(**changes))
    assert any(line.startswith(problem) for line in refused.value.problems), refused.value.problems
    assert not Workstream.objects.exists()


def test_supervisor_must_be_true_or_false():
    doc = document()
    doc["agents"][0]["supervisor"] = "yes"
    with pytest.raises(ConfigError) as refused:
        import_configuration(doc)
    assert "agents[0].supervisor: expected true or false" in refused.value.problems

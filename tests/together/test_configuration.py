"""Routing rules and quick replies in the JSON configuration and in the admin's validation (one set of
rules for both entry points), and the routing rules' pure decision."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from admin_center.config_io import ConfigError, export_configuration, import_configuration
from admin_center.models import QuickReply, Workstream
from routing import rules
from routing.models import AgentProfile

pytestmark = pytest.mark.django_db


def document(**workstream) -> dict:
    return {
        "version": 1,
        "agents": [{"username": "carol", "name": "Carol", "capacity": 100, "language": "ru"}],
        "queues": [{"name": "Support", "members": ["carol"]}, {"name": "VIP", "members": ["carol"]}],
        "workstreams": [
            {
                "name": "Live",
                "queue": "Support",
                "routing_rules": [
                    {"when": {"context.tier": "gold"}, "queue": "VIP"},
                    {"when": {"pre_chat.topic": "Billing", "context.plan": 3}, "queue": "VIP"},
                ],
                **workstream,
            }
        ],
        "quick_replies": [
            {"title": "Greeting", "shortcut": "hi", "language": "en", "text": "Hello {customer}, I am {agent}.",
             "queues": []},
            {"title": "Приветствие", "shortcut": "hi", "language": "ru", "text": "Здравствуйте, {customer}!",
             "queues": ["VIP"]},
        ],
    }  # fmt: skip


def problems(doc: dict) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        import_configuration(doc)
    return caught.value.problems


def test_the_new_keys_import_and_export_back_unchanged():
    import_configuration(document())
    assert AgentProfile.objects.get(user__username="carol").language == "ru"
    workstream = Workstream.objects.get(name="Live")
    assert workstream.routing_rules[0] == {"when": {"context.tier": "gold"}, "queue": "VIP"}
    reply = QuickReply.objects.get(title="Приветствие")
    assert [q.name for q in reply.queues.all()] == ["VIP"]
    exported = export_configuration()
    assert exported["quick_replies"] == document()["quick_replies"]
    assert exported["workstreams"][0]["routing_rules"] == document()["workstreams"][0]["routing_rules"]
    report = import_configuration(exported)
    assert sum(report.created.values()) == 0 and sum(report.updated.values()) == 0
    assert export_configuration() == exported


@pytest.mark.parametrize(
    ("rules_value", "expected"),
    [
        ([{"when": {}, "queue": "VIP"}], "workstreams[0].routing_rules: rule 1: the rule is empty"),
        ([{"when": {"context.tier": "gold"}, "queue": "Nowhere"}], "there is no queue named Nowhere"),
        ([{"when": {"tier": "gold"}, "queue": "VIP"}], "tier is not a condition"),
        ([{"when": {"context.tier": ["a"]}, "queue": "VIP"}], "must be a text of 1-500 characters"),
        ([{"when": {"context.tier": "gold"}}], "name the queue"),
        ([{"when": {"context.tier": "gold"}, "queue": "VIP", "x": 1}], "unknown keys x"),
    ],
)
def test_bad_routing_rules_are_refused_with_their_path_and_change_nothing(rules_value, expected):
    found = problems(document(routing_rules=rules_value))
    assert any(expected in problem and problem.startswith("workstreams[0].routing_rules") for problem in found), found
    assert not Workstream.objects.exists() and not QuickReply.objects.exists()


def test_bad_quick_replies_are_refused():
    doc = document()
    doc["quick_replies"] = [
        {"title": "A", "shortcut": "no spaces", "text": "x"},
        {"title": "B", "shortcut": "b", "text": "Hi {name}"},
        {"title": "C", "shortcut": "c", "text": "x", "queues": ["Nowhere"]},
        {"title": "D", "shortcut": "d", "text": "x", "language": "de"},
    ]
    found = problems(doc)
    assert any(p.startswith("quick_replies[0].shortcut") for p in found)
    assert any(p.startswith("quick_replies[1].text") and "{name}" in p for p in found)
    assert any(p.startswith("quick_replies[2].queues") for p in found)
    assert any(p.startswith("quick_replies[3].language") for p in found)


def test_the_admin_form_refuses_an_unknown_queue_and_an_empty_rule():
    import_configuration(document())
    workstream = Workstream.objects.get(name="Live")
    workstream.routing_rules = [{"when": {"context.tier": "gold"}, "queue": "Nowhere"}]
    with pytest.raises(ValidationError) as caught:
        workstream.full_clean()
    assert "there is no queue named Nowhere" in str(caught.value.message_dict["routing_rules"])
    workstream.routing_rules = [{"when": {}, "queue": "VIP"}]
    with pytest.raises(ValidationError) as caught:
        workstream.full_clean()
    assert "the rule is empty" in str(caught.value.message_dict["routing_rules"])


def test_the_first_rule_whose_every_condition_holds_wins():
    ordered = [
        {"when": {"context.tier": "gold", "pre_chat.topic": "Billing"}, "queue": "Gold billing"},
        {"when": {"context.tier": "gold"}, "queue": "VIP"},
        {"when": {"context.plan": 3, "context.trial": True}, "queue": "Plans"},
    ]
    assert rules.chosen_queue(ordered, context={"tier": "gold"}, pre_chat={"topic": "Billing"}) == "Gold billing"
    assert rules.chosen_queue(ordered, context={"tier": "gold"}, pre_chat={"topic": "Delivery"}) == "VIP"
    assert rules.chosen_queue(ordered, context={"plan": "3", "trial": "true"}, pre_chat={}) == "Plans"
    assert rules.chosen_queue(ordered, context={"plan": 3}, pre_chat={}) is None
    assert rules.chosen_queue(ordered, context=None, pre_chat=None) is None
    assert rules.chosen_queue([{"when": {}, "queue": "All"}], context={}, pre_chat={}) is None

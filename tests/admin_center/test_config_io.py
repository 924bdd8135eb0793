"""import_config / export_config: round trip, all-or-nothing, idempotence, every rule with its path."""

from __future__ import annotations

import copy
import io
import json

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError

from admin_center.config_io import ConfigError, export_configuration, import_configuration
from admin_center.models import ChatAuthenticationSetting, ChatWidget, OperatingHours, Workstream
from routing.models import AgentProfile, Queue
from tests.support.tokens import make_key_pair

pytestmark = pytest.mark.django_db

PUBLIC_PEM = make_key_pair()[1]


def document() -> dict:
    """The example of ../shared/CONFIG.md, with a real key."""
    return {
        "version": 1,
        "operating_hours": [
            {
                "name": "Business hours",
                "timezone": "Europe/Moscow",
                "weekly": {"mon": [["09:00", "18:00"]], "tue": [["09:00", "13:00"], ["14:00", "18:00"]]},
                "closed_dates": ["2026-12-31"],
            }
        ],
        "authentication_settings": [
            {"name": "Shop JWT", "public_key_pem": PUBLIC_PEM, "issuer": None, "javascript_function": "getChatToken"}
        ],
        "agents": [{"username": "alice", "password": "alice-secret-1", "name": "Alice Smith", "capacity": 100}],
        "queues": [
            {
                "name": "Support",
                "members": ["alice"],
                "assignment_method": "highest_capacity",
                "operating_hours": "Business hours",
            }
        ],
        "workstreams": [
            {
                "name": "Persistent support",
                "persistent": True,
                "same_agent": True,
                "distribution": "push",
                "capacity_units": 50,
                "queue": "Support",
                "auto_close_after_inactivity_seconds": 2419200,
                "wrap_up_seconds": 0,
            }
        ],
        "chat_widgets": [
            {
                "name": "Shop widget",
                "public_id": "shop-support",
                "workstream": "Persistent support",
                "authentication": "Shop JWT",
                "allowed_origins": ["https://shop.example.com"],
                "title": "Chat with us",
                "language": "en",
                "enabled": True,
                "messages": {
                    "queue_position": "You are number {position} in line.",
                    "agent_joined": "{agent} joined the chat.",
                },
            }
        ],
    }


def refused(doc: dict) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        import_configuration(doc)
    return caught.value.problems


def snapshot() -> dict:
    return export_configuration()


def test_import_creates_everything_the_document_describes():
    import_configuration(document())
    widget = ChatWidget.objects.get(public_id="shop-support")
    assert widget.workstream.persistent and widget.workstream.same_agent
    assert widget.authentication.name == "Shop JWT" and widget.authentication.issuer == ""
    assert widget.workstream.queue.operating_hours.timezone == "Europe/Moscow"
    alice = AgentProfile.objects.get(user__username="alice")
    assert alice.display_name == "Alice Smith" and alice.user.check_password("alice-secret-1")
    assert list(Queue.objects.get(name="Support").members.all()) == [alice]


def test_export_imports_back_unchanged():
    import_configuration(document())
    exported = snapshot()
    report = import_configuration(json.loads(json.dumps(exported)))
    assert snapshot() == exported
    assert sum(report.created.values()) == 0 and sum(report.updated.values()) == 0


def test_export_matches_the_document_without_passwords():
    doc = document()
    import_configuration(doc)
    exported = snapshot()
    assert "password" not in exported["agents"][0]
    del doc["agents"][0]["password"]
    widget = exported["chat_widgets"][0]
    assert widget.pop("color") == "#2563eb"
    assert {key: widget.pop(key) for key in ("brand_color", "logo_url")} == {"brand_color": "#2563eb", "logo_url": None}
    journey = {key: widget.pop(key) for key in ("pre_chat", "post_chat_survey", "email_notifications", "return_url")}
    assert journey == {"pre_chat": None, "post_chat_survey": False, "email_notifications": False, "return_url": None}
    setting = exported["authentication_settings"][0]
    version_2 = {key: setting.pop(key) for key in ("keys", "jwks_url", "audience", "max_token_age_seconds")}
    assert version_2 == {"keys": [], "jwks_url": None, "audience": None, "max_token_age_seconds": 86400}
    assert exported["agents"][0].pop("supervisor") is False
    offers_and_timers = {key: exported["workstreams"][0].pop(key)
                         for key in ("auto_accept", "offer_timeout_seconds", "auto_close_seconds")}  # fmt: skip
    assert offers_and_timers == {"auto_accept": True, "offer_timeout_seconds": 120,
                                 "auto_close_seconds": {"open": None, "active": None, "waiting": 30 * 86400,
                                                        "wrap_up": None}}  # fmt: skip
    assert exported.pop("webhooks") == []
    # agents working together: language, routing rules, quick replies
    assert exported["agents"][0].pop("language") == "en"
    assert exported["workstreams"][0].pop("routing_rules") == []
    assert exported.pop("quick_replies") == []
    assert exported == doc


def test_second_import_is_idempotent():
    import_configuration(document())
    counts = {model: model.objects.count() for model in (OperatingHours, Queue, Workstream, ChatWidget, AgentProfile)}
    password_hash = get_user_model().objects.get(username="alice").password
    report = import_configuration(document())
    assert {model: model.objects.count() for model in counts} == counts
    assert get_user_model().objects.get(username="alice").password == password_hash
    assert report.unchanged["chat_widgets"] == 1 and sum(report.updated.values()) == 0


def test_import_updates_in_place_and_leaves_absent_objects_alone():
    import_configuration(document())
    other = document()
    other["queues"][0]["name"] = "Other queue"
    import_configuration({"version": 1, "queues": other["queues"]})
    changed = document()
    changed["workstreams"][0]["capacity_units"] = 25
    changed["agents"][0]["password"] = "a-new-password-2"
    report = import_configuration({"version": 1, "workstreams": changed["workstreams"], "agents": changed["agents"]})
    assert Workstream.objects.get().capacity_units == 25
    assert get_user_model().objects.get(username="alice").check_password("a-new-password-2")
    assert Queue.objects.filter(name__in=["Support", "Other queue"]).count() == 2
    assert report.updated == {**report.updated, "workstreams": 1, "agents": 1}


def test_refused_import_changes_nothing():
    import_configuration(document())
    before = snapshot()
    doc = document()
    doc["operating_hours"][0]["timezone"] = "UTC"  # a valid change ...
    doc["agents"].append({"username": "bob", "name": "Bob", "capacity": 10})  # ... a valid addition ...
    doc["workstreams"][0]["same_agent"] = False  # ... and one problem
    problems = refused(doc)
    assert problems == ['workstreams[0].same_agent: persistent chat requires "same agent for the entire conversation"']
    assert snapshot() == before
    assert not get_user_model().objects.filter(username="bob").exists()


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        (("operating_hours", 0, "timezone"), "Mars/Olympus", "operating_hours[0].timezone: Unknown time zone"),
        (("operating_hours", 0, "weekly"), {"monday": []}, "operating_hours[0].weekly: monday is not a day"),
        (("operating_hours", 0, "weekly"), {"mon": [["9", "18"]]}, "operating_hours[0].weekly: mon:"),
        (("operating_hours", 0, "closed_dates"), ["2026-02-30"], "operating_hours[0].closed_dates: 2026-02-30"),
        (("authentication_settings", 0, "public_key_pem"), "not a key", "authentication_settings[0].public_key_pem:"),
        (("authentication_settings", 0, "javascript_function"), "get token()", "authentication_settings[0].javascri"),
        (("agents", 0, "capacity"), -5, "agents[0].capacity:"),
        (("agents", 0, "username"), "no spaces allowed", "agents[0].username:"),
        (("queues", 0, "assignment_method"), "random", "queues[0].assignment_method:"),
        (("queues", 0, "members"), ["nobody"], 'queues[0].members: no agents entry named "nobody"'),
        (("queues", 0, "operating_hours"), "Night", "queues[0].operating_hours: no operating_hours entry named"),
        (("workstreams", 0, "distribution"), "broadcast", "workstreams[0].distribution:"),
        (("workstreams", 0, "capacity_units"), -1, "workstreams[0].capacity_units:"),
        (("workstreams", 0, "wrap_up_seconds"), 1.5, "workstreams[0].wrap_up_seconds: expected a whole number"),
        (("workstreams", 0, "persistent"), "yes", "workstreams[0].persistent: expected true or false"),
        (("workstreams", 0, "queue"), "Nope", 'workstreams[0].queue: no queues entry named "Nope"'),
        (("chat_widgets", 0, "public_id"), "Shop_Support", "chat_widgets[0].public_id: Use 3-64"),
        (("chat_widgets", 0, "public_id"), "ab", "chat_widgets[0].public_id: Use 3-64"),
        (("chat_widgets", 0, "allowed_origins"), ["https://shop.example.com/chat"], "chat_widgets[0].allowed_origins"),
        (("chat_widgets", 0, "allowed_origins"), ["shop.example.com"], "chat_widgets[0].allowed_origins"),
        (("chat_widgets", 0, "authentication"), None, "chat_widgets[0].authentication: a widget of a persistent"),
        (("chat_widgets", 0, "language"), "de", "chat_widgets[0].language:"),
        (("chat_widgets", 0, "messages"), {"greeting": "Hi"}, "chat_widgets[0].messages: greeting is not"),
        (("chat_widgets", 0, "messages"), {"agent_joined": "{name}!"}, "chat_widgets[0].messages: agent_joined: unk"),
        (("chat_widgets", 0, "wat"), 1, "chat_widgets[0].wat: unknown field"),
    ],
)
def test_every_rule_is_refused_with_its_path(path, value, expected):
    doc = document()
    section, index, key = path
    doc[section][index][key] = value
    problems = refused(doc)
    assert any(problem.startswith(expected) for problem in problems), problems
    assert not Workstream.objects.exists() and not ChatWidget.objects.exists()


def test_every_problem_is_reported_at_once():
    doc = document()
    doc["workstreams"][0]["same_agent"] = False
    doc["chat_widgets"][0]["public_id"] = "X"
    doc["operating_hours"][0]["timezone"] = "Nowhere"
    problems = refused(doc)
    assert [p.split(":")[0] for p in problems] == [
        "operating_hours[0].timezone",
        "workstreams[0].same_agent",
        "chat_widgets[0].public_id",
    ]


def test_making_a_workstream_persistent_refuses_its_unauthenticated_widgets():
    doc = document()
    doc["workstreams"][0].update(persistent=False, same_agent=False)
    doc["chat_widgets"][0]["authentication"] = None
    import_configuration(doc)
    problems = refused(
        {"version": 1, "workstreams": [{**doc["workstreams"][0], "persistent": True, "same_agent": True}]}
    )
    assert problems == [
        "workstreams[0].persistent: a widget of a persistent workstream requires an authentication setting: "
        "persistent chat is for signed-in customers (shop-support)"
    ]


def test_duplicate_names_and_bad_shapes_are_refused():
    doc = document()
    doc["queues"].append(copy.deepcopy(doc["queues"][0]))
    doc["version"] = 2
    doc["extras"] = []
    problems = refused(doc)
    assert "queues[1].name: Support appears twice" in problems
    assert "version: unsupported version; expected 1" in problems
    assert "extras: unknown section" in problems
    assert refused([]) == ["(document): expected a JSON object"]
    assert refused({"workstreams": [{"name": "W"}]}) == ["workstreams[0].queue: this field is required"]


def test_unique_name_clash_is_refused_on_its_field():
    import_configuration(document())
    doc = document()
    doc["chat_widgets"][0]["public_id"] = "another-id"  # a new widget, with the first one's name
    problems = refused(doc)
    assert problems and problems[0].startswith("chat_widgets[0].name:")


def test_import_command_reads_stdin_and_reports_problems(monkeypatch, capsys):
    doc = document()
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps(doc)))
    out = io.StringIO()
    call_command("import_config", "-", stdout=out)
    assert "chat_widgets: 1 created, 0 updated, 0 unchanged" in out.getvalue()
    doc["workstreams"][0]["same_agent"] = False
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps(doc)))
    err = io.StringIO()
    with pytest.raises(CommandError, match="1 problem"):
        call_command("import_config", "-", stderr=err)
    assert 'workstreams[0].same_agent: persistent chat requires "same agent' in err.getvalue()


def test_import_command_refuses_missing_file_and_invalid_json(tmp_path):
    with pytest.raises(CommandError, match="missing.json"):
        call_command("import_config", str(tmp_path / "missing.json"))
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(CommandError, match="not valid JSON"):
        call_command("import_config", str(broken))


def test_export_command_writes_json_that_imports_back(tmp_path):
    import_configuration(document())
    out = io.StringIO()
    call_command("export_config", stdout=out)
    path = tmp_path / "parley.json"
    path.write_text(out.getvalue())
    assert json.loads(out.getvalue()) == snapshot()
    call_command("import_config", str(path), stdout=io.StringIO())
    assert snapshot() == json.loads(out.getvalue())


def test_authentication_setting_issuer_round_trips():
    doc = document()
    doc["authentication_settings"][0]["issuer"] = "https://shop.example.com"
    import_configuration(doc)
    assert ChatAuthenticationSetting.objects.get().issuer == "https://shop.example.com"
    assert snapshot()["authentication_settings"][0]["issuer"] == "https://shop.example.com"


def test_a_widget_brand_colour_logo_and_visitor_language_import_and_export():
    doc = document()
    doc["chat_widgets"][0].update({"brand_color": "#0f766e", "logo_url": "https://shop.example.com/logo.png",
                                   "language": "auto"})  # fmt: skip
    import_configuration(doc)
    widget = snapshot()["chat_widgets"][0]
    assert (widget["brand_color"], widget["logo_url"], widget["language"]) == (
        "#0f766e",
        "https://shop.example.com/logo.png",
        "auto",
    )


def test_a_brand_colour_that_is_not_rrggbb_is_refused_with_its_path():
    doc = document()
    doc["chat_widgets"][0]["brand_color"] = "teal"
    with pytest.raises(ConfigError) as refused:
        import_configuration(doc)
    assert any("chat_widgets[0]" in problem and "color" in problem for problem in refused.value.problems)

"""``import_config --dry-run`` (docs/configuration.md "Plan before apply"): what would be created, changed and
left alone, per object and field, secrets masked; nothing changes; exit 0 (nothing to do), 2 (changes
pending), 1 (problems)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from admin_center.config_io import export_configuration, import_configuration
from admin_center.config_plan import plan_configuration
from admin_center.models import ConfigurationImport
from bench.server import ROOT
from routing.models import AgentProfile
from tests.admin_center.test_config_io import document

pytestmark = pytest.mark.django_db


def dry_run(doc: dict, monkeypatch) -> tuple[int, str, str]:
    """(exit status, stdout, stderr) of ``import_config - --dry-run``."""
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps(doc)))
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("import_config", "-", "--dry-run", stdout=out, stderr=err)
        status = 0
    except SystemExit as exit_:
        status = exit_.code
    except CommandError:
        status = 1
    return status, out.getvalue(), err.getvalue()


def test_a_dry_run_on_an_empty_system_lists_every_object_to_create_and_changes_nothing(monkeypatch):
    status, out, _ = dry_run(document(), monkeypatch)
    assert status == 2
    lines = out.splitlines()
    assert '+ operating_hours[0] "Business hours": create' in lines
    assert '+ agents[0] "alice": create' in lines
    assert '+ queues[0] "Support": create' in lines
    assert '+ chat_widgets[0] "shop-support": create' in lines
    assert '    operating hours.timezone: "Europe/Moscow"' in lines
    assert '    queue.members: + "Alice Smith (alice)"' in lines
    assert "    user.password: ******" in lines
    assert lines[-1] == "Plan: 6 to create, 0 to change, 0 unchanged."
    assert "alice-secret-1" not in out and "pbkdf2" not in out and "md5$" not in out
    assert export_configuration()["agents"] == [] and not AgentProfile.objects.exists()
    assert not ConfigurationImport.objects.exists()


def test_after_the_import_a_dry_run_of_the_same_document_finds_nothing_to_do(monkeypatch):
    import_configuration(document())
    status, out, _ = dry_run(document(), monkeypatch)
    assert status == 0
    assert '= workstreams[0] "Persistent support": unchanged' in out.splitlines()
    assert out.splitlines()[-1] == "Plan: 0 to create, 0 to change, 6 unchanged."


def test_a_changed_field_is_shown_with_its_old_and_new_value_and_a_secret_masked(monkeypatch):
    import_configuration(document())
    before = export_configuration()
    doc = document()
    doc["workstreams"][0]["capacity_units"] = 70
    doc["agents"][0]["password"] = "a-new-secret-2"
    doc["queues"][0]["members"] = []
    status, out, _ = dry_run(doc, monkeypatch)
    assert status == 2
    lines = out.splitlines()
    index = lines.index('~ workstreams[0] "Persistent support": change')
    assert lines[index + 1] == "    workstream.capacity_units: 50 -> 70"
    assert '~ agents[0] "alice": change' in lines and "    user.password: ****** -> ******" in lines
    assert '    queue.members: - "Alice Smith (alice)"' in lines
    assert '= chat_widgets[0] "shop-support": unchanged' in lines
    assert lines[-1] == "Plan: 0 to create, 3 to change, 3 unchanged."
    assert "a-new-secret-2" not in out
    assert export_configuration() == before
    assert AgentProfile.objects.get().user.check_password("alice-secret-1")


def test_a_webhook_secret_is_masked_in_the_plan():
    doc = document()
    doc["webhooks"] = [{"name": "CRM", "url": "https://crm.example.com/hook", "secret": "whsec-do-not-print"}]
    plan = plan_configuration(doc)
    text = "\n".join(plan.lines())
    assert '+ webhooks[0] "CRM": create' in text
    assert "whsec-do-not-print" not in text and "secret: ******" in text


def test_a_refused_document_exits_1_with_its_problems_and_no_plan(monkeypatch):
    doc = document()
    doc["workstreams"][0]["same_agent"] = False
    status, out, err = dry_run(doc, monkeypatch)
    assert status == 1
    assert out == ""
    assert "workstreams[0].same_agent:" in err


def test_the_exit_status_reaches_the_shell(tmp_path):
    """CI reads the status of the real command: 2 while changes are pending."""
    path = tmp_path / "parley.json"
    path.write_text(json.dumps(document()))
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.test_settings", "DATABASE_URL": f"sqlite:///{tmp_path}/db"}
    env.pop("REDIS_URL", None)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True, timeout=120)
    planned = subprocess.run(
        [sys.executable, "manage.py", "import_config", str(path), "--dry-run"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert planned.returncode == 2, planned.stderr
    assert planned.stdout.splitlines()[-1] == "Plan: 6 to create, 0 to change, 0 unchanged."

"""A configuration document cannot take over accounts: staff passwords need --allow-staff, passwords
pass the validators, and every applied import leaves an audit row."""

from __future__ import annotations

import io
import sys

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError

from admin_center.config_io import ConfigError, import_configuration
from admin_center.models import ConfigurationImport

pytestmark = pytest.mark.django_db


def agents_document(username: str, password: str) -> dict:
    return {"version": 1, "agents": [{"username": username, "password": password, "name": "X", "capacity": 100}]}


@pytest.fixture
def ada():
    return get_user_model().objects.create_superuser("ada", password="ada-original-pw-7")


def test_import_refuses_to_change_a_superusers_password(ada):
    with pytest.raises(ConfigError) as refused:
        import_configuration(agents_document("ada", "taken-over-pw-7"))

    assert refused.value.problems == [
        "agents[0].password: ada is a staff account; its password is changed only with --allow-staff."
    ]
    ada.refresh_from_db()
    assert ada.check_password("ada-original-pw-7")
    assert not ConfigurationImport.objects.exists()


def test_import_refuses_to_change_a_staff_members_password():
    get_user_model().objects.create_user("sam", password="sam-original-pw-7", is_staff=True)

    with pytest.raises(ConfigError):
        import_configuration(agents_document("sam", "taken-over-pw-7"))

    assert get_user_model().objects.get(username="sam").check_password("sam-original-pw-7")


def test_allow_staff_lets_the_import_change_a_staff_password(ada):
    import_configuration(agents_document("ada", "a-chosen-pw-77"), allow_staff=True)

    ada.refresh_from_db()
    assert ada.check_password("a-chosen-pw-77")


def test_import_runs_the_password_validators():
    with pytest.raises(ConfigError) as refused:
        import_configuration(agents_document("zoe", "123"))

    assert any(problem.startswith("agents[0].password: ") for problem in refused.value.problems)
    assert not get_user_model().objects.filter(username="zoe").exists()


def test_every_applied_import_is_audited_with_who_and_counts():
    out = io.StringIO()
    stdin, sys.stdin = sys.stdin, io.StringIO('{"version": 1, "agents": [{"username": "zoe", "name": "Zoe"}]}')
    try:
        call_command("import_config", "-", stdout=out)
    finally:
        sys.stdin = stdin

    audit = ConfigurationImport.objects.get()
    assert audit.imported_by
    assert audit.source == "import_config -"
    assert audit.summary["agents"] == {"created": 1, "updated": 0, "unchanged": 0}


def test_the_command_refuses_a_staff_password_without_the_flag(ada):
    stdin, sys.stdin = (
        sys.stdin,
        io.StringIO('{"version": 1, "agents": [{"username": "ada", "password": "taken-over-pw-7"}]}'),
    )
    try:
        with pytest.raises(CommandError):
            call_command("import_config", "-", stdout=io.StringIO(), stderr=io.StringIO())
    finally:
        sys.stdin = stdin
    ada.refresh_from_db()
    assert ada.check_password("ada-original-pw-7")

"""``manage.py check --deploy`` fails while a development switch is on."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError


@pytest.mark.parametrize(
    ("switch", "code"), [("PARLEY_DEMO", "parley.E001"), ("PARLEY_BENCHMARK_ROUTES", "parley.E002")]
)
def test_deploy_check_fails_with_a_development_switch_on(settings, switch, code):
    setattr(settings, switch, True)

    with pytest.raises(SystemCheckError, match=code):
        call_command("check", "--deploy", "--tag", "security")


def test_deploy_check_has_no_parley_error_with_the_switches_off(settings, capsys):
    settings.PARLEY_DEMO = False
    settings.PARLEY_BENCHMARK_ROUTES = False

    try:
        call_command("check", "--deploy", "--tag", "security", "--fail-level", "ERROR")
    except SystemCheckError as error:  # Django's own deploy warnings are not errors
        assert "parley." not in str(error)

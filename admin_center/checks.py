"""System checks for production (``manage.py check --deploy``): development switches must be off."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, Tags, register


@register(Tags.security, deploy=True)
def development_switches_off(app_configs, **kwargs) -> list[Error]:
    errors = []
    if settings.PARLEY_DEMO:
        errors.append(
            Error(
                "PARLEY_DEMO is on: /demo/ serves a shop that signs customer tokens for anyone.",
                hint="Unset PARLEY_DEMO (it is for `make run` only).",
                id="parley.E001",
            )
        )
    if settings.PARLEY_BENCHMARK_ROUTES:
        errors.append(
            Error(
                "PARLEY_BENCHMARK_ROUTES is on: the benchmark's echo and relay routes are served.",
                hint="Unset PARLEY_BENCHMARK_ROUTES (it is for `manage.py chat_benchmark` only).",
                id="parley.E002",
            )
        )
    return errors

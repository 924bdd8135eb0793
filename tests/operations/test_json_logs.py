"""``LOG_FORMAT=json``: log records as JSON lines (docs/operations.md "Logs"); plain lines otherwise."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from bench.server import ROOT

CODE = """
import logging
log = logging.getLogger("parley.example")
log.warning("queue %s is long", "Sales", extra={"queue_id": 7})
try:
    1 / 0
except ZeroDivisionError:
    log.exception("sweep failed")
"""


def run_with(*command: str, **env) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "LOG_FORMAT"))}
    environment.update(DJANGO_SETTINGS_MODULE="config.test_settings", **env)
    return subprocess.run(
        [sys.executable, "manage.py", *(command or ("shell", "-c", CODE))],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_with_log_format_json_every_record_is_one_json_line():
    done = run_with(LOG_FORMAT="json")
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stderr.splitlines()]
    assert len(lines) == 2
    first, second = lines
    assert first["level"] == "WARNING" and first["logger"] == "parley.example"
    assert first["message"] == "queue Sales is long" and first["queue_id"] == 7
    assert first["time"].endswith("+00:00") and isinstance(first["process"], int)
    assert second["message"] == "sweep failed" and second["level"] == "ERROR"
    assert "ZeroDivisionError" in second["exception"] and "Traceback" in second["exception"]


def test_without_it_the_lines_stay_plain_text():
    done = run_with()
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines()[0] == "queue Sales is long"
    assert "Traceback" in done.stderr


def test_an_unknown_log_format_is_refused_at_start():
    done = run_with("check", LOG_FORMAT="xml")
    assert done.returncode != 0 and "LOG_FORMAT must be text or json." in done.stderr

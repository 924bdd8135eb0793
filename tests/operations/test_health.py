"""``/healthz`` and ``/readyz`` for load balancers (docs/operations.md "Health"), in-process and against real
daphne processes whose database or channel layer is unreachable."""

from __future__ import annotations

import json
import os
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.test import Client

from bench.server import Daphne, free_port


@pytest.mark.django_db
def test_liveness_and_readiness_answer_when_everything_is_up():
    client = Client()
    assert client.get("/healthz").content == b"ok"
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "checks": {"database": "ok", "channel_layer": "ok"}}


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=15) as response:  # noqa: S310
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def server_env(**overrides) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "DJANGO_SETTINGS"))}
    env.pop("REDIS_URL", None)
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DEBUG="false",
        SECRET_KEY="health-test-secret-key-not-for-production",
        ALLOWED_HOSTS="127.0.0.1",
        PARLEY_TIMERS_ENABLED="false",
    )
    env.update(overrides)
    return env


def test_readiness_fails_with_a_reason_while_liveness_holds_when_the_database_is_unreachable():
    nobody = f"postgres://parley@127.0.0.1:{free_port()}/parley"  # a port nothing listens on
    with tempfile.TemporaryDirectory() as directory:
        daphne = Daphne(server_env(DATABASE_URL=nobody), Path(directory))
        try:
            daphne.start()
            assert get(daphne.url + "/healthz") == (200, b"ok")
            status, body = get(daphne.url + "/readyz")
        finally:
            daphne.stop()
    assert status == 503
    answer = json.loads(body)
    assert answer["status"] == "unavailable"
    assert answer["checks"] == {"database": "failed", "channel_layer": "ok"}
    assert answer["reason"].startswith("database: OperationalError")


def test_readiness_fails_when_the_channel_layer_is_unreachable():
    with tempfile.TemporaryDirectory() as directory:
        env = server_env(
            DATABASE_URL=f"sqlite:///{directory}/db.sqlite3", REDIS_URL=f"redis://127.0.0.1:{free_port()}/0"
        )
        daphne = Daphne(env, Path(directory))
        try:
            daphne.start()
            status, body = get(daphne.url + "/readyz")
        finally:
            daphne.stop()
    assert status == 503
    answer = json.loads(body)
    assert answer["checks"] == {"database": "ok", "channel_layer": "failed"}
    assert answer["reason"].startswith("channel_layer: ")

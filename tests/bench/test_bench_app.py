"""The ``bench`` app is there only with the benchmark routes on (and for its own commands), and the test
suite starts its servers and signs in through the benchmark's launcher and sign-in helper."""

from __future__ import annotations

import asyncio
import json

import pytest
from django.conf import settings
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from bench.server import Daphne
from tests.support.http import sign_in
from tests.support.server import ParleyServer


def test_the_benchmark_app_is_not_installed_in_a_normal_process():
    assert settings.PARLEY_BENCHMARK_ROUTES is False
    assert "bench" not in settings.INSTALLED_APPS


def test_the_test_server_runs_on_the_benchmarks_daphne_launcher_and_sign_in_helper():
    import bench.signin

    assert sign_in is bench.signin.sign_in
    with ParleyServer() as server:
        assert isinstance(server.daphne, Daphne) and server.daphne.running
        server.manage("shell", "-c", _MAKE_AGENT)
        cookie = sign_in(server.url, "bench-test-agent", "a-long-password-1")
        assert "sessionid=" in cookie
        with pytest.raises(RuntimeError, match="failed"):
            sign_in(server.url, "bench-test-agent", "wrong")
        # without PARLEY_BENCHMARK_ROUTES the echo route does not exist
        with pytest.raises(InvalidStatus):
            asyncio.run(_echo(server.ws_url))


def test_the_benchmark_routes_are_served_when_the_setting_is_on_to_loopback_clients_with_the_token():
    env = {"PARLEY_BENCHMARK_ROUTES": "true", "PARLEY_BENCHMARK_TOKEN": "bench-secret-1"}
    with ParleyServer(env=env) as server:
        assert asyncio.run(_echo(server.ws_url, token="bench-secret-1")) == "ping"
        for wrong in (None, "bench-secret-2"):
            with pytest.raises(InvalidStatus) as refused:
                asyncio.run(_echo(server.ws_url, token=wrong))
            assert refused.value.response.status_code == 403
        stats = json.loads(asyncio.run(_echo(server.ws_url, token="bench-secret-1", route="stats")))
        assert "pid" not in stats and len(stats["process"]) == 12


def test_the_benchmark_routes_answer_nobody_without_a_token_and_no_remote_client(settings):
    from bench.consumers import admitted

    bearer = [(b"authorization", b"Bearer bench-secret-1")]
    settings.PARLEY_BENCHMARK_TOKEN = "bench-secret-1"
    assert admitted({"client": ("127.0.0.1", 5000), "headers": bearer})
    assert admitted({"client": ("::1", 5000), "headers": bearer})
    assert not admitted({"client": ("10.0.0.5", 5000), "headers": bearer})
    assert not admitted({"client": ("127.0.0.1", 5000), "headers": []})
    settings.PARLEY_BENCHMARK_TOKEN = ""
    assert not admitted({"client": ("127.0.0.1", 5000), "headers": [(b"authorization", b"Bearer ")]})


_MAKE_AGENT = (
    "from django.contrib.auth.models import User;"
    "User.objects.create_user('bench-test-agent', password='a-long-password-1')"
)


async def _echo(ws_url: str, *, token: str | None = None, route: str = "echo") -> str:
    headers = {"Authorization": f"Bearer {token}"} if token else None
    async with connect(f"{ws_url}/ws/bench/{route}/", additional_headers=headers, open_timeout=10) as ws:
        await ws.send("ping")
        return await asyncio.wait_for(ws.recv(), 10)

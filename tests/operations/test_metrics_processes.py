"""Several daphne processes with ``PROMETHEUS_MULTIPROC_DIR``: one scrape adds up every process's figures."""

from __future__ import annotations

import json

import pytest

from tests.support import metrics
from tests.support.http import WsClient
from tests.support.server import ParleyServer
from tests.support.tokens import customer_token, make_key_pair

pytestmark = [pytest.mark.asyncio, pytest.mark.slow]


def open_sockets(server: ParleyServer) -> float:
    return metrics.sample(server.url, "parley_open_sockets", {"kind": "customer"})


async def widget_socket(server: ParleyServer, widget: str, sub: str) -> WsClient:
    client = await WsClient.open(f"{server.ws_url}/ws/widget/{widget}/")
    await client.send({"type": "hello", "token": customer_token(make_key_pair()[0], sub, name=sub)})
    await client.expect("welcome")
    return client


async def test_a_scrape_of_one_process_counts_the_sockets_of_all_and_forgets_a_stopped_one(tmp_path):
    multiproc = tmp_path / "prometheus"
    multiproc.mkdir()
    env = {"PROMETHEUS_MULTIPROC_DIR": str(multiproc)}
    with ParleyServer(env=env) as first:
        code = f"""
import json
from tests import factories
widget = factories.make_setup(persistent=True, auth=factories.make_auth_setting({make_key_pair()[1]!r}))
print(json.dumps(widget.public_id))
"""
        widget = json.loads(first.shell(code).strip().splitlines()[-1])
        second = ParleyServer(env=env, share_with=first).start()
        try:
            one = await widget_socket(first, widget, "dana")
            await widget_socket(second, widget, "eli")
            await widget_socket(second, widget, "fay")
            assert open_sockets(first) == 3
            assert open_sockets(second) == 3
        finally:
            second.stop()  # a clean exit: its live gauges leave the sum
        assert open_sockets(first) == 1
        await one.close()

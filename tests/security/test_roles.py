"""Each role reaches exactly what docs/security.md's roles matrix says (tests/security/roles_matrix.py)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from channels.db import database_sync_to_async
from django.contrib.auth import get_user_model

from tests import factories
from tests.security.roles_matrix import MATRIX, ROLES, markdown_table
from tests.supervisors.support import make_supervisor
from tests.support import sockets

pytestmark = pytest.mark.django_db(transaction=True)

PAGES = {where.removeprefix("GET "): answers for (_what, where), answers in MATRIX.items() if where.startswith("GET")}
SOCKETS = {where: answers for (_what, where), answers in MATRIX.items() if where.startswith("/ws/")}


def user_of(role: str):
    if role == "agent":
        return factories.make_agent("alice").user
    if role == "supervisor":
        return make_supervisor("sam")
    return get_user_model().objects.create_superuser("ada", password="pw-ada")


def expected_status(answer: str) -> int:
    return {"yes": 200, "403": 403, "sign-in page": 302}[answer]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("url", list(PAGES))
def test_each_role_opens_exactly_the_pages_of_the_matrix(client, role, url):
    answer = PAGES[url][ROLES.index(role)]
    client.force_login(user_of(role))
    path, _, query = url.partition("?")
    params = dict(part.split("=") for part in query.split("&") if part)
    if "csv" in params.get("format", ""):
        params["table"] = "by_day"
    if path.endswith("/api/conversations/"):
        params["queue"] = str(factories.make_setup().workstream.queue_id)
    response = client.get(path, params)
    assert response.status_code == expected_status(answer), (role, url, response.status_code)
    if answer == "sign-in page":
        assert "/admin/login/" in response["Location"]


@pytest.mark.asyncio
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("path", list(SOCKETS))
async def test_each_role_opens_exactly_the_sockets_of_the_matrix(role, path):
    user = await database_sync_to_async(user_of)(role)
    connected, client = await sockets.connect(path, user=user)
    assert connected == (SOCKETS[path][ROLES.index(role)] == "yes"), (role, path)
    if connected:
        assert (await client.expect("welcome"))["type"] == "welcome"
        await client.close()


def test_anonymous_users_reach_nothing_of_it(client):
    for url in PAGES:
        response = client.get(url.partition("?")[0])
        assert response.status_code in (302, 401), url


def test_docs_show_exactly_this_matrix():
    docs = (Path(__file__).resolve().parents[2] / "docs" / "security.md").read_text()
    table = re.search(r"<!-- roles-matrix -->\n(.*?)\n<!-- /roles-matrix -->", docs, re.S)
    assert table, "docs/security.md lacks the roles matrix block"
    assert table.group(1).strip() == markdown_table()

"""The server's own address leads agents to their workspace."""

from __future__ import annotations

import pytest


@pytest.mark.django_db
def test_the_root_address_leads_to_the_workspace_and_its_sign_in(client):
    response = client.get("/")
    assert response.status_code == 302 and response["Location"] == "/workspace/"
    assert client.get("/", follow=True).redirect_chain[-1][0].startswith("/accounts/login/")

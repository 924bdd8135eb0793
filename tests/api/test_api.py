"""The REST API, one endpoint and one permission rule per test (docs/api.md)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from django.core.management import call_command
from django.utils import timezone
from rest_framework.authtoken.models import Token

from conversations.actions import lifecycle
from conversations.identity import visitor_token
from conversations.models import Conversation, Customer, Message, Note, State
from tests.api.conftest import client_for, write
from tests.support import sockets

pytestmark = pytest.mark.django_db(transaction=True)


def ids(response) -> list[str]:
    return [item["id"] for item in response.json()["results"]]


# --- keys ---------------------------------------------------------------------------------------------


def test_a_request_without_a_key_is_refused(world):
    response = client_for().get("/api/v1/conversations/")
    assert response.status_code == 401
    assert response.json()["code"] == "auth_required"
    assert response["WWW-Authenticate"] == "Token"


def test_a_revoked_key_is_refused(world):
    client = client_for(world.alice.user)
    assert client.get("/api/v1/conversations/").status_code == 200
    Token.objects.filter(user=world.alice.user).delete()
    response = client.get("/api/v1/conversations/")
    assert response.status_code == 401
    assert response.json()["code"] == "auth_failed"


def test_a_key_of_a_user_who_is_no_agent_nor_staff_is_refused(world):
    response = client_for(world.mallory).get("/api/v1/conversations/")
    assert response.status_code == 403
    assert response.json()["code"] == "not_allowed"


def test_a_key_of_a_deactivated_user_is_refused(world):
    client = client_for(world.alice.user)
    world.alice.user.is_active = False
    world.alice.user.save()
    assert client.get("/api/v1/conversations/").status_code == 401


def test_create_api_token_prints_a_new_key_and_revokes_the_old(world, capsys):
    call_command("create_api_token", "alice")
    first = capsys.readouterr().out.strip()
    assert client_for().get("/api/v1/conversations/", HTTP_AUTHORIZATION=f"Token {first}").status_code == 200
    call_command("create_api_token", "alice")
    second = capsys.readouterr().out.strip()
    assert second != first
    assert client_for().get("/api/v1/conversations/", HTTP_AUTHORIZATION=f"Token {first}").status_code == 401
    assert client_for().get("/api/v1/conversations/", HTTP_AUTHORIZATION=f"Token {second}").status_code == 200


def test_api_keys_are_made_in_the_admin_center(world, client):
    client.force_login(world.ada)
    world.ada.is_superuser = True
    world.ada.save()
    response = client.post("/admin/authtoken/tokenproxy/add/", {"user": world.alice.user.pk})
    assert response.status_code == 302
    key = Token.objects.get(user=world.alice.user).key
    assert client_for().get("/api/v1/conversations/", HTTP_AUTHORIZATION=f"Token {key}").status_code == 200


# --- conversations ------------------------------------------------------------------------------------


def test_an_agent_lists_only_the_conversations_of_their_queues_and_their_own(world):
    assert ids(client_for(world.alice.user).get("/api/v1/conversations/")) == [str(world.carols.id)]
    assert ids(client_for(world.bob.user).get("/api/v1/conversations/")) == [str(world.daves.id)]


def test_an_agent_sees_a_conversation_assigned_to_them_in_another_queue(world):
    world.sales.workstream.queue.members.remove(world.bob)
    Conversation.objects.filter(pk=world.daves.pk).update(agent=world.bob)
    assert ids(client_for(world.bob.user).get("/api/v1/conversations/")) == [str(world.daves.id)]


def test_staff_and_supervisors_list_every_conversation(world):
    everything = {str(world.carols.id), str(world.daves.id)}
    assert set(ids(client_for(world.ada).get("/api/v1/conversations/"))) == everything
    assert set(ids(client_for(world.sam).get("/api/v1/conversations/"))) == everything


def test_the_list_holds_agent_summaries(world):
    (item,) = client_for(world.alice.user).get("/api/v1/conversations/").json()["results"]
    assert item["state"] == "active"
    assert item["agent"] == {"id": str(world.alice.id), "name": world.alice.display_name}
    assert item["customer"]["name"] == "Carol"
    assert item["queue"] == {"id": str(world.support.workstream.queue_id), "name": world.support.workstream.queue.name}
    assert item["workstream"]["name"] == world.support.workstream.name
    assert {"context", "pre_chat", "last_seq", "created_at", "updated_at", "closed_at"} <= set(item)


def test_the_list_filters_by_state_queue_agent_customer_and_update_time(world):
    client = client_for(world.ada)
    lifecycle.end(world.bob, world.daves.id)
    carol, dave = str(world.carols.id), str(world.daves.id)
    assert ids(client.get("/api/v1/conversations/", {"state": "active"})) == [carol]
    assert set(ids(client.get("/api/v1/conversations/", {"state": "active,closed"}))) == {carol, dave}
    assert ids(client.get("/api/v1/conversations/", {"queue": world.sales.workstream.queue_id})) == [dave]
    assert ids(client.get("/api/v1/conversations/", {"agent": world.alice.id})) == [carol]
    assert ids(client.get("/api/v1/conversations/", {"customer": str(world.carols.customer_id)})) == [carol]
    Conversation.objects.filter(pk=world.carols.pk).update(updated_at=timezone.now() - timedelta(days=2))
    since = (timezone.now() - timedelta(days=1)).isoformat()
    assert ids(client.get("/api/v1/conversations/", {"updated_after": since})) == [dave]


@pytest.mark.parametrize(
    ("name", "value"),
    [("state", "sleeping"), ("queue", "support"), ("agent", "-1"), ("customer", "carol"), ("updated_after", "x")],
)
def test_a_bad_filter_is_a_bad_request(world, name, value):
    response = client_for(world.ada).get("/api/v1/conversations/", {name: value})
    assert response.status_code == 400
    assert response.json()["code"] == "bad_request"
    assert name in response.json()["fields"]


def test_the_list_is_paginated_by_cursor(world):
    for n in range(3):
        write(world.support, f"Customer {n}")
    client = client_for(world.ada)
    seen = []
    page = client.get("/api/v1/conversations/", {"limit": 2}).json()
    while True:
        assert len(page["results"]) <= 2
        seen += [item["id"] for item in page["results"]]
        if not page["next"]:
            break
        page = client.get(page["next"]).json()
    assert len(seen) == len(set(seen)) == 5
    assert seen == [str(c.id) for c in Conversation.objects.order_by("-created_at", "-id")]


def test_the_detail_holds_the_messages_and_the_internal_notes(world):
    Note.objects.create(
        conversation=world.carols, after_seq=1, author=world.alice, author_name="Alice", text="VIP", client_id="n1"
    )
    response = client_for(world.alice.user).get(f"/api/v1/conversations/{world.carols.id}/")
    assert response.status_code == 200
    body = response.json()
    assert [(m["seq"], m["sender"]["role"], m["text"]) for m in body["messages"]] == [(1, "customer", "Hello")]
    assert body["messages_has_more"] is False
    assert [(n["text"], n["after_seq"], n["author"]["name"]) for n in body["notes"]] == [("VIP", 1, "Alice")]


def test_the_detail_of_a_conversation_beyond_the_agents_queues_is_refused(world):
    response = client_for(world.alice.user).get(f"/api/v1/conversations/{world.daves.id}/")
    assert response.status_code == 403
    assert response.json()["code"] == "not_allowed"


def test_the_detail_of_an_unknown_conversation_is_not_found(world):
    for wrong in (uuid.uuid4(), "not-an-id"):
        response = client_for(world.ada).get(f"/api/v1/conversations/{wrong}/")
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"


def test_every_message_is_listed_by_seq_with_a_cursor(world):
    for n in range(4):
        lifecycle_send(world, f"reply {n}")
    client = client_for(world.alice.user)
    page = client.get(f"/api/v1/conversations/{world.carols.id}/messages/", {"limit": 3}).json()
    seqs = [m["seq"] for m in page["results"]]
    seqs += [m["seq"] for m in client.get(page["next"]).json()["results"]]
    assert seqs == [1, 2, 3, 4, 5]


def lifecycle_send(world, text: str):
    from conversations.actions import messages

    return messages.agent_message(world.alice, world.carols.id, client_id=uuid.uuid4().hex, text=text)


# --- posting an agent's message -----------------------------------------------------------------------


def test_an_agent_posts_a_message_through_the_socket_action(world):
    client = client_for(world.alice.user)
    url = f"/api/v1/conversations/{world.carols.id}/messages/"
    response = client.post(url, {"client_id": "api-1", "text": "  Hello from the CRM  "}, format="json")
    assert response.status_code == 201
    message = response.json()
    assert (message["seq"], message["text"], message["sender"]["role"]) == (2, "Hello from the CRM", "agent")
    assert message["client_id"] == "api-1"
    again = client.post(url, {"client_id": "api-1", "text": "Hello from the CRM"}, format="json")
    assert again.status_code == 200
    assert again.json()["id"] == message["id"]
    assert Message.objects.filter(conversation=world.carols).count() == 2


def test_posting_to_a_conversation_that_is_not_the_agents_is_refused_and_stores_nothing(world):
    world.sales.workstream.queue.members.add(world.alice)
    response = client_for(world.alice.user).post(
        f"/api/v1/conversations/{world.daves.id}/messages/", {"client_id": "x", "text": "hi"}, format="json"
    )
    assert response.status_code == 403
    assert response.json()["code"] == "not_allowed"
    assert Message.objects.filter(conversation=world.daves).count() == 1


def test_posting_to_a_conversation_that_is_not_active_is_refused(world):
    lifecycle.end(world.alice, world.carols.id)
    response = client_for(world.alice.user).post(
        f"/api/v1/conversations/{world.carols.id}/messages/", {"client_id": "x", "text": "hi"}, format="json"
    )
    assert response.status_code == 403
    assert response.json()["code"] == "not_allowed"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"client_id": "x", "text": "   "}, "bad_request"),
        ({"client_id": "x"}, "bad_request"),
        ({"client_id": 7, "text": "hi"}, "bad_request"),
        ({"client_id": "x" * 65, "text": "hi"}, "bad_request"),
        ({"client_id": "x", "text": "a" * 4001}, "too_large"),
        (["not", "an", "object"], "bad_request"),
    ],
)
def test_a_bad_message_gets_the_sockets_error_and_stores_nothing(world, body, code):
    response = client_for(world.alice.user).post(
        f"/api/v1/conversations/{world.carols.id}/messages/", body, format="json"
    )
    assert response.status_code == 400
    assert response.json()["code"] == code
    assert Message.objects.filter(conversation=world.carols).count() == 1


def test_staff_without_an_agent_profile_cannot_post_messages(world):
    response = client_for(world.ada).post(
        f"/api/v1/conversations/{world.carols.id}/messages/", {"client_id": "x", "text": "hi"}, format="json"
    )
    assert response.status_code == 403
    assert response.json()["code"] == "not_allowed"


# --- customers ----------------------------------------------------------------------------------------


def test_the_customer_detail_holds_their_conversations(world):
    lifecycle.end(world.alice, world.carols.id)
    from conversations.actions import messages

    messages.customer_message(world.carols.customer, world.support, client_id="again", text="Me again")
    response = client_for(world.alice.user).get(f"/api/v1/customers/{world.carols.customer_id}/")
    assert response.status_code == 200
    body = response.json()
    assert body["name"] == "Carol"
    assert body["authenticated"] is False
    assert [c["state"] for c in body["conversations"]] == ["active", "closed"]
    assert body["conversations_has_more"] is False


def test_a_customer_beyond_the_agents_queues_is_refused(world):
    response = client_for(world.alice.user).get(f"/api/v1/customers/{world.daves.customer_id}/")
    assert response.status_code == 403
    assert response.json()["code"] == "not_allowed"
    assert client_for(world.alice.user).get(f"/api/v1/customers/{uuid.uuid4()}/").status_code == 404


# --- reports ------------------------------------------------------------------------------------------


def test_reports_are_for_staff_and_supervisors(world):
    today = timezone.localdate().isoformat()
    params = {"start": today, "end": today}
    assert client_for(world.alice.user).get("/api/v1/reports/", params).json()["code"] == "not_allowed"
    for user in (world.ada, world.sam):
        response = client_for(user).get("/api/v1/reports/", params)
        assert response.status_code == 200
        body = response.json()
        assert body["start"] == body["end"] == today
        assert sum(day["created"] for day in body["by_day"]) == 2
        assert {"by_queue", "times", "waits", "ratings", "agents"} <= set(body)


def test_reports_refuse_a_reversed_range(world):
    response = client_for(world.ada).get("/api/v1/reports/", {"start": "2026-11-02", "end": "2026-11-01"})
    assert response.status_code == 400
    assert response.json()["code"] == "bad_request"


# --- rate limit, schema, browsable API -----------------------------------------------------------------


def test_requests_over_the_rate_limit_are_refused(world, settings):
    settings.PARLEY_API_RATE = "2/minute"
    client = client_for(world.alice.user)
    assert [client.get("/api/v1/conversations/").status_code for _ in range(2)] == [200, 200]
    response = client.get("/api/v1/conversations/")
    assert response.status_code == 429
    assert response.json()["code"] == "rate_limited"
    assert int(response["Retry-After"]) > 0


def test_requests_without_a_key_are_rate_limited_per_address(world, settings):
    settings.PARLEY_API_ANON_RATE = "1/minute"
    client = client_for()
    assert client.get("/api/v1/conversations/").status_code == 401
    assert client.get("/api/v1/conversations/").json()["code"] == "rate_limited"


def test_the_openapi_schema_describes_the_api(world):
    response = client_for().get("/api/v1/schema/", {"format": "json"})
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert {"/api/v1/conversations/", "/api/v1/conversations/{conversation_id}/messages/",
            "/api/v1/customers/{customer_id}/", "/api/v1/reports/"} <= set(schema["paths"])  # fmt: skip
    assert "tokenAuth" in schema["components"]["securitySchemes"]


def test_signed_in_staff_get_the_browsable_api(world, client):
    client.force_login(world.ada)
    response = client.get("/api/v1/conversations/", HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")


def test_an_agents_session_is_not_an_api_key(world, client):
    client.force_login(world.alice.user)
    response = client.get("/api/v1/conversations/", HTTP_ACCEPT="text/html")
    assert response.status_code == 401
    assert response["Content-Type"].startswith("application/json")


def test_the_state_filter_values_match_the_states(world):
    assert set(State.values) == {"open", "active", "waiting", "wrap_up", "closed"}


async def test_a_message_posted_through_the_api_reaches_the_customers_widget_live(world):

    visitor = await database_sync_to_async(lambda: visitor_token(Customer.objects.get(pk=world.carols.customer_id)))()
    widget_socket, welcome = await sockets.customer(world.support, visitor=visitor)
    assert welcome["conversation"]["id"] == str(world.carols.id)
    client = await database_sync_to_async(client_for)(world.alice.user)
    response = await database_sync_to_async(client.post)(
        f"/api/v1/conversations/{world.carols.id}/messages/", {"client_id": "api-live", "text": "Hi!"}, format="json"
    )
    assert response.status_code == 201
    frame = await widget_socket.expect("message")
    assert frame["message"]["text"] == "Hi!" and frame["message"]["client_id"] == "api-live"
    await widget_socket.communicator.disconnect()

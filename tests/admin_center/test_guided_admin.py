"""The guided admin center: the set-up checklist, breadcrumbs named like the dashboard groups, one sign-in
page, the agent's profile first, the token contract and the "Test this widget" page with its safe signer."""

from __future__ import annotations

import jwt
import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from admin_center.demo_keys import ensure_demo_keys
from admin_center.models import ChatAuthenticationKey, ChatWidget, Workstream
from conversations.models import Conversation
from tests import factories
from tests.support.tokens import make_key_pair

pytestmark = pytest.mark.django_db


@pytest.fixture
def ada(client):
    user = get_user_model().objects.create_superuser("ada", "ada@example.com", "ada-password-1")
    client.force_login(user)
    return user


@pytest.fixture
def test_keys(settings, tmp_path):
    settings.PARLEY_DEMO_KEY_DIR = tmp_path / "keys"
    return ensure_demo_keys()


def checklist(client) -> list[tuple[str, bool]]:
    steps = client.get(reverse("admin:index")).context["checklist"]
    return [(str(step.title), step.done) for step in steps]


def test_the_checklist_follows_the_set_up_order_and_reads_the_database(client, ada):
    assert checklist(client) == [
        ("Authentication setting", False),
        ("Operating hours", False),
        ("Queue and agents", False),
        ("Workstream", False),
        ("Chat widget", False),
        ("Test it", False),
    ]
    widget = factories.make_setup(persistent=True, hours=factories.make_hours())
    assert [done for _title, done in checklist(client)] == [True, True, False, True, True, False]
    factories.make_agent(queues=[widget.workstream.queue])
    assert [done for _title, done in checklist(client)] == [True, True, True, True, True, False]
    _start_conversation(widget)
    assert all(done for _title, done in checklist(client))


def _start_conversation(widget: ChatWidget) -> None:
    from conversations.actions import messages
    from conversations.models import Customer

    messages.customer_message(Customer.objects.create(name="Carla"), widget, client_id="c1", text="Hi")
    assert Conversation.objects.exists()


def test_each_step_links_to_where_it_is_done(client, ada):
    response = client.get(reverse("admin:index"))
    steps = response.context["checklist"]
    assert steps[0].url == reverse("admin:admin_center_chatauthenticationsetting_add")
    assert steps[3].url == reverse("admin:admin_center_workstream_add")
    widget = factories.make_setup()
    steps = client.get(reverse("admin:index")).context["checklist"]
    assert steps[3].url == reverse("admin:admin_center_workstream_changelist")
    assert steps[5].url == reverse("admin:admin_center_chatwidget_test", args=[widget.pk])
    assert steps[5].url in client.get(reverse("admin:index")).text


def test_breadcrumbs_name_the_dashboard_group_not_the_app(client, ada):
    widget = factories.make_setup()
    page = client.get(reverse("admin:routing_queue_change", args=[widget.workstream.queue.pk])).text
    assert "3. Queues and agents" in page and f"{reverse('admin:index')}#group-2" in page
    page = client.get(reverse("admin:admin_center_workstream_changelist")).text
    assert "4. Workstreams" in page and ">Routing<" not in page
    page = client.get(reverse("admin:auth_user_changelist")).text
    assert "3. Queues and agents" in page and "Authentication and Authorization" not in page


def test_the_admin_sign_in_is_the_workspace_sign_in(client):
    response = client.get("/admin/login/?next=/admin/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=%2Fadmin%2F"
    response = client.get("/admin/login/?next=https://evil.example.com/")
    assert response["Location"] == "/accounts/login/?next=%2Fadmin%2F"


def test_a_user_page_shows_the_agent_profile_before_the_account(client, ada):
    agent = factories.make_agent("alice", queues=[factories.make_setup().workstream.queue])
    page = client.get(reverse("admin:auth_user_change", args=[agent.user.pk])).text
    assert page.index("agent_profile-0-capacity") < page.index('name="username"')
    assert ">Queues" in page
    page = client.get(reverse("admin:routing_agentprofile_change", args=[agent.pk])).text
    assert page.index('name="capacity"') < page.index('name="user"')


def test_the_authentication_page_shows_the_token_contract_with_signing_examples(client, ada):
    setting = factories.make_auth_setting(issuer="https://shop.example.com")
    page = client.get(reverse("admin:admin_center_chatauthenticationsetting_change", args=[setting.pk])).text
    assert "The token your website signs" in page
    assert 'jwt.encode(claims, PRIVATE_KEY, algorithm="RS256")' in page
    assert "jwt.sign(" in page and '"iss": "https://shop.example.com"' in page


def test_the_test_page_embeds_any_widget_with_the_loader(client, ada):
    widget = factories.make_setup()
    response = client.get(reverse("admin:admin_center_chatwidget_test", args=[widget.pk]))
    assert response.status_code == 200
    assert f'data-parley-widget="{widget.public_id}"' in response.text
    assert "data-parley-token-function" not in response.text  # live chat: no token


def test_the_test_page_signs_only_for_a_setting_that_trusts_the_server_test_key(client, ada, test_keys):
    private_pem, public_pem = test_keys
    other = factories.make_setup(persistent=True)  # its website's key: Parley cannot sign
    response = client.get(reverse("admin:admin_center_chatwidget_test", args=[other.pk]))
    assert "data-parley-token-function" not in response.text
    assert public_pem.strip().splitlines()[1] in response.text  # the test PUBLIC key, to add for a test
    assert "PRIVATE KEY" not in response.text
    refused = client.post(reverse("admin:admin_center_chatwidget_test_token", args=[other.pk]))
    assert refused.status_code == 409

    ChatAuthenticationKey.objects.create(setting=other.authentication, kid="parley-test", public_key_pem=public_pem)
    response = client.get(reverse("admin:admin_center_chatwidget_test", args=[other.pk]))
    assert 'data-parley-token-function="parleyAdminTestToken"' in response.text
    token = client.post(reverse("admin:admin_center_chatwidget_test_token", args=[other.pk])).json()["token"]
    assert jwt.get_unverified_header(token)["kid"] == "parley-test"
    claims = jwt.decode(token, public_pem, algorithms=["RS256"])
    assert claims["sub"] == f"admin-test-{ada.pk}" and claims["exp"] - claims["iat"] <= 600


def test_the_test_token_needs_a_staff_user_and_a_post(client, test_keys):
    widget = factories.make_setup(persistent=True, auth=factories.make_auth_setting(test_keys[1]))
    url = reverse("admin:admin_center_chatwidget_test_token", args=[widget.pk])
    assert client.post(url).status_code == 302  # to the sign-in page
    clerk = get_user_model().objects.create_user("clerk", password="pw-clerk-1")
    client.force_login(clerk)
    assert client.post(url).status_code == 302
    client.force_login(get_user_model().objects.create_superuser("root", "r@example.com", "pw-root-1"))
    assert client.get(url).status_code == 405
    assert client.post(url).status_code == 200


def test_a_setting_without_the_test_key_is_never_signed_even_if_keys_exist(client, ada, test_keys):
    website_public = make_key_pair(seed=3)[1]
    widget = factories.make_setup(persistent=True, auth=factories.make_auth_setting(website_public))
    assert Workstream.objects.count() == 1
    assert client.post(reverse("admin:admin_center_chatwidget_test_token", args=[widget.pk])).status_code == 409

"""The admin center's integration pages and the browsable API in a real browser (docs/webhooks.md,
docs/api.md). Writes integrations-*.png (see SCREENSHOTS)."""

from __future__ import annotations

import pytest

from tests.browser.conftest import SCREENSHOTS
from tests.support.server import ParleyServer
from tests.webhooks.receiver import Receiver

pytestmark = pytest.mark.browser

ADA_PASSWORD = "ada-admin-pw-7"


@pytest.fixture(scope="module")
def server():
    with ParleyServer(env={"PARLEY_WEBHOOK_ALLOW_PRIVATE": "true"}) as srv:
        srv.shell(
            "from django.contrib.auth import get_user_model; from tests import factories; "
            f"get_user_model().objects.create_superuser('ada', 'ada@example.com', {ADA_PASSWORD!r}); "
            "w = factories.make_setup(); "
            "factories.make_agent('alice', presence='available', queues=[w.workstream.queue]); "
            "from conversations.actions import messages; from conversations.models import Customer; "
            "messages.customer_message(Customer.objects.create(name='Carol'), w, client_id='c1', text='Hello')"
        )
        yield srv


def sign_in(page, base_url: str) -> None:
    page.goto(f"{base_url}/accounts/login/?next=/admin/")
    page.fill("input[name=username]", "ada")
    page.fill("input[name=password]", ADA_PASSWORD)
    page.click("[type=submit]")
    page.wait_for_load_state()


def shot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"integrations-{name}.png"), full_page=True)


def test_an_admin_adds_an_endpoint_sends_a_test_event_and_reads_the_log(server, new_page):
    with Receiver() as receiver:
        page = new_page()
        sign_in(page, server.url)
        page.goto(f"{server.url}/admin/admin_center/webhookendpoint/add/")
        page.fill("input[name=name]", "CRM")
        page.fill("input[name=url]", receiver.url)
        page.check("input[name=events][value='message.created']")
        page.check("input[name=events][value='conversation.state_changed']")
        shot(page, "endpoint-form")
        page.click("input[name=_save]")
        page.wait_for_selector("text=CRM")
        page.check("input[name=_selected_action]")
        page.select_option("select[name=action]", "send_test_event")
        page.click("button[name=index]")
        page.wait_for_selector(".messagelist .success")
        assert "answered 200" in page.inner_text(".messagelist")
        shot(page, "endpoints")
        receiver.wait_for(1)

        page.goto(f"{server.url}/admin/webhooks/delivery/")
        page.wait_for_selector("text=webhook.test")
        shot(page, "delivery-log")
        page.click("table#result_list tbody tr th a")
        page.wait_for_selector('text="test": true')
        shot(page, "delivery")


def test_staff_browse_the_api_in_the_browser(server, new_page):
    page = new_page()
    sign_in(page, server.url)
    page.goto(f"{server.url}/api/v1/conversations/")
    page.wait_for_selector("text=Conversation List")
    assert "Carol" in page.inner_text("body")
    shot(page, "browsable-api")

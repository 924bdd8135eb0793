"""The admin center in a real browser: axe-core finds no violation on any admin page (the dashboard, the
changelist, add form and change form of every model, each app's page, the "Test this widget" page and the
sign-in page), the widget opens on the test page with a test token, and the docs' pictures
(admin-*.png, see SCREENSHOTS) are taken."""

from __future__ import annotations

import re

import pytest

from tests.browser.axe import assert_no_violations
from tests.browser.conftest import SCREENSHOTS, open_widget, wait_connected
from tests.support.server import ParleyServer

pytestmark = pytest.mark.browser

ADA = ("ada", "parley-demo-ada")  # admin_center/demo/demo-config.json


@pytest.fixture(scope="module")
def server():
    with ParleyServer() as srv:
        srv.manage("setup_demo", "--base-url", srv.url)
        # A conversation, a customer and an endpoint, so that every change form has a row to open.
        srv.shell(
            "from admin_center.models import ChatWidget, WebhookEndpoint; "
            "from conversations.actions import messages; from conversations.models import Customer; "
            "w = ChatWidget.objects.get(public_id='demo-live'); "
            "messages.customer_message(Customer.objects.create(name='Carol'), w, client_id='c1', text='Hello'); "
            "WebhookEndpoint.objects.create(name='CRM', url='https://crm.example.com/hooks', "
            "events=['message.created'])"
        )
        yield srv


@pytest.fixture(scope="module")
def admin_page(server, browser):
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-GB")
    context.set_default_timeout(15000)
    page = context.new_page()
    page.goto(f"{server.url}/admin/")
    assert "/accounts/login/" in page.url  # one sign-in page for the workspace and the admin center
    assert_no_violations(page, "the sign-in page")
    page.fill("input[name=username]", ADA[0])
    page.fill("input[name=password]", ADA[1])
    page.click("[type=submit]")
    page.wait_for_url(f"{server.url}/admin/")
    yield page
    context.close()


def shot(page, name: str, *, full_page: bool = False) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"admin-{name}.png"), full_page=full_page)


def admin_pages(page, base_url: str) -> list[str]:
    """Every page the dashboard leads to: changelists, add forms, each app's page, the first row's form."""
    page.goto(f"{base_url}/admin/")
    links = page.eval_on_selector_all("#content-main a[href^='/admin/']", "links => links.map(a => a.pathname)")
    pages: list[str] = []
    for link in dict.fromkeys(links):
        pages.append(link)
        if link.endswith("/add/") or not re.fullmatch(r"/admin/\w+/\w+/", link):
            continue
        app = link.split("/")[2]
        if f"/admin/{app}/" not in pages:
            pages.append(f"/admin/{app}/")
        page.goto(base_url + link)
        first = page.locator("#result_list tbody tr a[href^='/admin/']").first
        if first.count():
            pages.append(first.evaluate("a => a.pathname"))
    return pages


@pytest.mark.timeout(900)  # some forty pages, each checked by axe
def test_every_admin_page_has_no_accessibility_violation(server, admin_page):
    page = admin_page
    pages = admin_pages(page, server.url)
    assert "/admin/admin_center/chatwidget/" in pages and "/admin/routing/agentprofile/add/" in pages
    assert any(re.fullmatch(r"/admin/admin_center/workstream/\d+/change/", p) for p in pages)
    page.goto(f"{server.url}/admin/admin_center/chatwidget/")
    widget_ids = page.eval_on_selector_all(
        "#result_list tbody tr a[href*='/change/']", "links => links.map(a => a.pathname.split('/')[4])"
    )
    pages += [f"/admin/admin_center/chatwidget/{pk}/test/" for pk in widget_ids]
    failures = []
    for path in pages:
        response = page.goto(server.url + path)
        assert response.status == 200, path
        page.locator("#content").wait_for()
        try:
            assert_no_violations(page, path)
        except AssertionError as error:
            failures.append(str(error))
    assert not failures, "\n".join(failures)


def test_the_dashboard_shows_the_checklist_in_the_set_up_order(server, admin_page):
    page = admin_page
    page.goto(f"{server.url}/admin/")
    titles = page.locator(".checklist-title").all_inner_texts()
    assert [t.split("\n")[0].split("Done")[0].split("Not done")[0].strip() for t in titles] == [
        "Authentication setting",
        "Operating hours",
        "Queue and agents",
        "Workstream",
        "Chat widget",
        "Test it",
    ]
    assert page.locator(".checklist-step.is-done").count() == 6  # the demo has everything, and a conversation
    groups = page.locator("#content-main .module caption").all_inner_texts()
    assert groups[:5] == ["1. Authentication", "2. Operating hours", "3. Queues and agents", "4. Workstreams",
                          "5. Chat widgets"]  # fmt: skip
    shot(page, "index", full_page=True)
    page.goto(f"{server.url}/admin/admin_center/chatwidget/")
    page.click("#result_list a:has-text('Demo shop')")
    page.locator("#embed-snippet").wait_for()
    shot(page, "widget")
    crumbs = page.locator("div.breadcrumbs").inner_text()
    assert "5. Chat widgets" in crumbs
    for model, name in [("workstream", "workstream"), ("operatinghours", "operating-hours")]:
        page.goto(f"{server.url}/admin/admin_center/{model}/")
        page.click("#result_list tbody tr a[href*='/change/']")
        shot(page, name, full_page=True)
    page.goto(f"{server.url}/admin/admin_center/chatauthenticationsetting/")
    page.click("#result_list tbody tr a[href*='/change/']")
    shot(page, "authentication", full_page=True)
    page.locator("#token-contract-title").scroll_into_view_if_needed()
    page.evaluate("() => document.getElementById('token-contract-title').scrollIntoView({block: 'start'})")
    shot(page, "token-contract")
    page.goto(f"{server.url}/admin/routing/agentprofile/")
    page.click("#result_list tbody tr a[href*='/change/']")
    assert page.locator("fieldset").first.inner_text().startswith("Agent profile")
    shot(page, "agent")


def test_the_test_page_opens_a_signed_in_widget_with_a_test_token(server, admin_page, browser):
    page = admin_page
    page.goto(f"{server.url}/admin/admin_center/chatwidget/")
    page.click("#result_list a:has-text('Demo shop')")
    page.click("a:text('Test this widget')")
    assert "trusts the server's test key" in page.inner_text(".test-widget-signing")
    chat = open_widget(page)
    wait_connected(chat)
    chat.locator("#input").fill("Testing from the admin center")
    chat.locator("#input").press("Enter")
    chat.locator(".msg-customer:not(.pending)").first.wait_for()
    assert_no_violations(page, "the test page with the widget open", exclude=["[data-parley-widget-host]"])
    shot(page, "test-widget")

"""Supervisors and offers in a real browser (issue 16): the live dashboard reacts to a new customer, an
agent accepts an offer in the workspace, and the reports page draws its charts.

The module runs its own Parley server: the demo-like configuration plus a supervisor ``sam`` (from the
configuration's ``supervisor: true``) and an "Offer desk" queue whose workstream offers conversations
(``auto_accept: false``) to its agent ``olga``. Customers are raw widget sockets: the widget itself is
covered by the widget tests.
"""

from __future__ import annotations

import contextlib
import copy
import json
import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import PASSWORDS, SCREENSHOTS, demo_config, own_server

pytestmark = pytest.mark.browser

AGENT_PASSWORDS = {**PASSWORDS, "sam": "sam-supervisor-pw-7", "olga": "olga-offers-pw-7"}


def supervisors_config(public_pem: str, origin: str) -> dict:
    config = copy.deepcopy(demo_config(public_pem, origin))
    config["agents"] += [
        {"username": "sam", "password": AGENT_PASSWORDS["sam"], "name": "Sam Super", "capacity": 100,
         "supervisor": True},
        {"username": "olga", "password": AGENT_PASSWORDS["olga"], "name": "Olga Offers", "capacity": 100},
    ]  # fmt: skip
    config["queues"].append({"name": "Offer desk", "members": ["olga"], "assignment_method": "highest_capacity"})
    config["workstreams"].append(
        {"name": "Offered support", "persistent": False, "same_agent": False, "distribution": "push",
         "capacity_units": 25, "wrap_up_seconds": 0, "queue": "Offer desk", "auto_accept": False,
         "offer_timeout_seconds": 120}
    )  # fmt: skip
    config["chat_widgets"].append(
        {"name": "Offer help", "public_id": "offer-live", "workstream": "Offered support", "authentication": None,
         "allowed_origins": [origin], "title": "Offer help", "language": "en", "enabled": True}
    )  # fmt: skip
    return config


@pytest.fixture(scope="module")
def server():
    with own_server(supervisors_config) as srv:
        yield srv


@pytest.fixture
def new_page(browser):
    contexts = []

    def make(width: int = 1440, height: int = 900):
        context = browser.new_context(viewport={"width": width, "height": height}, locale="en-GB")
        context.set_default_timeout(15000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def customers(server):
    """``customers(public_id, text)``: a new visitor writes in a widget (a raw widget socket)."""
    from websockets.sync.client import connect

    stack = contextlib.ExitStack()

    def write(public_id: str, text: str) -> None:
        socket = stack.enter_context(connect(f"{server.ws_url}/ws/widget/{public_id}/", origin=server.url, proxy=None))
        socket.send(json.dumps({"type": "hello", "token": None, "visitor": None}))
        while json.loads(socket.recv(timeout=10))["type"] != "welcome":
            pass
        socket.send(json.dumps({"type": "send", "client_id": "c1", "text": text}))
        while json.loads(socket.recv(timeout=10))["type"] != "ack":
            pass

    yield write
    stack.close()


def sign_in(page, server, username: str, path: str) -> None:
    page.goto(f"{server.url}{path}")
    page.fill("#id_username", username)
    page.fill("#id_password", AGENT_PASSWORDS[username])
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(rf".*{re.escape(path)}$"))


def shot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"supervisor-{name}.png"), full_page=True)


def queue_row(page, name: str):
    return page.locator("#db-queues tbody tr", has=page.locator("td", has_text=re.compile(f"^{name}$")))


def test_the_dashboard_reacts_to_a_new_customer(server, new_page, customers):
    page = new_page()
    sign_in(page, server, "sam", "/workspace/supervisor/")
    page.locator("#dashboard[data-connection=open]").wait_for(state="attached")
    support = queue_row(page, "Support")
    expect(support.locator("td.db-open")).to_have_text("0")

    customers("demo-live", "Hello, is anyone there?")  # alice is offline: the customer waits
    expect(support.locator("td.db-open")).to_have_text("1")
    expect(support.locator("td.db-wait")).to_have_text(re.compile(r"^\d+ s$"))

    support.get_by_role("button", name="Conversations").click()
    row = page.locator("#db-list-table tbody tr").first
    expect(row).to_contain_text("Open")
    row.get_by_role("button", name="Watch").click()
    expect(page.locator("#db-messages li")).to_have_text(["CustomerHello, is anyone there?"])
    shot(page, "dashboard")


def test_an_offer_is_accepted_in_the_workspace(server, new_page, customers):
    page = new_page(1280, 800)
    sign_in(page, server, "olga", "/workspace/")
    page.locator("#ws[data-connection=connected]").wait_for(state="attached")
    if page.locator("#permission").is_visible():
        page.click("#permission-no")
    page.select_option("#presence", "available")
    page.locator("#presence-dot[data-presence=available]").wait_for(state="attached")

    customers("offer-live", "I would like to change my delivery address.")
    card = page.locator("#offers .offer-card")
    expect(card).to_have_count(1)
    expect(card.locator(".offer-countdown")).to_have_text(re.compile(r"^1[01]\d s left$"))
    expect(page.locator("#capacity-text")).to_have_text("25 / 100")  # reserved while offered
    shot(page, "offer")

    card.get_by_role("button", name="Accept").click()
    expect(card).to_have_count(0)
    expect(page.locator("#list-active .conv-item")).to_have_count(1)
    expect(page.locator("#conv-name")).not_to_be_empty()
    expect(page.locator("#message-list")).to_contain_text("I would like to change my delivery address.")
    expect(page.locator("#capacity-text")).to_have_text("25 / 100")


def test_the_reports_page_draws_charts_beside_tables(server, new_page):
    page = new_page()
    sign_in(page, server, "sam", "/workspace/reports/")
    expect(page.locator("figure.rp-chart svg")).to_have_count(6)
    expect(page.locator("table.rp-table")).to_have_count(6)
    shot(page, "reports")

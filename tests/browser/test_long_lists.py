"""A long list in the workspace: the newest 50 of a group first, the rest when the agent scrolls to its
end (``list`` frames), and a long pick queue counted in full (PROTOCOL.md "Agent socket, additions")."""

from __future__ import annotations

import pytest

from tests.browser.conftest import require_browser, screenshot
from tests.support.server import ParleyServer

pytestmark = pytest.mark.browser

SETUP = """
from conversations.models import State
from routing.models import Presence
from tests import factories
from tests.conversations.test_agent_lists import make_conversations
persistent = factories.make_setup(persistent=True)
pick = factories.make_setup(distribution="pick")
agent = factories.make_agent("lister", presence=Presence.AVAILABLE,
                             queues=[persistent.workstream.queue, pick.workstream.queue])
make_conversations(persistent, 70, state=State.WAITING, agent=agent)
make_conversations(pick, 230)
"""


@pytest.fixture(scope="module")
def long_lists():
    require_browser()
    with ParleyServer() as server:
        server.shell(SETUP)
        yield server


def test_a_long_waiting_group_loads_its_next_page_when_scrolled_to_its_end(long_lists, new_page):
    from playwright.sync_api import expect

    page = new_page()
    page.goto(f"{long_lists.url}/accounts/login/")
    page.fill("input[name=username]", "lister")
    page.fill("input[name=password]", "pw-lister")
    page.click("[type=submit]")
    page.wait_for_load_state()
    page.goto(f"{long_lists.url}/workspace/")
    expect(page.locator("#count-waiting")).to_have_text("50+")
    assert page.locator("#list-waiting .conv-item").count() == 50
    assert page.locator("#count-queue").text_content() == "230"
    assert "of 230 are shown" in page.locator("#list-queue").text_content()
    screenshot(page, "long-lists-first-page", element=".sidebar")
    page.locator("#list-waiting .conv-more").scroll_into_view_if_needed()
    expect(page.locator("#count-waiting")).to_have_text("70")
    assert page.locator("#list-waiting .conv-item").count() == 70
    assert page.locator("#list-waiting .conv-more").count() == 0
    screenshot(page, "long-lists-all-loaded", element=".sidebar")
    page.locator("#list-queue li").last.scroll_into_view_if_needed()
    screenshot(page, "long-lists-queue-end")

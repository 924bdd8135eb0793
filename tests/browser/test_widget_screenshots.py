"""The widget's states as a customer sees them, saved as widget-*.png
(to docs/images/ with PARLEY_SCREENSHOTS_DIR=docs/images) for the docs.

Each test also checks what the picture must show, so a broken state fails here
instead of ending up in the README.
"""

from __future__ import annotations

import pytest

from tests.browser.conftest import (
    LAUNCHER,
    SCREENSHOTS,
    open_widget,
    send_text,
    wait_connected,
    wait_delivered,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

RIGHT_SIDE = {"x": 840, "y": 0, "width": 440, "height": 720}


def expect(locator):
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


def save(page, name: str, clip: dict | None = None) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.evaluate("() => document.fonts.ready")
    page.screenshot(path=str(SCREENSHOTS / f"widget-{name}.png"), clip=clip, animations="disabled")


@pytest.fixture(scope="module")
def branded(parley):
    """The demo shop's widget in the shop's own colour (a widget setting)."""
    parley.shell(
        "from admin_center.models import ChatWidget; "
        "ChatWidget.objects.filter(public_id='demo-persistent').update(color='#92400e')"
    )
    return parley


def test_screenshot_persistent_conversation_and_unread_badge(branded, new_page, agent_socket):
    alice = agent_socket("alice").available()
    page = new_page(viewport={"width": 1280, "height": 720})
    page.goto(f"{branded.url}/demo/?customer=demo-customer-1")
    chat = open_widget(page)
    wait_connected(chat)
    send_text(chat, "Hi! My order #10427 says shipped, but the tracking link shows nothing yet.")
    wait_delivered(chat, 1)
    conversation = alice.assigned_to("Dana Demo")
    alice.reply(conversation, "Hi Dana, I'm Alice. The carrier scans parcels in the evening: the link works by 8 pm.")
    send_text(chat, "Great, thank you! Could you add a 250 g bag of the Kenya to the same parcel?")
    wait_delivered(chat, 2)
    alice.send({"type": "typing", "conversation_id": conversation, "active": True})
    expect(chat.locator("#typing")).to_be_visible()
    expect(chat.locator("#status-text")).to_have_text("Chatting with Alice Smith")
    save(page, "persistent")

    page.locator(LAUNCHER).click()
    alice.send({"type": "typing", "conversation_id": conversation, "active": False})
    alice.reply(conversation, "Done! It ships together with your order tomorrow morning.")
    expect(page.locator("[data-parley-widget-host] .badge")).to_have_text("1")
    save(page, "launcher")


def test_screenshot_live_chat_queue_end_and_transcript(branded, new_page, agent_socket):
    alice = agent_socket("alice")
    assert alice.request({"type": "presence", "status": "busy"})["type"] == "ok"
    page = new_page(viewport={"width": 1280, "height": 720})
    page.goto(f"{branded.url}/demo/live/")
    chat = open_widget(page)
    wait_connected(chat)
    expect(chat.locator(".info")).to_be_visible()
    save(page, "live-start", RIGHT_SIDE)
    send_text(chat, "Hello! Which grind should I order for a French press?")
    wait_delivered(chat, 1)
    expect(chat.locator(".notice-queue_position")).to_contain_text("number 1")
    # alice is busy: the header says what is true rather than "waiting for an agent"
    expect(chat.locator("#status-text")).to_have_text("No agent is available right now")
    save(page, "live-queue", RIGHT_SIDE)

    alice.available()
    conversation = alice.expect("assigned")["conversation"]["id"]
    alice.reply(conversation, "Coarse, like sea salt. We grind to order: just pick “French press” at checkout.")
    expect(chat.locator(".msg-agent")).to_have_count(1)
    chat.locator("#end").click()
    expect(chat.locator("#confirm")).to_be_visible()
    save(page, "live-end-confirm", RIGHT_SIDE)
    chat.locator("#confirm-end").click()
    expect(chat.locator("#ended")).to_be_visible()
    save(page, "live-ended", RIGHT_SIDE)


def test_screenshot_offline_outside_operating_hours(site, new_page):
    page = new_page(viewport={"width": 1280, "height": 720})
    page.goto(site.page("after-hours"))
    chat = open_widget(page)
    expect(chat.locator("#offline")).to_be_visible()
    save(page, "offline", RIGHT_SIDE)


def test_screenshot_phone_layout(branded, new_page):
    page = new_page(
        viewport={"width": 390, "height": 780},
        is_mobile=True,
        has_touch=True,
        device_scale_factor=2,
    )
    page.goto(f"{branded.url}/demo/?customer=demo-customer-1")
    expect(page.locator(LAUNCHER)).to_be_visible()
    launcher = page.locator(LAUNCHER)
    if launcher.get_attribute("aria-expanded") != "true":
        launcher.click()
    panel = page.locator("[data-parley-widget-host] .panel")
    expect(panel).to_be_visible()
    box = panel.bounding_box()
    for _ in range(40):  # let the opening transition finish
        if box["x"] == 0:
            break
        page.wait_for_timeout(50)
        box = panel.bounding_box()
    assert box["width"] == 390 and box["x"] == 0  # full screen on a phone
    expect(launcher).to_be_hidden()  # the frame's own button closes it
    save(page, "phone")

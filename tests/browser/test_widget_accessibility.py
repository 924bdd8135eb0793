"""The widget without accessibility violations (axe-core), in both modes, empty and after a
conversation; keyboard-only chatting; what the live widget says while queued (issue 20)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.axe import assert_no_violations
from tests.browser.conftest import LAUNCHER, open_widget, screenshot, send_text, wait_connected, wait_delivered

pytestmark = pytest.mark.browser

FRAME_URL = re.compile(r"/widget/[\w-]+/frame/")


def chat_document(page):
    """The widget's own document (the iframe), for axe."""
    return next(frame for frame in page.frames if FRAME_URL.search(frame.url))


def test_the_persistent_widget_has_no_violation_empty_and_after_a_conversation(parley, new_page, agent_socket):
    alice = agent_socket("alice").available()
    page = new_page()
    page.goto(f"{parley.url}/demo/?customer=demo-axe")
    chat = open_widget(page)
    wait_connected(chat)
    assert_no_violations(chat_document(page), "the empty persistent widget")
    send_text(chat, "Is the Ethiopia roast back in stock?")
    wait_delivered(chat, 1)
    alice.reply(alice.assigned_to("Axe"), "Yes, since Monday!")
    chat.locator(".msg-agent .bubble", has_text="since Monday").wait_for()
    # one message's day: a day line, no "Start of the conversation" beside it
    expect(chat.locator(".history-mark")).to_have_count(0)
    expect(chat.locator(".day")).to_have_count(1)
    assert_no_violations(chat_document(page), "the persistent widget after a conversation")


def test_the_live_widget_tells_the_truth_while_queued_and_has_no_violation(parley, site, new_page, agent_socket):
    alice = agent_socket("alice")
    assert alice.request({"type": "presence", "status": "offline"})["type"] == "ok"
    page = new_page()
    page.goto(site.page("demo-live"))
    chat = open_widget(page)
    wait_connected(chat)
    assert_no_violations(chat_document(page), "the empty live widget")
    greeting = chat.locator(".info")
    expect(greeting).to_be_visible()
    assert "in a moment" not in greeting.inner_text()
    send_text(chat, "Do you roast decaf?")
    wait_delivered(chat, 1)
    # nobody of the Support queue is available: the widget says so (status and the leave-a-message offer)
    expect(chat.locator("#status-text")).to_have_text(re.compile("No agent is available|in line"))
    expect(greeting).to_be_visible()  # the greeting stays until the first reply
    assert_no_violations(chat_document(page), "the live widget while queued")
    screenshot(page, "live-queued")


def test_the_widget_by_keyboard_alone(parley, new_page):
    page = new_page()
    page.goto(f"{parley.url}/demo/?customer=demo-keys")
    page.locator(LAUNCHER).focus()
    page.keyboard.press("Enter")
    chat = open_widget(page)
    wait_connected(chat)
    expect(chat.locator("#input")).to_be_focused()
    page.keyboard.type("Typed without a mouse")
    page.keyboard.press("Enter")
    wait_delivered(chat, 1)
    expect(chat.locator("#input")).to_be_focused()
    expect(chat.locator("#input")).to_have_value("")
    # Escape minimises and gives focus back to the launcher
    page.keyboard.press("Escape")
    expect(page.locator(LAUNCHER)).to_be_focused()
    expect(page.locator(LAUNCHER)).to_have_attribute("aria-expanded", "false")


def test_the_widget_in_russian_formats_times_in_24_hours_and_keeps_dates_lowercase(parley, site, new_page):
    parley.shell(
        "from admin_center.models import ChatWidget; ChatWidget.objects.filter(public_id='after-hours')"
        ".update(language='auto')"
    )
    page = new_page(locale="ru-RU")
    page.goto(site.page("after-hours"))
    chat = open_widget(page)
    wait_connected(chat)
    expect(chat.locator("html")).to_have_attribute("lang", "ru")
    expect(chat.locator("#send")).to_have_attribute("aria-label", "Отправить")

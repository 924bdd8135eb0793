"""The customer chat widget in a real browser, on the demo shop and on a customer's site."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.browser.conftest import (
    LAUNCHER,
    open_widget,
    send_text,
    wait_connected,
    wait_delivered,
    widget_frame,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def expect(locator):
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


def shop(parley, customer: str, path: str = "/demo/") -> str:
    return f"{parley.url}{path}?customer={customer}"


def test_persistent_history_survives_a_reload_and_shows_on_a_second_device(parley, new_page, agent_socket):
    alice = agent_socket("alice").available()
    page = new_page()
    page.goto(shop(parley, "demo-history"))
    chat = open_widget(page)
    wait_connected(chat)
    send_text(chat, "Where is my order #10427?")
    wait_delivered(chat, 1)
    conversation = alice.assigned_to("History")
    alice.reply(conversation, "It left our roastery this morning.")
    both = ["Where is my order #10427?", "It left our roastery this morning."]
    expect(chat.locator(".msg .bubble")).to_have_text(both)

    page.reload()
    expect(page.locator(LAUNCHER)).to_have_attribute("aria-expanded", "true")
    chat = widget_frame(page)
    expect(chat.locator(".msg .bubble")).to_have_text(both)

    phone = new_page(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    phone.goto(shop(parley, "demo-history"))
    on_phone = open_widget(phone)
    expect(on_phone.locator(".msg .bubble")).to_have_text(both)
    send_text(on_phone, "Thanks, see you later!")
    expect(chat.locator(".msg .bubble")).to_have_text([*both, "Thanks, see you later!"])
    assert alice.expect("message")["message"]["text"] == "Thanks, see you later!"


def test_open_state_and_draft_survive_navigation_to_another_page(parley, new_page):
    page = new_page()
    page.goto(shop(parley, "demo-navigator"))
    chat = open_widget(page)
    wait_connected(chat)
    chat.locator("#input").fill("A half-written question about grinding")
    page.locator("nav a", has_text="Orders").click()
    page.wait_for_url("**/demo/orders/**")
    expect(page.locator(LAUNCHER)).to_have_attribute("aria-expanded", "true")
    expect(widget_frame(page).locator("#input")).to_have_value("A half-written question about grinding")


def test_closing_persistent_chat_only_hides_it_and_counts_unread_agent_messages(parley, new_page, agent_socket):
    alice = agent_socket("alice").available()
    page = new_page()
    page.goto(shop(parley, "demo-badge"))
    chat = open_widget(page)
    wait_connected(chat)
    send_text(chat, "Do you ship to Norway?")
    wait_delivered(chat, 1)
    conversation = alice.assigned_to("Badge")
    expect(chat.locator("#end")).to_be_hidden()  # only agents end persistent chats
    expect(chat.locator(".info")).to_contain_text("Your conversation stays open")

    chat.locator("#minimize").click()
    launcher = page.locator(LAUNCHER)
    expect(launcher).to_have_attribute("aria-expanded", "false")
    alice.reply(conversation, "We do: 3-5 working days.")
    alice.reply(conversation, "Shipping is free over €40.")
    badge = page.locator("[data-parley-widget-host] .badge")
    expect(badge).to_have_text("2")
    expect(launcher).to_have_attribute("aria-label", "Open chat (2 unread messages)")

    launcher.click()
    expect(badge).to_be_hidden()
    expect(chat.locator(".msg-agent .bubble")).to_have_text(["We do: 3-5 working days.", "Shipping is free over €40."])
    opened = alice.request({"type": "open", "conversation_id": conversation})["conversation"]
    assert opened["state"] == "active"


def test_customer_ends_live_chat_after_confirming_and_downloads_the_transcript(parley, new_page, agent_socket):
    alice = agent_socket("alice").available()
    page = new_page()
    page.goto(f"{parley.url}/demo/live/")
    chat = open_widget(page)
    wait_connected(chat)
    send_text(chat, "Which grind for a moka pot?")
    wait_delivered(chat, 1)
    conversation = alice.expect("assigned")["conversation"]["id"]
    alice.reply(conversation, "Fine, like table salt.")
    expect(chat.locator(".msg-agent .bubble")).to_have_text(["Fine, like table salt."])
    expect(chat.locator("#status-text")).to_have_text("Chatting with Alice Smith")

    chat.locator("#end").click()
    expect(chat.locator("#confirm")).to_be_visible()
    chat.locator("#confirm-cancel").click()
    expect(chat.locator("#confirm")).to_be_hidden()
    assert alice.request({"type": "open", "conversation_id": conversation})["conversation"]["state"] == "active"

    chat.locator("#end").click()
    chat.locator("#confirm-end").click()
    alice.expect("state", conversation_id=conversation, state="closed")
    expect(chat.locator("#ended")).to_be_visible()
    expect(chat.locator("#composer")).to_be_hidden()
    expect(chat.locator("#end")).to_be_hidden()

    with page.expect_download() as download:
        chat.locator("#transcript").click()
    transcript = Path(download.value.path()).read_text(encoding="utf-8")
    # built on the server from the stored messages (docs/customer-journey.md): the visitor's name, not "You"
    assert re.search(r"\] Visitor [0-9a-f]{8}: Which grind for a moka pot\?", transcript)
    assert "Alice Smith: Fine, like table salt." in transcript

    chat.locator("#new-chat").click()
    expect(chat.locator("#composer")).to_be_visible()
    expect(chat.locator(".msg")).to_have_count(0)


def test_reconnect_after_a_server_restart_loses_and_doubles_no_message(parley, new_page, agent_socket):
    alice = agent_socket("alice").available()
    page = new_page()
    page.goto(shop(parley, "demo-restart"))
    chat = open_widget(page)
    wait_connected(chat)
    send_text(chat, "Before the restart")
    wait_delivered(chat, 1)
    conversation = alice.assigned_to("Restart")
    alice.reply(conversation, "Agent before the restart")
    expect(chat.locator(".msg-agent .bubble")).to_have_text(["Agent before the restart"])
    alice.close()

    parley.stop()
    expect(chat.locator("#connection")).to_be_visible()
    send_text(chat, "Written while offline, one")
    send_text(chat, "Written while offline, two")
    expect(chat.locator(".msg.pending")).to_have_count(2)
    expect(chat.locator(".msg.pending .meta")).to_have_text(["Sending…", "Sending…"])

    parley.start()
    expect(chat.locator(".msg.pending")).to_have_count(0, timeout=30000)
    expect(chat.locator("#connection")).to_be_hidden()
    alice = agent_socket("alice").available()
    alice.reply(conversation, "Agent after the restart")
    everything = [
        "Before the restart",
        "Agent before the restart",
        "Written while offline, one",
        "Written while offline, two",
        "Agent after the restart",
    ]
    expect(chat.locator(".msg .bubble")).to_have_text(everything)
    stored = alice.request({"type": "open", "conversation_id": conversation})["conversation"]["messages"]
    assert [m["text"] for m in stored] == everything
    assert [m["seq"] for m in stored] == [1, 2, 3, 4, 5]


def test_html_in_a_message_shows_as_text(parley, new_page, agent_socket):
    alice = agent_socket("alice").available()
    page = new_page()
    page.goto(f"{parley.url}/demo/live/")
    chat = open_widget(page)
    wait_connected(chat)
    from_customer = '<img src=x onerror="parent.window.pwned=1"><b>bold?</b>'
    from_agent = "<script>window.pwned = 1</script><i>italic?</i> &amp; more"
    send_text(chat, from_customer)
    wait_delivered(chat, 1)
    conversation = alice.expect("assigned")["conversation"]["id"]
    alice.reply(conversation, from_agent)
    expect(chat.locator(".msg-customer .bubble")).to_have_text([from_customer])
    expect(chat.locator(".msg-agent .bubble")).to_have_text([from_agent])
    assert chat.locator("#log img, #log b, #log i, #log script").count() == 0
    assert page.evaluate("window.pwned") is None


def test_live_widget_is_offline_outside_operating_hours(site, new_page):
    page = new_page()
    page.goto(site.page("after-hours"))
    chat = open_widget(page)
    expect(chat.locator("#offline")).to_be_visible()
    expect(chat.locator("#offline")).to_contain_text("We're offline right now")
    expect(chat.locator("#composer")).to_be_hidden()
    expect(chat.locator("#status-text")).to_have_text("We're offline")


def test_a_site_that_is_not_an_allowed_origin_gets_no_widget(site, new_page):
    page = new_page()
    page.goto(site.page("demo-live", host="localhost"))
    page.wait_for_load_state("load")  # includes the iframe: loaded, or refused by frame-ancestors
    page.evaluate("() => new Promise(resolve => setTimeout(resolve, 300))")  # let a 'ready' message arrive
    assert widget_frame(page).locator("#chat").count() == 0
    expect(page.locator(LAUNCHER)).to_be_hidden()


def test_widget_asks_the_site_for_a_new_token_after_a_refused_one(site, new_page):
    page = new_page()
    page.goto(site.page("demo-persistent", sub="site-refused", bad_first=1))
    chat = open_widget(page)
    wait_connected(chat)
    assert page.evaluate("window.tokenCalls()") == 2
    send_text(chat, "Signed in at last")
    wait_delivered(chat, 1)


def test_widget_asks_for_a_fresh_token_when_its_token_expires(parley, site, new_page):
    page = new_page()
    page.goto(site.page("demo-persistent", sub="site-expiring", exp_in=20))
    chat = open_widget(page)
    wait_connected(chat)
    assert page.evaluate("window.tokenCalls()") == 1
    parley.restart()  # the widget reconnects; its token has less than 30 s left, so it asks again
    expect(chat.locator("#connection")).to_be_hidden(timeout=30000)
    wait_connected(chat)
    assert page.evaluate("window.tokenCalls()") >= 2  # once per attempt while the server was down
    send_text(chat, "Still signed in")
    wait_delivered(chat, 1)


def test_older_history_loads_when_scrolling_up(parley, new_page, agent_socket):
    alice = agent_socket("alice").available()
    page = new_page()
    page.goto(shop(parley, "demo-long-history"))
    chat = open_widget(page)
    wait_connected(chat)
    send_text(chat, "My first message")
    wait_delivered(chat, 1)
    conversation = alice.assigned_to("Long History")
    parley.shell(
        "from routing.models import AgentProfile\n"
        "from conversations.actions import messages\n"
        "agent = AgentProfile.objects.get(user__username='alice')\n"
        "for n in range(2, 81):\n"
        f"    messages.agent_message(agent, {conversation!r}, client_id=f'bulk-{{n}}', text=f'Reply {{n}}')\n"
    )
    page.reload()
    chat = widget_frame(page)
    expect(chat.locator(".msg .bubble").last).to_have_text("Reply 80")
    expect(chat.locator(".msg")).to_have_count(50)  # the welcome's latest 50
    expect(chat.locator(".history-mark")).to_have_text("Loading earlier messages…")

    chat.locator("#log").evaluate("log => { log.scrollTop = 0; }")
    expect(chat.locator(".msg")).to_have_count(80)
    expect(chat.locator(".msg .bubble").first).to_have_text("My first message")
    expect(chat.locator(".history-mark")).to_have_text("Start of the conversation")
    seqs = chat.locator(".msg").evaluate_all("rows => rows.map(row => Number(row.dataset.seq))")
    assert seqs == list(range(1, 81))

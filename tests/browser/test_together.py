"""Agents working together in a real browser (issue 14): alice transfers a conversation to bob with a
note and bob answers; bob consults alice, who writes a note; quick replies from the keyboard; the
customer panel with the signed context. Writes the docs' screenshots (together-*.png, see SCREENSHOTS).

The module runs its own Parley server: the demo-like configuration with alice and bob both in the
Support queue, and quick replies.
"""

from __future__ import annotations

import copy
import uuid

import pytest

from tests.browser.conftest import SCREENSHOTS, demo_config, own_server
from tests.browser.test_workspace import RawCustomer, go_available, open_workspace

pytestmark = pytest.mark.browser


def together_config(public_pem: str, origin: str) -> dict:
    config = copy.deepcopy(demo_config(public_pem, origin))
    for queue in config["queues"]:
        if queue["name"] == "Support":
            queue["members"] = ["alice", "bob"]
    config["quick_replies"] = [
        {"title": "Greeting", "shortcut": "hi", "language": "en",
         "text": "Hello {customer}, I am {agent}. How can I help?"},
        {"title": "Refund on its way", "shortcut": "refund", "language": "en",
         "text": "{customer}, your refund is on its way: 3 to 5 working days.", "queues": ["Support"]},
        {"title": "Tracking link", "shortcut": "track", "language": "en",
         "text": "You can follow your parcel with the tracking link in your order email."},
    ]  # fmt: skip
    return config


@pytest.fixture(scope="module")
def server():
    with own_server(together_config) as srv:
        yield srv


@pytest.fixture
def new_page(browser):
    contexts = []

    errors = []

    def make(width: int = 1400, height: int = 860):
        context = browser.new_context(viewport={"width": width, "height": height}, locale="en-GB")
        context.set_default_timeout(15000)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        return page

    yield make
    for context in contexts:
        context.close()
    assert errors == [], errors  # no script error in any workspace


def shot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"together-{name}.png"))


def set_presence(page, status: str) -> None:
    page.select_option("#presence", status)
    page.locator(f"#presence-dot[data-presence={status}]").wait_for(state="attached")


def open_item(page, group: str, text: str) -> None:
    page.locator(f"#list-{group} .conv-item", has_text=text).locator("button").click()
    page.locator("#message-list .bubble", has_text=text).first.wait_for()


def test_alice_transfers_to_bob_with_a_note_and_bob_answers(server, new_page):
    tag = uuid.uuid4().hex[:6]
    alice = open_workspace(new_page(), server, "alice")
    bob = open_workspace(new_page(), server, "bob")
    set_presence(bob, "busy")  # online for transfers, not routed to
    go_available(alice)
    customer = RawCustomer(server, "demo-persistent", f"demo-dana-{tag}")
    customer.say(f"My parcel is late {tag}")
    open_item(alice, "active", f"My parcel is late {tag}")

    alice.click("#act-transfer")
    dialog = alice.locator("#together-dialog")
    dialog.locator(".target", has_text="Bob Brown").wait_for()
    assert dialog.locator(".target", has_text="Support").count() == 1
    dialog.locator(".target", has_text="Bob Brown").locator("input").check()
    alice.fill("#together-note", f"Wants a refund for order A-17 {tag}")
    shot(alice, "transfer-dialog")
    alice.click("#together-submit")
    dialog.wait_for(state="hidden")
    alice.locator("#list-active .conv-item", has_text=f"My parcel is late {tag}").wait_for(state="detached")
    assert customer.expect("notice")["code"] in ("transferred", "agent_joined")

    entry = bob.locator("#list-active .conv-item", has_text=f"My parcel is late {tag}")
    entry.wait_for()
    entry.locator("button").click()
    note = bob.locator("#message-list .msg-note", has_text=f"Wants a refund for order A-17 {tag}")
    note.wait_for()
    assert note.locator(".note-label").inner_text().strip().lower() == "note"
    assert "Alice" in note.locator(".msg-author").inner_text()
    bob.fill("#composer-input", f"Hi, Bob here. Refund started {tag}")
    bob.press("#composer-input", "Enter")
    bob.locator("#message-list .msg-agent:not(.pending) .bubble", has_text=f"Refund started {tag}").wait_for()
    while True:
        frame = customer.expect("message")
        if f"Refund started {tag}" in frame["message"]["text"]:
            assert frame["message"]["sender"]["name"] == "Bob Brown"
            break
    shot(bob, "note-after-transfer")
    customer.close()


def test_bob_consults_alice_who_writes_notes_only(server, new_page):
    tag = uuid.uuid4().hex[:6]
    alice = open_workspace(new_page(), server, "alice")
    bob = open_workspace(new_page(), server, "bob")
    set_presence(alice, "busy")
    go_available(bob)
    customer = RawCustomer(server, "demo-persistent", f"demo-eve-{tag}")
    customer.say(f"Can I change my delivery address? {tag}")
    open_item(bob, "active", f"change my delivery address? {tag}")

    bob.click("#act-consult")
    dialog = bob.locator("#together-dialog")
    dialog.locator(".target", has_text="Alice Smith").locator("input").check()
    bob.click("#together-submit")
    dialog.wait_for(state="hidden")
    bob.locator("#conv-consultants .chip", has_text="Alice Smith").wait_for()

    # alice sees it in her "Consulting" section, reads it, and may write notes but not reply
    entry = alice.locator("#list-consulting .conv-item", has_text=f"change my delivery address? {tag}")
    entry.wait_for()
    entry.locator("button").click()
    alice.locator("#message-list .bubble", has_text=f"change my delivery address? {tag}").wait_for()
    assert alice.locator("#mode-reply").is_disabled()
    assert alice.locator("#composer").get_attribute("data-mode") == "note"
    assert alice.locator("#act-end").is_hidden() and alice.locator("#act-transfer").is_hidden()
    alice.fill("#composer-input", f"Only before the parcel ships {tag}")
    alice.press("#composer-input", "Enter")
    alice.locator("#message-list .msg-note", has_text=f"Only before the parcel ships {tag}").wait_for()
    bob.locator("#message-list .msg-note", has_text=f"Only before the parcel ships {tag}").wait_for()
    shot(alice, "consulting")

    # the customer writes: alice sees it live; bob answers; alice leaves
    customer.say(f"It has not shipped yet {tag}")
    alice.locator("#message-list .bubble", has_text=f"It has not shipped yet {tag}").wait_for()
    bob.fill("#composer-input", f"Then I can change it {tag}")
    bob.press("#composer-input", "Enter")
    alice.locator("#message-list .msg-agent .bubble", has_text=f"Then I can change it {tag}").wait_for()
    alice.click("#act-leave-consult")
    alice.locator("#list-consulting .conv-item").wait_for(state="detached")
    bob.locator("#conv-consultants").wait_for(state="hidden")
    stored = server.shell(
        "from conversations.models import Message, Note; "
        f"print(Message.objects.filter(text__endswith='{tag}').count(), "
        f"Note.objects.filter(text__endswith='{tag}').count())"
    )
    assert stored.strip().splitlines()[-1] == "3 1"  # the note never became a message
    customer.close()


def test_quick_replies_from_the_keyboard_and_the_customer_panel_with_context(server, new_page):
    tag = uuid.uuid4().hex[:6]
    alice = open_workspace(new_page(), server, "alice")
    go_available(alice)
    bob = open_workspace(new_page(), server, "bob")
    set_presence(bob, "busy")
    # an earlier, closed conversation of the same customer
    earlier = RawCustomer(server, "demo-persistent", f"demo-max-{tag}")
    earlier.say(f"Where is order A-9 {tag}?")
    open_item(alice, "active", f"Where is order A-9 {tag}")
    alice.click("#act-end")
    alice.click("#end-yes")
    alice.locator("#list-active .conv-item", has_text=f"A-9 {tag}").wait_for(state="detached")
    earlier.close()
    customer = RawCustomer(server, "demo-persistent", f"demo-max-{tag}")
    customer.say(f"Hello again {tag}")
    open_item(alice, "active", f"Hello again {tag}")

    # the panel: the signed context as a table, and the earlier conversation, readable
    alice.locator("#context-card").wait_for()
    rows = alice.locator("#context-rows tr")
    assert {rows.nth(i).locator("th").inner_text() for i in range(rows.count())} == {"tier", "orders", "last_order"}
    alice.locator("#earlier .earlier-open").first.click()
    alice.locator("#transcript-list .bubble", has_text=f"Where is order A-9 {tag}").wait_for()
    shot(alice, "earlier-conversation")
    alice.keyboard.press("Escape")
    alice.locator("#transcript-dialog").wait_for(state="hidden")

    # an internal note, then a quick reply by keyboard alone: / + shortcut, arrows, Enter
    alice.click("#mode-note")
    alice.fill("#composer-input", f"Asked twice about A-9 already {tag}")
    alice.press("#composer-input", "Enter")
    alice.locator("#message-list .msg-note", has_text=f"A-9 already {tag}").wait_for()
    alice.keyboard.press("Alt+n")  # back to replies
    assert alice.locator("#composer").get_attribute("data-mode") == "reply"
    composer = alice.locator("#composer-input")
    composer.focus()
    composer.type("/re")
    alice.locator("#qr-popup").wait_for()
    assert alice.locator("#qr-list [role=option]").first.inner_text().startswith("/refund")
    shot(alice, "quick-replies")
    composer.press("Enter")
    alice.locator("#qr-popup").wait_for(state="hidden")
    name = alice.locator("#conv-name").inner_text()
    assert composer.input_value() == f"{name}, your refund is on its way: 3 to 5 working days."
    composer.press("Enter")
    while True:
        frame = customer.expect("message")
        if "your refund is on its way" in frame["message"]["text"]:
            assert frame["message"]["text"].startswith(name)
            break

    # the picker (Alt+Q) with a filter, keyboard only
    composer.focus()
    alice.keyboard.press("Alt+q")
    alice.locator("#qr-filter").wait_for()
    alice.keyboard.type("track")
    alice.keyboard.press("Enter")
    assert composer.input_value().startswith("You can follow your parcel")
    composer.fill("")

    # search within the conversation finds notes and messages
    alice.fill("#conv-search", "A-9")
    alice.locator("#message-list .search-hit").first.wait_for()
    assert "1" in alice.locator("#search-count").inner_text()
    alice.fill("#conv-search", "")
    shot(alice, "customer-panel")
    customer.close()

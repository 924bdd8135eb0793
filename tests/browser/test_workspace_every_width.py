"""The workspace at every width, with honest alerts, keyboard-only work and no axe-core violation
(issue 20). Runs its own server (tests/browser/test_workspace.py's configuration)."""

from __future__ import annotations

import contextlib
import json
import uuid

import pytest
from playwright.sync_api import expect

from tests.browser import test_workspace as workspace
from tests.browser.axe import assert_no_violations
from tests.browser.test_workspace import RawCustomer, go_available, open_workspace, shot

pytestmark = pytest.mark.browser

server = workspace.server  # the module's own server with the workspace configuration
new_page = workspace.new_page

WIDTHS = [(1920, 1080), (1280, 800), (1024, 768), (768, 1024)]

# every control the agent needs, wherever it sits at this width
TOPBAR = ["#presence", "#sound-toggle", "#help-toggle", ".topbar .language-select", ".signout button", ".me"]
CONVERSATION = ["#composer-input", "#send", "#attach-button", "#act-end"]

OUT_OF_VIEW = """(selector) => {
  const node = document.querySelector(selector);
  if (!node) return "missing";
  const box = node.getBoundingClientRect();
  if (!box.width || !box.height) return "not displayed";
  if (box.left < 0 || box.top < 0 || box.right > innerWidth + 0.5 || box.bottom > innerHeight + 0.5)
    return "outside the viewport: " + JSON.stringify(box);
  const hit = document.elementFromPoint(box.left + box.width / 2, box.top + box.height / 2);
  if (!hit || !(node === hit || node.contains(hit)))
    return "covered by " + (hit ? hit.outerHTML.slice(0, 120) : "nothing");
  return "";
}"""

LABELS_FIT = """(selector) => [...document.querySelectorAll(selector)].every(
  (node) => node.scrollWidth <= node.clientWidth && node.scrollHeight <= node.clientHeight)"""


def problems(page, selectors) -> dict:
    """What is wrong with each control's place, once the layout has settled (transitions, fetches)."""
    check = f"(selectors) => selectors.every((s) => !({OUT_OF_VIEW})(s))"
    with contextlib.suppress(Exception):  # the report below says what is wrong
        page.wait_for_function(check, arg=selectors, timeout=3000)
    return {s: why for s in selectors if (why := page.evaluate(OUT_OF_VIEW, s))}


def busy_scene(server, agent, tag: str):
    """Two customers writing to alice: returns the RawCustomers."""
    first = RawCustomer(server, "demo-persistent", f"demo-wide-a-{tag}").say(f"Where is my order {tag}?")
    second = RawCustomer(server, "demo-live").say(f"Do you ship to Norway {tag}?")
    agent.locator("#list-active .conv-item").nth(1).wait_for()
    return first, second


def test_every_control_is_visible_and_inside_the_viewport_at_every_width(server, new_page):
    tag = uuid.uuid4().hex[:6]
    agent = open_workspace(new_page(1920, 1080), server, "alice")
    go_available(agent)
    customers = busy_scene(server, agent, tag)
    agent.locator("#list-active .conv-item", has_text=f"Where is my order {tag}").locator("button").click()
    agent.locator("#message-list .bubble", has_text=f"Where is my order {tag}").wait_for()
    for width, height in WIDTHS:
        agent.set_viewport_size({"width": width, "height": height})
        expected = TOPBAR + CONVERSATION + ["#act-set-aside", ".conv-item.selected .conv-button", "#conv-workstream"]
        expected += ["#panel-toggle"] if width < 1200 else ["#cust-name"]
        assert problems(agent, expected) == {}, f"at {width} px"
        assert agent.evaluate("document.documentElement.scrollWidth <= innerWidth"), f"sideways scroll at {width} px"
        if width < 1200:  # the customer panel is a drawer
            agent.click("#panel-toggle")
            expect(agent.locator("#panel-close")).to_be_focused()
            assert problems(agent, ["#cust-name", "#panel-close"]) == {}, f"drawer at {width} px"
            assert_no_violations(agent, f"the workspace with the customer drawer open at {width} px")
            agent.click("#panel-close")
            expect(agent.locator("#panel-toggle")).to_be_focused()
            expect(agent.locator("#panel")).to_be_hidden()
        shot(agent, f"width-{width}")
        assert_no_violations(agent, f"the busy workspace at {width} px")

    # a phone: the list, then the conversation with a way back
    agent.set_viewport_size({"width": 390, "height": 844})
    assert problems(agent, ["#composer-input", "#send", "#back-to-list", "#presence", ".signout button"]) == {}
    agent.fill("#composer-input", f"On its way {tag}")
    agent.press("#composer-input", "Enter")
    agent.locator("#message-list .msg-agent:not(.pending) .bubble", has_text=f"On its way {tag}").wait_for()
    shot(agent, "phone-conversation")
    agent.click("#back-to-list")
    assert problems(agent, [".conv-item.selected .conv-button"]) == {}
    expect(agent.locator("#composer-input")).to_be_hidden()
    shot(agent, "phone-list")
    assert_no_violations(agent, "the workspace list on a phone")
    for customer in customers:
        customer.close()


def test_the_notification_prompt_covers_no_control_until_it_is_answered(server, new_page):
    """A first visit asks about desktop notifications; while the question waits, every control of the
    conversation stays usable, at every width and on a phone."""
    tag = uuid.uuid4().hex[:6]
    agent = open_workspace(new_page(1280, 800), server, "alice", answer_prompt=False)
    expect(agent.locator("#permission")).to_be_visible()
    go_available(agent)
    customer = RawCustomer(server, "demo-live").say(f"Is anyone there {tag}?")
    agent.locator("#list-active .conv-item", has_text=f"Is anyone there {tag}").locator("button").click()
    agent.locator("#message-list .bubble", has_text=f"Is anyone there {tag}").wait_for()
    prompt = ["#permission-yes", "#permission-no"]
    for width, height in [*WIDTHS, (390, 844)]:
        agent.set_viewport_size({"width": width, "height": height})
        expected = prompt + CONVERSATION + ["#mode-reply", "#mode-note", "#presence"]
        expected += ["#back-to-list"] if width <= 640 else [".conv-item.selected .conv-button"]
        assert problems(agent, expected) == {}, f"at {width} px"
        assert agent.evaluate(LABELS_FIT, ".mode-btn"), f"a composer mode's label is cut at {width} px"
        if width == 1280:
            shot(agent, "notification-prompt-1280")
    shot(agent, "notification-prompt-phone")
    agent.click("#permission-no")
    expect(agent.locator("#permission")).to_be_hidden()
    customer.close()


def test_the_empty_workspace_and_its_dialogs_have_no_accessibility_violation(server, new_page):
    agent = new_page(1280, 800)
    open_workspace(agent, server, "pete")
    assert_no_violations(agent, "the empty workspace")
    agent.keyboard.press("?")
    agent.locator("#help").wait_for()
    assert_no_violations(agent, "the workspace with the keyboard help open")


def test_returned_customers_are_told_only_by_a_message_and_the_toast_goes_with_resume(server, new_page):
    tag = uuid.uuid4().hex[:6]
    agent = open_workspace(new_page(1280, 800), server, "alice")
    go_available(agent)
    customer = RawCustomer(server, "demo-persistent", f"demo-back-{tag}").say(f"Hello {tag}")
    entry = agent.locator("#list-active .conv-item", has_text=f"Hello {tag}")
    entry.locator("button").click()
    agent.click("#act-set-aside")
    conversation_id = agent.locator("#list-waiting .conv-item", has_text=f"Hello {tag}").get_attribute("data-id")
    waiting = agent.locator(f"#list-waiting .conv-item[data-id='{conversation_id}']")
    customer.close()
    # loading a page of the site again is not "returning"
    customer = RawCustomer(server, "demo-persistent", f"demo-back-{tag}")
    agent.wait_for_timeout(700)  # give a wrong notice the time to arrive
    assert agent.locator(".toast-returned").count() == 0
    assert waiting.locator(".badge-returned").count() == 0
    customer.say(f"Any news {tag}?")
    agent.locator(".toast-returned").wait_for()
    waiting.locator(".badge-returned").wait_for()
    # resuming from the keyboard: the toast goes, focus lands in the reply box
    waiting.locator("button").click()
    expect(agent.locator(".toast-returned")).to_have_count(0)
    agent.keyboard.press("Alt+r")
    agent.locator("#conv-state.state-active").wait_for()
    expect(agent.locator("#composer-input")).to_be_focused()
    customer.close()


def test_a_visitor_ending_a_live_chat_is_shown_to_the_agent(server, new_page):
    tag = uuid.uuid4().hex[:6]
    agent = open_workspace(new_page(1280, 800), server, "alice")
    go_available(agent)
    customer = RawCustomer(server, "demo-live").say(f"Quick question {tag}")
    agent.locator("#list-active .conv-item", has_text=f"Quick question {tag}").locator("button").click()
    agent.locator("#message-list .bubble", has_text=f"Quick question {tag}").wait_for()
    customer.connection.send(json.dumps({"type": "end", "req": "e1"}))
    agent.locator(".toast", has_text="ended the chat").wait_for()
    agent.locator("#message-list .msg-local", has_text="ended the chat").wait_for()
    last = agent.locator("#message-list > li").last
    expect(last).to_have_class("msg msg-system msg-local")
    customer.close()


def test_keyboard_only_work_in_the_workspace(server, new_page):
    tag = uuid.uuid4().hex[:6]
    agent = open_workspace(new_page(1280, 800), server, "alice")
    go_available(agent)
    customer = RawCustomer(server, "demo-persistent", f"demo-keys-{tag}").say(f"Keyboard {tag}")
    conversation_id = agent.locator("#list-active .conv-item", has_text=f"Keyboard {tag}").get_attribute("data-id")
    entry = agent.locator(f"#list-active .conv-item[data-id='{conversation_id}']")
    # Tab order: the conversation list comes before the toasts
    agent.locator(".toast").first.wait_for()
    agent.focus("#presence")  # from the top bar onwards
    order = []
    for _ in range(60):
        agent.keyboard.press("Tab")
        order.append(
            agent.evaluate(
                "() => { const a = document.activeElement; return a.closest('.toast') ? 'toast'"
                " : a.closest('.sidebar') ? 'list' : a.id || a.className }"
            )
        )
        if "toast" in order:
            break
    assert "list" in order and "toast" in order and order.index("list") < order.index("toast"), order

    # open from the list: focus stays there, so ? shows the help
    entry.locator("button").focus()
    agent.keyboard.press("Enter")
    agent.locator("#message-list .bubble", has_text=f"Keyboard {tag}").wait_for()
    expect(entry.locator("button")).to_be_focused()
    agent.keyboard.press("?")
    expect(agent.locator("#help")).to_be_visible()
    agent.keyboard.press("Escape")
    expect(agent.locator("#help")).to_be_hidden()
    # in the reply box ? is text
    agent.keyboard.press("/")
    expect(agent.locator("#composer-input")).to_be_focused()
    agent.keyboard.type("Really?")
    expect(agent.locator("#composer-input")).to_have_value("Really?")
    expect(agent.locator("#help")).to_be_hidden()
    agent.keyboard.press("Enter")
    agent.locator("#message-list .msg-agent:not(.pending) .bubble", has_text="Really?").wait_for()
    expect(agent.locator("#messages")).to_have_js_property(
        "scrollTop",
        agent.evaluate(
            "() => { const m = document.getElementById('messages'); return m.scrollHeight - m.clientHeight }"
        ),
    )

    # set aside: focus goes to a list entry, not <body>
    agent.keyboard.press("Alt+w")
    agent.locator(f"#list-waiting .conv-item[data-id='{conversation_id}']").wait_for()
    agent.wait_for_function("() => document.activeElement && document.activeElement.classList.contains('conv-button')")
    # resume: focus in the reply box
    agent.locator(f"#list-waiting .conv-item[data-id='{conversation_id}'] button").focus()
    agent.keyboard.press("Enter")
    agent.keyboard.press("Alt+r")
    agent.locator("#conv-state.state-active").wait_for()
    expect(agent.locator("#composer-input")).to_be_focused()
    # End asks first; Escape keeps the conversation and returns to End
    agent.keyboard.press("Alt+e")
    expect(agent.locator("#end-confirm")).to_be_visible()
    expect(agent.locator("#end-yes")).to_be_focused()
    assert_no_violations(agent, "the workspace with the End confirmation open")
    shot(agent, "end-confirmation")
    agent.keyboard.press("Escape")
    expect(agent.locator("#end-confirm")).to_be_hidden()
    expect(agent.locator("#act-end")).to_be_focused()
    assert agent.locator("#conv-state").inner_text().lower() == "active"
    agent.keyboard.press("Enter")  # End, then confirm with Enter
    expect(agent.locator("#end-yes")).to_be_focused()
    agent.keyboard.press("Enter")
    agent.locator("#conversation[data-state=closed], #conversation[data-state=wrap_up]").wait_for()
    # focus lands on something to work on (the next conversation, Close, or the transcript), not <body>
    agent.wait_for_function("() => document.activeElement.matches('#messages, .conv-button, #act-close')")
    customer.close()

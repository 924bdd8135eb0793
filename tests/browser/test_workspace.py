"""The agent workspace in a real browser (issue 6): a customer in the demo shop's
widget and agents in /workspace/, each in their own browser context.

The module runs its own Parley server: the shared demo-like configuration plus a
pick-mode desk with two agents (``pia`` and ``pete``), so that these tests never
disturb the widget tests' agents on the session server.
"""

from __future__ import annotations

import copy
import json
import re
import urllib.error
import urllib.request
import uuid

import pytest

from tests.browser.conftest import (
    PASSWORDS,
    SCREENSHOTS,
    demo_config,
    open_widget,
    own_server,
    send_text,
    wait_connected,
    wait_delivered,
)

pytestmark = pytest.mark.browser

AGENT_PASSWORDS = {**PASSWORDS, "pia": "pia-workspace-pw-7", "pete": "pete-workspace-pw-7"}


def workspace_config(public_pem: str, origin: str) -> dict:
    config = copy.deepcopy(demo_config(public_pem, origin))
    config["agents"] += [
        {"username": "pia", "password": AGENT_PASSWORDS["pia"], "name": "Pia Park", "capacity": 100},
        {"username": "pete", "password": AGENT_PASSWORDS["pete"], "name": "Pete Peters", "capacity": 100},
    ]
    config["queues"].append(
        {
            "name": "Pick desk",
            "members": ["pia", "pete"],
            "assignment_method": "round_robin",
            "operating_hours": None,
        }
    )
    config["workstreams"].append(
        {
            "name": "Pick support",
            "persistent": False,
            "same_agent": False,
            "distribution": "pick",
            "capacity_units": 10,
            "wrap_up_seconds": 0,
            "queue": "Pick desk",
            "auto_close_after_inactivity_seconds": 0,
        }
    )
    config["chat_widgets"].append(
        {
            "name": "Pick help",
            "public_id": "pick-live",
            "workstream": "Pick support",
            "authentication": None,
            "allowed_origins": [origin],
            "title": "Pick help",
            "language": "en",
            "enabled": True,
        }
    )
    return config


@pytest.fixture(scope="module")
def server():
    with own_server(workspace_config) as srv:
        yield srv


@pytest.fixture
def new_page(browser):
    contexts = []

    def make(width: int = 1280, height: int = 800, **options):
        options.setdefault("locale", "en-GB")
        context = browser.new_context(viewport={"width": width, "height": height}, **options)
        context.set_default_timeout(15000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def open_workspace(page, server, username: str, answer_prompt: bool = True):
    """Sign in through the real form, land on /workspace/, wait for the socket (and, unless
    ``answer_prompt`` is false, answer the desktop-notification prompt "Not now")."""
    page.goto(f"{server.url}/workspace/")
    assert "/accounts/login/" in page.url
    page.fill("#id_username", username)
    page.fill("#id_password", AGENT_PASSWORDS[username])
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/workspace/$"))
    page.locator("#ws[data-connection=connected]").wait_for(state="attached")
    # a first visit asks politely about desktop notifications: answer "Not now"
    if answer_prompt and page.locator("#permission").is_visible():
        page.click("#permission-no")
    return page


def go_available(page) -> None:
    page.select_option("#presence", "available")
    page.locator("#presence-dot[data-presence=available]").wait_for(state="attached")


def capacity(page) -> str:
    return page.locator("#capacity-text").inner_text()


def shop(page, server, customer: str):
    page.goto(f"{server.url}/demo/?customer={customer}")
    chat = open_widget(page)
    wait_connected(chat)
    return chat


def item(page, group: str, name: str):
    return page.locator(f"#list-{group} .conv-item", has_text=name)


def shot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"workspace-{name}.png"))


def test_workspace_sends_anonymous_users_to_sign_in_and_refuses_non_agents(server):
    request = urllib.request.Request(f"{server.url}/workspace/")
    opener = urllib.request.build_opener(NoRedirect)
    with pytest.raises(urllib.error.HTTPError) as redirect:
        opener.open(request)
    assert redirect.value.code == 302
    assert redirect.value.headers["Location"] == "/accounts/login/?next=/workspace/"

    server.shell(
        "from django.contrib.auth import get_user_model; "
        "get_user_model().objects.create_user('mallory', password='mallory-pw-7')"
    )
    from tests.support.http import sign_in

    cookie = sign_in(server.url, "mallory", "mallory-pw-7")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(urllib.request.Request(f"{server.url}/workspace/", headers={"Cookie": cookie}))  # noqa: S310
    assert refused.value.code == 403
    body = refused.value.read().decode()
    assert "no agent profile" in body


def test_language_switch_on_the_sign_in_page_carries_into_the_workspace(server, new_page):
    page = new_page()
    page.goto(f"{server.url}/accounts/login/?next=/workspace/")
    assert page.locator("html").get_attribute("lang") == "en"
    with page.expect_navigation():
        page.select_option("#language-auth", "ru")
    assert page.locator("html").get_attribute("lang") == "ru"
    page.fill("#id_username", "bob")
    page.fill("#id_password", AGENT_PASSWORDS["bob"])
    page.click("button[type=submit]")
    page.locator("#ws[data-connection=connected]").wait_for(state="attached")
    assert page.locator("html").get_attribute("lang") == "ru"
    assert page.locator("#language-workspace").input_value() == "ru"


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def test_persistent_flow_from_first_message_to_end(server, new_page):
    agent = open_workspace(new_page(1920, 1080), server, "alice")
    go_available(agent)
    assert capacity(agent) == "0 / 100"

    customer = new_page(1280, 800)
    chat = shop(customer, server, "demo-carol")
    send_text(chat, "Hello, my order #1042 has not arrived.")
    wait_delivered(chat, 1)

    # pushed to alice without a reload: toast, list entry, title count, capacity
    carol = item(agent, "active", "Carol")
    carol.wait_for()
    agent.locator(".toast", has_text="New conversation assigned").wait_for()
    assert agent.title().startswith("(1) ")
    assert capacity(agent) == "10 / 100"
    assert "Hello, my order #1042" in carol.inner_text()
    assert carol.locator(".badge-persistent").count() == 1

    carol.locator("button").click()
    agent.locator("#message-list .msg-customer .bubble", has_text="order #1042").wait_for()
    assert not agent.title().startswith("(")
    agent.locator("#cust-email", has_text="demo-carol@example.com").wait_for()

    # Enter sends, Shift+Enter makes a new line; the customer sees both lines in one message
    composer = agent.locator("#composer-input")
    composer.click()
    composer.type("Sorry about that, Carol.")
    composer.press("Shift+Enter")
    composer.type("I am checking with the courier.")
    composer.press("Enter")
    chat.locator(".msg .bubble", has_text="I am checking with the courier.").wait_for()
    sent = agent.locator("#message-list .msg-agent:not(.pending) .bubble")
    sent.wait_for()
    assert sent.inner_text() == "Sorry about that, Carol.\nI am checking with the courier."
    assert composer.input_value() == ""

    # markup in a customer's text stays text
    send_text(chat, "<b>bold?</b> <img src=x onerror=alert(1)>")
    agent.locator("#message-list .bubble", has_text="<b>bold?</b>").wait_for()
    assert agent.locator("#message-list img").count() == 0
    shot(agent, "1920")

    # ✖ set aside: to Waiting, capacity freed; the tooltip says so
    tip = agent.locator("#tip-set-aside").text_content()
    assert "frees your capacity" in tip and "customer keeps the conversation" in tip
    agent.click("#act-set-aside")
    item(agent, "waiting", "Carol").wait_for()
    agent.locator("#capacity-text", has_text="0 / 100").wait_for()
    # waiting: the customer cannot be written to, only an internal note can
    agent.locator("#composer[data-mode=note]").wait_for(state="attached")
    assert agent.locator("#act-resume").is_enabled()

    # the customer leaves, and comes back "days later" on another device
    customer.context.close()
    server.shell(
        "from datetime import timedelta; from django.utils import timezone; "
        "from conversations.models import Conversation; "
        "c = Conversation.objects.get(customer__subject='demo-carol'); "
        "c.messages.update(sent_at=timezone.now() - timedelta(days=3)); "
        "Conversation.objects.filter(pk=c.pk).update(last_customer_message_at=timezone.now() - timedelta(days=3))"
    )
    returning = new_page(1280, 800)
    chat = shop(returning, server, "demo-carol")
    chat.locator(".msg .bubble", has_text="checking with the courier").wait_for()  # history on the new device

    # opening the site again is not "returning" (PROTOCOL.md, Routing additions): writing is
    send_text(chat, "Any news?")
    agent.locator(".toast-returned", has_text="Customer returned").wait_for()
    waiting = item(agent, "waiting", "Carol")
    waiting.locator(".badge-returned").wait_for()
    agent.locator("#conv-banner[data-kind=returned]").wait_for()
    agent.locator("#message-list .bubble", has_text="Any news?").wait_for()

    # Resume (keyboard shortcut Alt+R), answer, End
    agent.locator("#messages").click()
    agent.keyboard.press("Alt+KeyR")
    item(agent, "active", "Carol").wait_for()
    agent.locator("#capacity-text", has_text="10 / 100").wait_for()
    assert agent.locator(".badge-returned").count() == 0
    composer.fill("Yes: it arrives tomorrow.")
    composer.press("Enter")
    chat.locator(".msg .bubble", has_text="it arrives tomorrow").wait_for()
    agent.click("#act-end")
    agent.click("#end-yes")  # End asks first
    chat.locator("#chat[data-state=closed]").wait_for(state="attached")
    agent.locator("#list-active .conv-item").first.wait_for(state="detached")
    agent.locator("#capacity-text", has_text="0 / 100").wait_for()
    assert agent.locator("#act-end").is_hidden()


def test_push_assignment_appears_without_reload_and_survives_a_reload(server, new_page):
    agent = open_workspace(new_page(1280, 800), server, "alice")
    go_available(agent)
    before = agent.locator("#list-active .conv-item").count()

    customer = new_page()
    chat = shop(customer, server, f"demo-dave-{uuid.uuid4().hex[:6]}")
    send_text(chat, "Do you ship to Norway?")
    wait_delivered(chat, 1)

    entry = agent.locator("#list-active .conv-item", has_text="Do you ship to Norway?")
    entry.wait_for()
    assert agent.locator("#list-active .conv-item").count() == before + 1
    assert entry.locator(".unread").inner_text() == "1"
    agent.locator(".toast", has_text="New conversation assigned").wait_for()
    assert re.match(r"^\(\d+\) ", agent.title())

    entry.locator("button").click()
    agent.locator("#message-list .bubble", has_text="Norway").wait_for()
    shot(agent, "1280")

    # a reload keeps presence, the conversation and nothing is duplicated
    agent.reload()
    agent.locator("#ws[data-connection=connected]").wait_for(state="attached")
    assert agent.locator("#presence").input_value() == "available"
    agent.locator("#message-list .bubble", has_text="Norway").wait_for()
    assert agent.locator("#message-list .bubble", has_text="Norway").count() == 1


def test_signing_out_in_one_tab_takes_the_other_tab_to_the_sign_in_page(server, new_page):
    first = open_workspace(new_page(1280, 800), server, "pete")
    second = first.context.new_page()  # the same browser: one session, two tabs
    second.goto(f"{server.url}/workspace/")
    second.locator("#ws[data-connection=connected]").wait_for(state="attached")
    first.locator("form.signout button").click()
    # the server closes every socket of the session with 4403; the tab loads itself again and lands on
    # the sign-in page instead of reconnecting for ever
    second.wait_for_url(re.compile(r"/accounts/login/\?next=/workspace/"), timeout=15000)
    assert second.locator("input[name=username]").is_visible()


def test_pick_mode_one_agent_wins_and_the_other_sees_it_leave_the_queue(server, new_page):
    pia = open_workspace(new_page(1280, 800), server, "pia")
    pete = open_workspace(new_page(1280, 800), server, "pete")

    customer = new_page()
    customer.goto(f"{server.url}/healthz")  # same origin as the server, which the widget socket accepts
    customer.evaluate(
        """(url) => new Promise((resolve) => {
            const ws = new WebSocket(url);
            window.chat = ws;
            ws.onopen = () => ws.send(JSON.stringify({type: "hello", token: null, visitor: null}));
            ws.onmessage = (e) => {
                const f = JSON.parse(e.data);
                if (f.type === "welcome") ws.send(JSON.stringify({type: "send", client_id: "q1", text: "Pick me"}));
                if (f.type === "ack") resolve();
            };
        })""",
        f"{server.ws_url}/ws/widget/pick-live/",
    )

    for page in (pia, pete):
        page.locator("#list-queue .queue-item", has_text="Pick me").wait_for()
    assert pia.locator("#count-queue").inner_text() == "1"

    pia.locator("#list-queue .queue-item", has_text="Pick me").locator(".pick-button").click()
    pia.locator("#list-active .conv-item", has_text="Pick me").wait_for()
    pia.locator("#message-list .bubble", has_text="Pick me").wait_for()
    pete.locator("#list-queue .queue-item").first.wait_for(state="detached")
    assert pete.locator("#count-queue").inner_text() == "0"
    assert pete.locator("#list-active .conv-item", has_text="Pick me").count() == 0
    assert pia.locator("#capacity-text").inner_text() == "10 / 100"
    # live chat has no waiting state: ✖ is not offered
    assert pia.locator("#act-set-aside").is_hidden()


class RawCustomer:
    """A customer's widget socket without a browser, for building busy scenes quickly."""

    def __init__(self, server, widget: str, demo_customer: str | None = None) -> None:
        from websockets.sync.client import connect

        token = None
        if demo_customer:
            with urllib.request.urlopen(f"{server.url}/demo/token/?customer={demo_customer}") as response:  # noqa: S310
                token = json.load(response)["token"]
        self.connection = connect(f"{server.ws_url}/ws/widget/{widget}/", origin=server.url, proxy=None)
        self.connection.send(json.dumps({"type": "hello", "token": token, "visitor": None}))
        self.expect("welcome")

    def expect(self, kind: str) -> dict:
        while True:
            frame = json.loads(self.connection.recv(timeout=10))
            if frame["type"] == kind:
                return frame

    def say(self, *texts: str) -> RawCustomer:
        for text in texts:
            self.connection.send(json.dumps({"type": "send", "client_id": uuid.uuid4().hex, "text": text}))
            self.expect("ack")
        return self

    def typing(self) -> None:
        self.connection.send(json.dumps({"type": "typing", "active": True}))

    def close(self) -> None:
        self.connection.close()


def test_replies_written_while_disconnected_go_out_once_in_every_conversation(server, new_page):
    """The server goes away while alice answers two customers, switching between them: when it is
    back, both replies reach their customer exactly once."""
    agent = open_workspace(new_page(1280, 800), server, "alice")
    go_available(agent)
    tag = uuid.uuid4().hex[:6]
    chats = {}
    for name in ("erin", "fred"):
        chat = shop(new_page(), server, f"demo-{name}-{tag}")
        send_text(chat, f"Question from {name} {tag}")
        wait_delivered(chat, 1)
        chats[name] = chat
    entries = {name: agent.locator("#list-active .conv-item", has_text=f"Question from {name} {tag}") for name in chats}
    entries["erin"].locator("button").click()
    agent.locator("#message-list .bubble", has_text=f"Question from erin {tag}").wait_for()

    server.stop()
    agent.locator("#ws[data-connection=reconnecting]").wait_for(state="attached")
    composer = agent.locator("#composer-input")
    composer.fill(f"Answer for erin {tag}")
    composer.press("Enter")
    agent.locator("#message-list .msg.pending .bubble", has_text=f"Answer for erin {tag}").wait_for()
    entries["fred"].locator("button").click()  # to another conversation before the reply went out
    composer.fill(f"Answer for fred {tag}")
    composer.press("Enter")
    agent.locator("#message-list .msg.pending .bubble", has_text=f"Answer for fred {tag}").wait_for()

    server.start()
    agent.locator("#ws[data-connection=connected]").wait_for(state="attached", timeout=40000)
    for name, chat in chats.items():
        chat.locator(".msg .bubble", has_text=f"Answer for {name} {tag}").wait_for(timeout=40000)
    agent.locator("#message-list .msg-agent:not(.pending) .bubble", has_text=f"Answer for fred {tag}").wait_for()
    stored = server.shell(
        "from conversations.models import Message; "
        f"print(Message.objects.filter(text__startswith='Answer for', text__endswith='{tag}').count())"
    )
    assert stored.strip().splitlines()[-1] == "2"
    for name, chat in chats.items():
        assert chat.locator(".msg .bubble", has_text=f"Answer for {name} {tag}").count() == 1


def test_screenshots_of_a_busy_workspace(server, new_page):
    """Runs last: leaves a conversation in the pick queue. Writes workspace-*.png (see SCREENSHOTS)."""
    server.shell(
        "from routing.models import AgentProfile, Queue; "
        "Queue.objects.get(name='Pick desk').members.add(AgentProfile.objects.get(user__username='alice'))"
    )
    signin = new_page(1280, 800)
    signin.goto(f"{server.url}/accounts/login/?next=/workspace/")
    shot(signin, "signin")

    agent = open_workspace(new_page(1920, 1080), server, "alice")
    go_available(agent)
    dana = RawCustomer(server, "demo-persistent", "demo-customer-1").say("Thanks for the quick help last week!")
    item(agent, "active", "Dana Demo").locator("button").click()
    agent.fill("#composer-input", "You are welcome, Dana! I will keep this chat open for you.")
    agent.press("#composer-input", "Enter")
    agent.locator("#message-list .msg-agent:not(.pending)").wait_for()
    agent.click("#act-set-aside")
    item(agent, "waiting", "Dana Demo").wait_for()

    RawCustomer(server, "demo-persistent", "demo-customer-2").say("Can I change the grind size of my subscription?")
    RawCustomer(server, "demo-live").say("Do you ship to Norway?")
    olga = RawCustomer(server, "demo-persistent", "demo-customer-3")
    olga.say("Hi! My order #1042 still has not arrived.", "It was due on Monday.")
    RawCustomer(server, "pick-live").say("Could someone send me a copy of my invoice?")
    agent.locator("#list-queue .queue-item").first.wait_for()

    item(agent, "active", "Olga Orlova").locator("button").click()
    agent.fill("#composer-input", "Hello Olga, sorry for the wait.\nLet me check with the courier right away.")
    agent.press("#composer-input", "Enter")
    agent.locator("#message-list .msg-agent:not(.pending)").wait_for()
    olga.say("Thank you! The tracking number is NW-58213.")
    dana.close()
    # Dana returns and writes: the agent is told
    RawCustomer(server, "demo-persistent", "demo-customer-1").say("One more thing: can I pause my subscription?")
    agent.locator(".toast-returned").wait_for()
    olga.typing()
    agent.locator("#typing.on").wait_for()
    agent.fill("#composer-input", "Found it: the parcel is at the local depot")
    while agent.locator(".toast-assigned").count():
        agent.locator(".toast-assigned .toast-close").first.click()
    shot(agent, "1920")

    agent.set_viewport_size({"width": 1280, "height": 800})
    agent.locator("#typing.on").wait_for()
    shot(agent, "1280")
    agent.locator("#act-set-aside").hover()
    agent.locator("#tip-set-aside").wait_for(state="visible")
    shot(agent, "set-aside-tooltip")
    agent.keyboard.press("Escape")
    agent.locator("#messages").click()
    agent.keyboard.press("?")
    agent.locator("#help").wait_for()
    shot(agent, "shortcuts")

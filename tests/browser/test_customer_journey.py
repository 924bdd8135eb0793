"""The customer's journey in a real browser: survey then chat, a dragged PNG that the agent sees,
the rating after the end, leaving a message with no agent online, downloading a transcript."""

from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path

import pytest

from tests.browser.conftest import sign_in_page, wait_connected

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def sample_png(width: int = 240, height: int = 150) -> bytes:
    """A real PNG of a blue-to-green gradient, big enough to see in the screenshots."""
    rows = b"".join(
        b"\x00" + b"".join(bytes((30, 80 + 150 * x // width, 200 - 120 * y // height)) for x in range(width))
        for y in range(height)
    )

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


PNG = sample_png()
SURVEY = [
    {"name": "name", "label": "Your name", "kind": "text", "required": True},
    {"name": "email", "label": "Email", "kind": "email", "required": True},
    {"name": "topic", "label": "Topic", "kind": "choice", "required": True, "choices": ["Billing", "Delivery"]},
]


def expect(locator):
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


@pytest.fixture(scope="module")
def journey(parley):
    """Widgets of the customer's journey on the session's server (added to the demo configuration)."""
    parley.import_config(
        {
            "version": 1,
            "queues": [{"name": "Empty desk", "members": [], "assignment_method": "round_robin"}],
            "workstreams": [
                {
                    "name": "Journey live",
                    "persistent": False,
                    "same_agent": False,
                    "distribution": "push",
                    "capacity_units": 10,
                    "queue": "Support",
                    "wrap_up_seconds": 0,
                },
                {
                    "name": "Nobody home",
                    "persistent": False,
                    "same_agent": False,
                    "distribution": "push",
                    "capacity_units": 10,
                    "queue": "Empty desk",
                    "wrap_up_seconds": 0,
                },
            ],
            "chat_widgets": [
                {
                    "name": "Journey survey",
                    "public_id": "journey-survey",
                    "workstream": "Journey live",
                    "title": "Northwind help",
                    "language": "en",
                    "pre_chat": SURVEY,
                    "post_chat_survey": True,
                },
                {
                    "name": "Journey files",
                    "public_id": "journey-files",
                    "workstream": "Journey live",
                    "title": "Northwind files",
                    "language": "en",
                },
                {
                    "name": "Journey nobody",
                    "public_id": "journey-nobody",
                    "workstream": "Nobody home",
                    "title": "Northwind help",
                    "language": "en",
                    "email_notifications": True,
                },
            ],
        }
    )
    return parley


def frame_page(new_page, parley, public_id):
    page = new_page(viewport={"width": 400, "height": 680})
    page.goto(f"{parley.url}/widget/{public_id}/frame/")
    wait_connected(page)
    return page


def shot(page, name):
    from tests.browser.conftest import SCREENSHOTS

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"journey-{name}.png"))


def start_chat(page, text="Hello"):
    page.locator("#input").fill(text)
    page.locator("#input").press("Enter")
    page.locator(".msg.pending").first.wait_for(state="detached")


def test_survey_then_chat(journey, new_page, agent_socket):
    alice = agent_socket("alice").available()
    page = frame_page(new_page, journey, "journey-survey")
    expect(page.locator("#survey")).to_be_visible()
    expect(page.locator("#composer")).to_be_hidden()
    page.fill("#pc-name", "Carol Survey")
    page.fill("#pc-email", "not an email")
    page.locator("#survey-submit").click()
    expect(page.locator("#pc-email-error")).to_have_text("Enter a valid email address.")
    expect(page.locator("#pc-topic-error")).to_have_text("Please fill in this field.")
    shot(page, "survey-errors")
    page.fill("#pc-email", "carol@example.com")
    page.select_option("#pc-topic", "Delivery")
    page.locator("#survey-submit").click()
    expect(page.locator("#survey")).to_be_hidden()
    expect(page.locator("#composer")).to_be_visible()
    start_chat(page, "My parcel is late")
    conversation_id = None
    for _ in range(5):
        frame = alice.expect("assigned")
        if frame["conversation"]["customer"]["name"] == "Carol Survey":
            conversation_id = frame["conversation"]["id"]
            break
    assert conversation_id, "the agent did not get the survey's answers"
    opened = alice.request({"type": "open", "conversation_id": conversation_id})
    assert opened["conversation"]["messages"][0]["text"] == "My parcel is late"
    assert opened["conversation"]["pre_chat"] == {
        "name": "Carol Survey",
        "email": "carol@example.com",
        "topic": "Delivery",
    }
    shot(page, "survey-then-chat")


def test_drag_a_png_and_the_agent_sees_the_preview(journey, new_page, agent_socket, tmp_path):
    alice = agent_socket("alice").available()
    page = frame_page(new_page, journey, "journey-files")
    data = json.dumps(list(PNG))
    page.evaluate(
        """(bytes) => {
            const file = new File([new Uint8Array(JSON.parse(bytes))], "screenshot.png", {type: "image/png"});
            const transfer = new DataTransfer();
            transfer.items.add(file);
            const chat = document.getElementById("chat");
            chat.dispatchEvent(new DragEvent("dragover", {dataTransfer: transfer, bubbles: true, cancelable: true}));
            chat.dispatchEvent(new DragEvent("drop", {dataTransfer: transfer, bubbles: true, cancelable: true}));
        }""",
        data,
    )
    expect(page.locator(".chip.chip-ready")).to_have_count(1)
    expect(page.locator(".chip-preview")).to_be_visible()
    shot(page, "attachment-tray")
    page.fill("#input", "Here is the damage")
    page.locator("#input").press("Enter")
    image = page.locator(".msg-customer .attachment-image img")
    expect(image).to_be_visible()
    conversation_id = alice.expect("assigned")["conversation"]["id"]
    # the agent's workspace shows the preview
    workspace = new_page()
    sign_in_page(workspace, journey.url, "alice")
    workspace.goto(f"{journey.url}/workspace/")
    workspace.locator(f"li[data-id='{conversation_id}']").first.click()
    preview = workspace.locator(".message-list .attachment-image img")
    expect(preview).to_be_visible()
    # visible once laid out; its pixels arrive after (a busy machine shows the gap): wait for them, then check
    workspace.wait_for_function("(img) => img.complete && img.naturalWidth > 0", arg=preview.element_handle())
    assert workspace.evaluate("(img) => img.naturalWidth", preview.element_handle()) == 240
    shot(page, "attachment-sent")
    shot(workspace, "workspace-preview")


def test_rate_after_the_end(journey, new_page, agent_socket):
    alice = agent_socket("alice").available()
    page = frame_page(new_page, journey, "journey-survey")
    page.fill("#pc-name", "Rita Rating")
    page.fill("#pc-email", "rita@example.com")
    page.select_option("#pc-topic", "Billing")
    page.locator("#survey-submit").click()
    start_chat(page, "Please refund me")
    conversation_id = None
    for _ in range(5):
        frame = alice.expect("assigned")
        if frame["conversation"]["customer"]["name"] == "Rita Rating":
            conversation_id = frame["conversation"]["id"]
            break
    assert conversation_id
    assert alice.request({"type": "end", "conversation_id": conversation_id})["type"] == "ok"
    expect(page.locator("#rating")).to_be_visible()
    # keyboard: focus the first star, move to the fourth with the arrow keys
    page.locator("#star-1").focus()
    for _ in range(3):
        page.keyboard.press("ArrowRight")
    expect(page.locator("#star-4")).to_be_checked()
    page.fill("#rating-comment", "Quick and kind")
    shot(page, "rating")
    page.locator("#rating-form button[type=submit]").click()
    expect(page.locator("#rating-status")).to_have_text("Thank you for your rating!")
    rating = alice.expect("rating", conversation_id=conversation_id)
    assert rating["rating"] == {**rating["rating"], "score": 4, "comment": "Quick and kind"}


def test_leave_a_message_with_no_agent_online(journey, new_page):
    page = frame_page(new_page, journey, "journey-nobody")
    start_chat(page, "Is anyone there?")
    expect(page.locator("#leave")).to_be_visible()
    page.fill("#leave-email", "nope")
    page.fill("#leave-text", "Please call me about order 42")
    page.locator("#leave button[type=submit]").click()
    expect(page.locator("#leave-email-error")).to_have_text("Enter a valid email address.")
    shot(page, "leave-message")
    page.fill("#leave-email", "visitor@example.com")
    page.locator("#leave button[type=submit]").click()
    expect(page.locator("#left")).to_be_visible()
    expect(page.locator(".msg-customer .bubble").last).to_have_text("Please call me about order 42")
    shot(page, "message-left")
    stored = (
        journey.shell(
            "from conversations.models import Conversation; "
            "c = Conversation.objects.filter(widget__public_id='journey-nobody')"
            ".select_related('customer').latest('created_at'); "
            "print(c.left_message, c.customer.email)"
        )
        .strip()
        .splitlines()[-1]
    )
    assert stored == "True visitor@example.com"


def test_download_a_transcript(journey, new_page, agent_socket):
    alice = agent_socket("alice").available()
    page = frame_page(new_page, journey, "journey-files")
    start_chat(page, "Transcript <please>")
    conversation_id = alice.expect("assigned")["conversation"]["id"]
    alice.reply(conversation_id, "Of course.")
    expect(page.locator(".msg-agent .bubble").last).to_have_text("Of course.")
    page.locator("#menu-button").click()
    expect(page.locator("#menu")).to_be_visible()
    shot(page, "menu")
    with page.expect_download() as info:
        page.locator("#menu-txt").click()
    text = Path(info.value.path()).read_text()
    assert "Transcript <please>" in text and "Alice Smith: Of course." in text
    with page.expect_download() as info:
        page.locator("#menu-html").click()
    html = Path(info.value.path()).read_text()
    assert "Transcript &lt;please&gt;" in html


def test_a_persistent_customer_sees_earlier_conversations_above_with_dividers(site, new_page, agent_socket):
    from tests.browser.conftest import open_widget

    alice = agent_socket("alice").available()
    page = new_page()
    page.goto(site.page("demo-persistent", sub="earlier-erin"))
    chat = open_widget(page)
    wait_connected(chat)
    chat.locator("#input").fill("My first question")
    chat.locator("#input").press("Enter")
    first = alice.assigned_to("Earlier-Erin")
    alice.reply(first, "Answered, thank you.")
    assert alice.request({"type": "end", "conversation_id": first})["type"] == "ok"
    expect(chat.locator(".msg-agent .bubble").last).to_have_text("Answered, thank you.")
    chat.locator("#input").fill("A new question")
    chat.locator("#input").press("Enter")
    alice.assigned_to("Earlier-Erin")
    page.reload()
    chat = open_widget(page)
    wait_connected(chat)
    earlier = chat.locator(".earlier")
    expect(earlier.locator(".divider").first).to_contain_text("Conversation of")
    expect(earlier.locator(".bubble").first).to_have_text("My first question")
    expect(chat.locator(".msg:not(.msg-earlier) .bubble").last).to_have_text("A new question")
    shot(page, "earlier-conversations")

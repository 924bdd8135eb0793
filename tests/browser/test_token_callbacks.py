"""The site's token function in a real browser: it may return the token, return a Promise of it, or call
the callback it is given; and the loader calls only the configured function, whatever the frame asks."""

from __future__ import annotations

import json

import pytest

from tests.browser.conftest import open_widget, send_text, wait_connected, wait_delivered
from tests.support.tokens import customer_token

pytestmark = [pytest.mark.browser, pytest.mark.slow]

STYLES = {
    "returns": "function () { calls += 1; return TOKEN; }",
    "promise": "function () { calls += 1; return new Promise(function (r) { setTimeout(r, 50, TOKEN); }); }",
    "callback": "function (callback) { calls += 1; setTimeout(function () { callback(TOKEN); }, 50); }",
}


def site_page(page, site, parley, style: str, sub: str, **query) -> str:
    """The customer site's page with the widget; its getChatToken (defined before the page's scripts run)
    answers in ``style``."""
    token = customer_token(site.private_pem, sub, name=sub.title())
    page.add_init_script(
        "if (window.top === window) {"
        f"var TOKEN = {json.dumps(token)}; var calls = 0;"
        "window.tokenCalls = function () { return calls; }; window.stolen = false;"
        "window.stealSecret = function () { window.stolen = true; return 'secret'; };"
        f"window.getChatToken = {STYLES[style]};"
        "}"
    )
    return site.page("demo-persistent", **query)


@pytest.mark.parametrize("style", ["returns", "promise", "callback"])
def test_each_style_of_token_function_signs_the_customer_in(parley, site, new_page, style):
    page = new_page()
    page.goto(site_page(page, site, parley, style, f"cb-{style}"))
    chat = open_widget(page)
    wait_connected(chat)
    assert page.evaluate("window.tokenCalls()") == 1
    send_text(chat, f"Signed in by a token function that {style}")
    wait_delivered(chat, 1)


def test_the_loader_calls_only_the_configured_function_whatever_the_frame_asks(parley, site, new_page):
    page = new_page()
    page.goto(site_page(page, site, parley, "returns", "cb-frame-asks"))
    chat = open_widget(page)
    wait_connected(chat)
    frame = next(f for f in page.frames if "/widget/demo-persistent/frame/" in f.url)
    frame.evaluate(
        "window.parent.postMessage({parley: 'demo-persistent', type: 'token_request', fn: 'stealSecret'}, '*')"
    )
    page.wait_for_function("window.tokenCalls() === 2")
    assert page.evaluate("window.stolen") is False


def test_the_snippet_may_name_the_function_so_the_loader_needs_no_request(parley, site, new_page):
    page = new_page()
    asked = []
    page.on("request", lambda request: asked.append(request.url) if "loader.json" in request.url else None)
    page.goto(site_page(page, site, parley, "callback", "cb-attribute", token_function="getChatToken"))
    chat = open_widget(page)
    wait_connected(chat)
    assert page.evaluate("window.tokenCalls()") == 1
    assert asked == []

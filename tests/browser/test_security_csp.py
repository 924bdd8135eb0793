"""Parley's pages work under their Content-Security-Policy (config/security.py and
the widget frame's own policy): a real browser reports no CSP violation on the
sign-in page, the workspace, the admin center, the demo shop with its widget,
and a customer's website embedding the widget. Owned by the security brief
(docs/security.md); uses the shared fixtures of tests/browser/conftest.py."""

from __future__ import annotations

import pytest

from tests.browser.conftest import open_widget, sign_in_page, wait_connected

pytestmark = pytest.mark.browser

WATCH = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(e.violatedDirective + " " + e.blockedURI);
});
"""


def watch(page) -> list[str]:
    """CSP violations of the page and its frames, as the browser reports them on the console."""
    reports: list[str] = []
    page.on(
        "console", lambda message: reports.append(message.text) if "Content Security Policy" in message.text else None
    )
    page.add_init_script(WATCH)
    return reports


def violations(page, reports: list[str]) -> list[str]:
    found = list(reports)
    for frame in page.frames:
        try:
            found += frame.evaluate("window.__cspViolations || []")
        except Exception:  # noqa: S112 - a detached frame has nothing to report
            continue
    return found


def test_workspace_sign_in_and_admin_pages_have_no_csp_violation(parley, new_page):
    page = new_page()
    reports = watch(page)
    response = page.goto(f"{parley.url}/accounts/login/")
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    sign_in_page(page, parley.url, "alice")
    page.goto(f"{parley.url}/workspace/")
    page.locator("body").wait_for()
    page.wait_for_timeout(1500)  # the workspace connects its socket and renders
    page.goto(f"{parley.url}/admin/login/")
    page.locator("body").wait_for()
    assert violations(page, reports) == []


def test_demo_shop_and_a_customer_site_with_the_widget_have_no_csp_violation(parley, site, new_page, agent_socket):
    agent_socket("alice").available()  # live chat shows its launcher while someone is online
    for url in (f"{parley.url}/demo/live/", site.page("demo-live")):
        page = new_page()
        reports = watch(page)
        page.goto(url)
        chat = open_widget(page)
        wait_connected(chat)
        assert violations(page, reports) == [], url

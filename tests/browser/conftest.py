"""Shared fixtures for real-browser tests: Playwright for Python driving Debian's chromium.

- ``parley``: one real Parley server (daphne subprocess, tests.support.server) for the
  session, loaded with a demo-like configuration (``demo_config``): the persistent
  widget ``demo-persistent`` signed in through the demo shop, the live widget
  ``demo-live``, and ``after-hours`` whose queue is never open. Agents ``alice``
  (Support queue) and ``bob`` (the after-hours queue), passwords in ``PASSWORDS``.
- ``site``: a second web server on another origin, a customer's website that
  embeds a widget with the one script tag: ``site.page(public_id)``.
- ``browser``: chromium; ``new_page``: a fresh browser context (one "device").
- ``agent_socket(username)``: the agent's side as a raw protocol client, signed in
  through the real sign-in page; ``sign_in_page(page, username)`` signs a page in.

Without /usr/bin/chromium or the playwright package the browser tests are skipped
with the reason; with ``PARLEY_REQUIRE_BROWSER=1`` (CI) they fail instead.
"""

from __future__ import annotations

import contextlib
import http.server
import json
import os
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

import pytest

from admin_center.demo_keys import ensure_demo_keys
from tests.support.http import sign_in
from tests.support.server import ParleyServer, free_port
from tests.support.tokens import customer_token

CHROMIUM = "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parents[2]
# Screenshots go to a scratch directory so that a test run leaves the checkout
# as it was; PARLEY_SCREENSHOTS_DIR=docs/images refreshes the docs' pictures.
SCREENSHOTS = Path(
    os.environ.get("PARLEY_SCREENSHOTS_DIR") or Path(tempfile.gettempdir()) / "parley-screenshots"
).resolve()
# No sandbox as root; no background traffic to hosts this machine cannot reach.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PASSWORDS = {"alice": "alice-widget-pw-7", "bob": "bob-widget-pw-7"}


def browser_missing() -> str | None:
    """Why real-browser tests cannot run here, or None."""
    if not Path(CHROMIUM).exists():
        return f"{CHROMIUM} is not installed (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install -r requirements-dev.txt)"
    return None


def require_browser() -> None:
    reason = browser_missing()
    if reason is None:
        return
    if os.environ.get("PARLEY_REQUIRE_BROWSER") == "1":
        pytest.fail(f"PARLEY_REQUIRE_BROWSER=1 but {reason}", pytrace=False)
    pytest.skip(reason)


def demo_config(public_pem: str, site_origin: str) -> dict:
    """A demo-like configuration in the shape of ../shared/CONFIG.md."""
    workstream = {"same_agent": False, "distribution": "push", "capacity_units": 10, "wrap_up_seconds": 0}
    return {
        "version": 1,
        "operating_hours": [
            {"name": "Never", "timezone": "UTC", "weekly": {}, "closed_dates": []},
        ],
        "authentication_settings": [
            {
                "name": "Demo shop JWT",
                "public_key_pem": public_pem,
                "issuer": None,
                "javascript_function": "getChatToken",
            }
        ],
        "agents": [
            {"username": "alice", "password": PASSWORDS["alice"], "name": "Alice Smith", "capacity": 100},
            {"username": "bob", "password": PASSWORDS["bob"], "name": "Bob Brown", "capacity": 100},
        ],
        "queues": [
            {"name": "Support", "members": ["alice"], "assignment_method": "highest_capacity", "operating_hours": None},
            {"name": "Night desk", "members": ["bob"], "assignment_method": "round_robin", "operating_hours": "Never"},
        ],
        "workstreams": [
            {
                **workstream,
                "name": "Persistent support",
                "persistent": True,
                "same_agent": True,
                "queue": "Support",
                "auto_close_after_inactivity_seconds": 2419200,
            },
            {
                **workstream,
                "name": "Live support",
                "persistent": False,
                "queue": "Support",
                "auto_close_after_inactivity_seconds": 0,
            },
            {
                **workstream,
                "name": "After hours",
                "persistent": False,
                "queue": "Night desk",
                "auto_close_after_inactivity_seconds": 0,
            },
        ],
        "chat_widgets": [
            {
                "name": "Demo shop",
                "public_id": "demo-persistent",
                "workstream": "Persistent support",
                "authentication": "Demo shop JWT",
                "allowed_origins": [site_origin],
                "title": "Northwind Coffee",
                "language": "en",
                "enabled": True,
            },
            {
                "name": "Demo help centre",
                "public_id": "demo-live",
                "workstream": "Live support",
                "authentication": None,
                "allowed_origins": [site_origin],
                "title": "Live help",
                "language": "en",
                "enabled": True,
            },
            {
                "name": "After-hours help",
                "public_id": "after-hours",
                "workstream": "After hours",
                "authentication": None,
                "allowed_origins": [site_origin],
                "title": "Night owls",
                "language": "en",
                "enabled": True,
            },
        ],
    }


# The site's token function for signed-in widgets: counts its calls; with ?bad_first=1 its
# first answer is not a JWT; tokens live ?exp_in= seconds.
SITE_TOKEN_SCRIPT = """<script>
var calls = 0;
window.tokenCalls = function () { return calls; };
window.getChatToken = function () {
  calls += 1;
  if (calls === 1 && %(bad_first)s) return "not-a-jwt";
  return fetch("/token/%(sub)s?exp_in=%(exp_in)s").then(function (r) { return r.json(); })
    .then(function (d) { return d.token; });
};
</script>"""


class CustomerSite:
    """A customer's website on its own origin that embeds a Parley widget and,
    like a real website, signs its signed-in customers' tokens on its server."""

    def __init__(self, parley_url: str, private_pem: str) -> None:
        self.parley_url = parley_url
        self.private_pem = private_pem
        self.port = free_port()
        self.origin = f"http://127.0.0.1:{self.port}"
        site = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - the http.server API
                url = urllib.parse.urlsplit(self.path)
                query = dict(urllib.parse.parse_qsl(url.query))
                if url.path.startswith("/token/"):
                    sub = url.path.removeprefix("/token/")
                    token = customer_token(
                        site.private_pem, sub, name=sub.title(), exp_in=int(query.get("exp_in", "900"))
                    )
                    self.answer(json.dumps({"token": token}).encode(), "application/json")
                    return
                public_id = url.path.removeprefix("/embed/")
                script = ""
                if "sub" in query:
                    script = SITE_TOKEN_SCRIPT % {
                        "sub": urllib.parse.quote(query["sub"]),
                        "exp_in": int(query.get("exp_in", "900")),
                        "bad_first": "true" if query.get("bad_first") else "false",
                    }
                # ?token_function=NAME embeds the snippet with data-parley-token-function (docs/widget.md).
                name = query.get("token_function", "")
                token_function = f" data-parley-token-function='{name}'" if name.replace(".", "").isalnum() else ""
                body = (
                    "<!DOCTYPE html><html><head><meta charset='utf-8'><title>Customer site</title></head>"
                    f"<body style='font-family:system-ui;background:#f8fafc'><h1>A customer's website</h1>{script}"
                    f"<script src='{site.parley_url}/static/widget/loader.js' data-parley-widget='{public_id}'"
                    f"{token_function} async>"
                    "</script></body></html>"
                ).encode()
                self.answer(body, "text/html; charset=utf-8")

            def answer(self, body: bytes, content_type: str) -> None:
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def page(self, public_id: str, host: str = "127.0.0.1", **query) -> str:
        suffix = f"?{urllib.parse.urlencode(query)}" if query else ""
        return f"http://{host}:{self.port}/embed/{public_id}{suffix}"

    def start(self) -> CustomerSite:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="session")
def _site_holder():
    holder: dict = {}
    yield holder
    if "site" in holder:
        holder["site"].stop()


def demo_keys(server: ParleyServer) -> tuple[str, str]:
    """The demo's key pair (private PEM, public PEM) in ``server``'s key directory, made there on first
    use (here, not in a child process: the server reads the same files)."""
    return ensure_demo_keys(server.demo_key_dir)


@contextlib.contextmanager
def own_server(make_config):
    """A module's own Parley server (so that its agents never meet the session server's): the demo key
    pair and the configuration ``make_config(public_pem, server_url)``."""
    require_browser()
    with ParleyServer() as server:
        server.import_config(make_config(demo_keys(server)[1], server.url))
        yield server


@pytest.fixture(scope="session")
def parley(_site_holder):
    """The session's Parley server with the demo-like configuration."""
    with ParleyServer() as server:
        private_pem, public_pem = demo_keys(server)
        site = CustomerSite(server.url, private_pem).start()
        _site_holder["site"] = site
        server.import_config(demo_config(public_pem, site.origin))
        _RUNNING["parley"] = server
        yield server
        _RUNNING.pop("parley", None)


_RUNNING: dict = {}

# Closes what a module left open, as the inactivity timer would: every module starts with the agents'
# capacity free (alice has room for ten conversations of ten units; a module that leaves some open
# would otherwise starve the next one's routing).
CLOSE_LEFTOVERS = (
    "from conversations.actions.lifecycle import close_by_system; "
    "from conversations.models import Conversation; "
    "from conversations.actions.transitions import TABLE; "
    "ids = list(Conversation.objects.filter(state__in=TABLE['system_close'].starts).values_list('pk', flat=True)); "
    "print(sum(close_by_system(pk, 'inactivity') for pk in ids))"
)


@pytest.fixture(autouse=True, scope="module")
def _close_what_the_module_left_open():
    yield
    if (server := _RUNNING.get("parley")) is not None:
        server.shell(CLOSE_LEFTOVERS)


@pytest.fixture(scope="session")
def site(parley, _site_holder) -> CustomerSite:
    return _site_holder["site"]


@pytest.fixture(scope="module")
def browser():
    """One chromium per test module. Playwright's sync API runs an event loop in this thread while it
    lives; ending it with the module lets the asyncio tests that pytest-xdist sends to the same worker
    afterwards run (they refuse to start inside a running loop)."""
    require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def new_page(browser):
    """``new_page(**context_options)`` -> a page in a fresh context (a separate device)."""
    contexts = []

    def make(**options):
        options.setdefault("viewport", {"width": 1280, "height": 800})
        options.setdefault("locale", "en-GB")
        options.setdefault("timezone_id", "Europe/Berlin")
        context = browser.new_context(**options)
        context.set_default_timeout(15000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        with contextlib.suppress(Exception):
            context.close()


def sign_in_page(page, base_url: str, username: str) -> None:
    """Sign a Playwright page in through the real sign-in form."""
    page.goto(f"{base_url}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORDS[username])
    page.click("[type=submit]")
    page.wait_for_load_state()


class AgentSocket:
    """The agent's side of a conversation as a raw protocol client (PROTOCOL.md, agent socket)."""

    def __init__(self, server: ParleyServer, username: str) -> None:
        from websockets.sync.client import connect

        cookie = sign_in(server.url, username, PASSWORDS[username])
        self.stack = contextlib.ExitStack()
        self.connection = self.stack.enter_context(
            connect(f"{server.ws_url}/ws/agent/", origin=server.url, additional_headers={"Cookie": cookie}, proxy=None)
        )
        self.buffer: list[dict] = []
        self.counter = 0
        self.welcome = self.expect("welcome")

    def send(self, frame: dict) -> None:
        self.connection.send(json.dumps(frame))

    def expect(self, kind: str, timeout: float = 10, **match) -> dict:
        def matches(frame: dict) -> bool:
            return frame.get("type") == kind and all(frame.get(k) == v for k, v in match.items())

        for i, frame in enumerate(self.buffer):
            if matches(frame):
                return self.buffer.pop(i)
        deadline = time.monotonic() + timeout
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                frame = json.loads(self.connection.recv(timeout=remaining))
            except TimeoutError:
                break
            if matches(frame):
                return frame
            self.buffer.append(frame)
        raise AssertionError(f"no {kind!r} {match or ''} within {timeout} s; got {self.buffer}")

    def request(self, frame: dict, timeout: float = 10) -> dict:
        self.counter += 1
        req = f"r{self.counter}"
        self.send({**frame, "req": req})
        deadline = time.monotonic() + timeout
        for i, buffered in enumerate(self.buffer):
            if buffered.get("req") == req:
                return self.buffer.pop(i)
        while (remaining := deadline - time.monotonic()) > 0:
            answer = json.loads(self.connection.recv(timeout=remaining))
            if answer.get("req") == req:
                return answer
            self.buffer.append(answer)
        raise AssertionError(f"no answer to {frame}")

    def available(self) -> AgentSocket:
        assert self.request({"type": "presence", "status": "available"})["type"] == "ok"
        return self

    def reply(self, conversation_id: str, text: str, client_id: str | None = None) -> dict:
        self.counter += 1
        client_id = client_id or f"agent-{time.monotonic_ns()}-{self.counter}"
        self.send({"type": "send", "conversation_id": conversation_id, "client_id": client_id, "text": text})
        return self.expect("ack", client_id=client_id)["message"]

    def assigned_to(self, customer_name: str, timeout: float = 10) -> str:
        """The id of the conversation routing assigns me for this customer."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            frame = self.expect("assigned", timeout=max(0.1, deadline - time.monotonic()))
            if frame["conversation"]["customer"]["name"] == customer_name:
                return frame["conversation"]["id"]
        raise AssertionError(f"no conversation of {customer_name} assigned")

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.stack.close()


@pytest.fixture
def agent_socket(parley):
    sockets: list[AgentSocket] = []

    def make(username: str = "alice") -> AgentSocket:
        socket = AgentSocket(parley, username)
        sockets.append(socket)
        return socket

    yield make
    for socket in sockets:
        socket.close()


# --- the widget from a test's point of view ---------------------------------------------------------

LAUNCHER = "[data-parley-widget-host] button.launcher"
FRAME = "[data-parley-widget-host] iframe"


def widget_frame(page):
    return page.frame_locator(FRAME)


def open_widget(page):
    """Click the launcher (if the chat is closed) and return the chat frame, connected."""
    launcher = page.locator(LAUNCHER)
    launcher.wait_for(state="visible")
    if launcher.get_attribute("aria-expanded") != "true":
        launcher.click()
    chat = widget_frame(page)
    chat.locator("#chat").wait_for(state="visible")
    return chat


def wait_connected(chat) -> None:
    chat.locator("#chat[data-connection=connected]").wait_for(state="attached")


def send_text(chat, text: str) -> None:
    chat.locator("#input").fill(text)
    chat.locator("#input").press("Enter")


def wait_delivered(chat, count: int | None = None) -> None:
    """Every message of mine is acknowledged (no pending mark left)."""
    chat.locator(".msg.pending").first.wait_for(state="detached")
    if count is not None:
        from playwright.sync_api import expect

        expect(chat.locator(".msg-customer:not(.pending)")).to_have_count(count)


def bubbles(chat) -> list[str]:
    return chat.locator(".msg .bubble").all_text_contents()


def screenshot(page, name: str, *, element: str | None = None) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    target = page.locator(element) if element else page
    target.screenshot(path=str(SCREENSHOTS / f"widget-{name}.png"))

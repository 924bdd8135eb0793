"""The production set-up of docs/deploy.md, exercised end to end.

nginx (Debian's package) terminates TLS with a self-signed certificate on loopback, using the very
configuration file the docs publish (docs/deploy/nginx-parley.conf, with ports and paths replaced), in
front of two daphne processes started with ``--proxy-headers`` on one PostgreSQL database and one Redis.
The customer's widget (the demo shop) and the agent's workspace run in chromium over https/wss through
nginx: one message each way; then the daphne process is killed, the sockets reconnect through nginx to
the other process, one more message goes each way, and nothing is lost.

It needs DATABASE_URL (PostgreSQL), REDIS_URL and nginx; elsewhere it is skipped with the reason, and
with ``PARLEY_REQUIRE_PRODUCTION=1`` (CI's PostgreSQL + Redis pass) a missing piece fails instead.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import re
import shutil
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.browser.conftest import open_widget, require_browser, send_text, wait_connected, wait_delivered
from tests.support.server import ParleyServer, free_port

pytestmark = [pytest.mark.browser, pytest.mark.production, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
RECIPE = ROOT / "docs" / "deploy" / "nginx-parley.conf"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
PASSWORD = "alice-deploy-pw-7"


def production_missing() -> str | None:
    if not os.environ.get("DATABASE_URL", "").startswith("postgres") or not os.environ.get("REDIS_URL"):
        return "the production set-up runs on PostgreSQL and Redis: set DATABASE_URL and REDIS_URL"
    if not Path(NGINX).exists():
        return "nginx is not installed (apt-get install nginx-light)"
    return None


def require_production() -> None:
    reason = production_missing()
    if reason is None:
        return
    if os.environ.get("PARLEY_REQUIRE_PRODUCTION") == "1":
        pytest.fail(f"PARLEY_REQUIRE_PRODUCTION=1 but {reason}", pytrace=False)
    pytest.skip(reason)


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


def nginx_config(directory: Path, https_port: int, http_port: int, upstreams: list[int]) -> Path:
    """The published recipe with this test's ports and paths, inside a minimal main configuration."""
    cert, key = self_signed_certificate(directory)
    site = RECIPE.read_text()
    servers = "".join(f"    server 127.0.0.1:{port} max_fails=1 fail_timeout=5s;\n" for port in upstreams)
    site, count = re.subn(r"(    server 127\.0\.0\.1:\d+ [^\n]*\n)+", servers, site)
    assert count == 1, "the recipe's upstream block changed shape"
    replacements = {
        "listen 443 ssl;": f"listen 127.0.0.1:{https_port} ssl;",
        "listen 80;": f"listen 127.0.0.1:{http_port};",
        "/etc/ssl/certs/chat.example.com.pem": str(cert),
        "/etc/ssl/private/chat.example.com.key": str(key),
        "/srv/parley/staticfiles/": str(directory / "static") + "/",
    }
    for old, new in replacements.items():
        assert old in site, f"the recipe no longer holds {old!r}"
        site = site.replace(old, new)
    (directory / "parley.conf").write_text(site)
    temp = directory / "temp"
    temp.mkdir()
    main = f"""
worker_processes 1;
pid {directory / "nginx.pid"};
error_log {directory / "error.log"} warn;
{"user root;" if os.geteuid() == 0 else ""}
events {{ worker_connections 256; }}
http {{
    # as Debian's /etc/nginx/nginx.conf: the browser runs the workspace's and widget's ES modules only
    # when they come as JavaScript (text/plain is refused)
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log {directory / "access.log"};
    client_body_temp_path {temp / "body"};
    proxy_temp_path {temp / "proxy"};
    fastcgi_temp_path {temp / "fastcgi"};
    uwsgi_temp_path {temp / "uwsgi"};
    scgi_temp_path {temp / "scgi"};
    include {directory / "parley.conf"};
}}
"""
    path = directory / "nginx.conf"
    path.write_text(main)
    return path


@pytest.fixture(scope="module")
def deployment(tmp_path_factory):
    require_browser()
    require_production()
    directory = tmp_path_factory.mktemp("nginx")
    https_port, http_port = free_port(), free_port()
    origin = f"https://127.0.0.1:{https_port}"
    env = {
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "CSRF_TRUSTED_ORIGINS": origin,
        "BEHIND_TLS_PROXY": "true",
        "SESSION_COOKIE_SECURE": "true",
        "CSRF_COOKIE_SECURE": "true",
        "PARLEY_PRESENCE_GRACE": "60",
        "STATIC_ROOT": str(directory / "static"),
    }
    first = ParleyServer(env=env, production=True, daphne_args=("--proxy-headers",))
    second = ParleyServer(env=env, share_with=first, daphne_args=("--proxy-headers",))
    nginx = None
    try:
        first.prepare()
        first.manage("collectstatic", "--noinput")
        first.manage("setup_demo", "--base-url", origin + "/")
        first.shell(
            "from django.contrib.auth import get_user_model; "
            f"u = get_user_model().objects.get(username='alice'); u.set_password({PASSWORD!r}); u.save()"
        )
        first.start()
        second.start()
        config = nginx_config(directory, https_port, http_port, [first.port, second.port])
        check = subprocess.run([NGINX, "-t", "-c", str(config)], capture_output=True, text=True)
        assert check.returncode == 0, check.stderr
        nginx = subprocess.Popen(
            [NGINX, "-c", str(config), "-g", "daemon off;"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        wait_for_https(origin + "/healthz", nginx)
        yield {"origin": origin, "servers": [first, second], "directory": directory}
    finally:
        if os.environ.get("PARLEY_DEBUG_DEPLOY"):
            print(
                first.log(), second.log(), (directory / "error.log").read_text(), (directory / "access.log").read_text()
            )
        if nginx is not None:
            os.killpg(nginx.pid, signal.SIGTERM)
            nginx.wait(timeout=10)
        second.cleanup()
        first.cleanup()


def wait_for_https(url: str, nginx: subprocess.Popen, timeout: float = 20) -> None:
    import ssl

    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert nginx.poll() is None, nginx.stderr.read().decode()
        try:
            with urllib.request.urlopen(url, timeout=2, context=context) as response:  # noqa: S310
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"nginx did not answer {url} within {timeout} s")


def test_widget_and_workspace_over_tls_through_nginx_survive_a_killed_process(deployment, browser):
    origin = deployment["origin"]
    agent_context = browser.new_context(ignore_https_errors=True, viewport={"width": 1280, "height": 800})
    customer_context = browser.new_context(ignore_https_errors=True, viewport={"width": 1280, "height": 800})
    agent_context.set_default_timeout(20000)
    customer_context.set_default_timeout(20000)
    try:
        agent = agent_context.new_page()
        agent.goto(f"{origin}/workspace/")
        agent.fill("#id_username", "alice")
        agent.fill("#id_password", PASSWORD)
        agent.click("button[type=submit]")
        agent.wait_for_url(re.compile(r".*/workspace/$"))
        agent.locator("#ws[data-connection=connected]").wait_for(state="attached")
        if agent.locator("#permission").is_visible():
            agent.click("#permission-no")
        agent.select_option("#presence", "available")
        agent.locator("#presence-dot[data-presence=available]").wait_for(state="attached")

        customer = customer_context.new_page()
        customer.goto(f"{origin}/demo/")
        chat = open_widget(customer)
        wait_connected(chat)
        assert customer.url.startswith("https://")

        send_text(chat, "Hello over TLS")
        wait_delivered(chat, 1)
        agent.locator("#list-active .conv-item", has_text="Dana").locator("button").click()
        agent.locator("#message-list .msg-customer .bubble", has_text="Hello over TLS").wait_for()
        composer = agent.locator("#composer-input")
        composer.fill("Hello back through nginx")
        composer.press("Enter")
        chat.locator(".msg .bubble", has_text="Hello back through nginx").wait_for()

        # Kill one daphne process outright, then the other: whichever held the sockets, they drop,
        # reconnect through nginx to the living process, and the conversation goes on, nothing lost.
        first, second = deployment["servers"]
        expected = ["Hello over TLS", "Hello back through nginx"]
        for round_, (victim, survivor) in enumerate([(first, second), (second, first)], start=1):
            if survivor.process is None:
                survivor.start()
            victim.kill()
            question, answer = f"Still there after crash {round_}?", f"Yes, on the other process ({round_})"
            send_text(chat, question)
            agent.locator("#message-list .msg-customer .bubble", has_text=question).wait_for()
            composer.fill(answer)
            composer.press("Enter")
            chat.locator(".msg .bubble", has_text=answer).wait_for()
            expected += [question, answer]

        wait_connected(chat)
        stored = survivor.shell(
            "from conversations.models import Message; "
            "print(repr([(m.seq, m.text) for m in Message.objects.order_by('seq')]))"
        )
        assert stored.strip().splitlines()[-1] == repr(list(enumerate(expected, start=1)))
        assert chat.locator(".msg .bubble").all_text_contents()[-len(expected) :] == expected
    finally:
        agent_context.close()
        customer_context.close()

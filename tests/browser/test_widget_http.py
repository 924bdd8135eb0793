"""The widget's HTTP side against the real server: the frame's headers, the loader, the demo token."""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request
from pathlib import Path

import jwt
import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


def fetch(url: str) -> tuple[int, dict, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode()


def test_frame_may_be_framed_only_by_the_widget_allowed_origins(parley, site):
    status, headers, body = fetch(f"{parley.url}/widget/demo-live/frame/?origin={site.origin}")
    assert status == 200
    policy = headers["Content-Security-Policy"]
    assert f"frame-ancestors 'self' {site.origin};" in policy
    assert "X-Frame-Options" not in headers
    config = json.loads(re.search(r'<script id="parley-config" type="application/json">(.*?)</script>', body).group(1))
    assert config["parentOrigin"] == site.origin
    assert config["mode"] == "live" and config["customerCanEnd"] is True


def test_frame_talks_to_no_parent_the_widget_does_not_allow(parley):
    status, _headers, body = fetch(f"{parley.url}/widget/demo-live/frame/?origin=https://evil.example")
    assert status == 200
    config = json.loads(re.search(r'<script id="parley-config" type="application/json">(.*?)</script>', body).group(1))
    assert config["parentOrigin"] is None


def test_persistent_frame_needs_the_site_token_function_and_cannot_end(parley):
    _status, _headers, body = fetch(f"{parley.url}/widget/demo-persistent/frame/")
    config = json.loads(re.search(r'<script id="parley-config" type="application/json">(.*?)</script>', body).group(1))
    assert config["auth"] is True and config["authFunction"] == "getChatToken"
    assert config["mode"] == "persistent" and config["customerCanEnd"] is False


def test_unknown_widget_has_no_frame(parley):
    assert fetch(f"{parley.url}/widget/no-such-widget/frame/")[0] == 404


def test_demo_token_is_a_15_minute_rs256_jwt_for_the_demo_customer(parley):
    public_pem = json.loads(
        parley.shell(
            "import json; from admin_center.demo_keys import ensure_demo_keys; print(json.dumps(ensure_demo_keys()[1]))"
        )
        .strip()
        .splitlines()[-1]
    )
    status, headers, body = fetch(f"{parley.url}/demo/token/")
    assert status == 200 and "no-store" in headers["Cache-Control"]
    token = json.loads(body)["token"]
    assert jwt.get_unverified_header(token)["alg"] == "RS256"
    claims = jwt.decode(token, public_pem, algorithms=["RS256"])
    assert claims["sub"] == "demo-customer-1" and claims["name"] == "Dana Demo"
    assert 890 <= claims["exp"] - int(time.time()) <= 900
    other = jwt.decode(
        json.loads(fetch(f"{parley.url}/demo/token/?customer=demo-customer-2")[2])["token"],
        public_pem,
        algorithms=["RS256"],
    )
    assert other["sub"] == "demo-customer-2" and other["name"] == "Max Miller"


def test_demo_pages_embed_the_widget_with_the_admin_center_snippet(parley):
    _status, _headers, body = fetch(f"{parley.url}/demo/")
    assert f'<script src="{parley.url}/static/widget/loader.js" data-parley-widget="demo-persistent" async>' in body
    _status, _headers, body = fetch(f"{parley.url}/demo/live/")
    assert 'data-parley-widget="demo-live"' in body


def test_demo_website_is_off_without_the_demo_setting():
    from tests.support.server import ParleyServer

    with ParleyServer(env={"PARLEY_DEMO": "false"}) as plain:
        assert fetch(f"{plain.url}/demo/")[0] == 404
        assert fetch(f"{plain.url}/demo/token/")[0] == 404


def test_loader_is_small_and_served_by_parley(parley):
    status, _headers, body = fetch(f"{parley.url}/static/widget/loader.js")
    assert status == 200
    assert len(body.encode()) < 10 * 1024
    assert (ROOT / "static" / "widget" / "loader.js").read_text() == body

"""Production headers and settings: the Content-Security-Policy of every
page (config/security.py) and of the widget frame, HSTS, secure cookies, and
``manage.py check --deploy`` clean with the production environment of
docs/security.md."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

from config.security import page_policy
from tests import factories

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.django_db


def directives(policy: str) -> dict[str, list[str]]:
    parsed = {}
    for part in policy.split(";"):
        words = part.split()
        if words:
            parsed[words[0]] = words[1:]
    return parsed


@pytest.mark.parametrize("path", ["/accounts/login/", "/workspace/", "/admin/login/", "/healthz"])
def test_pages_get_a_strict_policy(client, path):
    agent = factories.make_agent("alice")
    client.force_login(agent.user)
    response = client.get(path, follow=True)  # /admin/login/ leads to the one sign-in page, /accounts/login/
    assert response.status_code == 200, path
    policy = directives(response["Content-Security-Policy"])
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'"] and policy["style-src"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["object-src"] == ["'none'"] and policy["base-uri"] == ["'none'"]
    assert policy["connect-src"] == ["'self'", "ws://testserver"]
    assert not any("unsafe" in source for sources in policy.values() for source in sources)
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


def test_sockets_are_wss_on_https():
    response = Client().get("/accounts/login/", secure=True)
    assert directives(response["Content-Security-Policy"])["connect-src"] == ["'self'", "wss://testserver"]


def test_widget_frame_keeps_its_own_policy(client):
    widget = factories.make_setup(allowed_origins=["https://shop.example.com"])
    response = client.get(f"/widget/{widget.public_id}/frame/")
    assert response.status_code == 200
    policy = directives(response["Content-Security-Policy"])
    assert policy["frame-ancestors"] == ["'self'", "https://shop.example.com"]
    assert policy["script-src"] == ["'self'"]
    assert "X-Frame-Options" not in response  # framing is governed by frame-ancestors alone


def test_page_policy_survives_a_disallowed_host(rf):
    request = rf.get("/", HTTP_HOST="evil.example.net")
    assert directives(page_policy(request))["connect-src"] == ["'self'"]


def test_hsts_and_ssl_redirect_when_configured(settings):
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    settings.SECURE_SSL_REDIRECT = True
    client = Client()  # middleware reads the settings when the client's handler is built
    plain = client.get("/accounts/login/")
    assert plain.status_code == 301 and plain["Location"] == "https://testserver/accounts/login/"
    secure = client.get("/accounts/login/", secure=True)
    assert secure["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"


# --- the production environment, in a subprocess -------------------------------------------------------


def production_env(tmp_path, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_SETTINGS", "PYTEST"))}
    env.update(
        {
            "DEBUG": "false",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": "chat.example.com",
            "CSRF_TRUSTED_ORIGINS": "https://chat.example.com",
            "BEHIND_TLS_PROXY": "true",
            "SECURE_SSL_REDIRECT": "true",
            "SECURE_HSTS_SECONDS": "31536000",
            "SECURE_HSTS_INCLUDE_SUBDOMAINS": "true",
            "SECURE_HSTS_PRELOAD": "true",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        }
    )
    env.update(extra)
    return env


def manage(env, *args) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_check_deploy_is_clean_in_production(tmp_path):
    result = manage(production_env(tmp_path), "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout + result.stderr


def test_check_deploy_flags_a_missing_hsts(tmp_path):
    env = production_env(tmp_path, SECURE_HSTS_SECONDS="0")
    result = manage(env, "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode != 0 and "security.W004" in result.stdout + result.stderr


def test_production_cookies_are_secure_and_http_only(tmp_path):
    env = production_env(tmp_path)
    for name in ("SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE"):
        env.pop(name, None)
    code = (
        "from django.conf import settings as s; "
        "print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SESSION_COOKIE_HTTPONLY, s.SECURE_PROXY_SSL_HEADER)"
    )
    result = manage(env, "shell", "-c", code)
    assert result.stdout.strip().splitlines()[-1].split() == [
        "True",
        "True",
        "True",
        "('HTTP_X_FORWARDED_PROTO',",
        "'https')",
    ], result.stderr


def test_production_refuses_to_start_without_a_secret_key(tmp_path):
    env = production_env(tmp_path, SECRET_KEY="")
    result = manage(env, "check")
    assert result.returncode != 0 and "SECRET_KEY is not set" in result.stderr

"""Behind a TLS-terminating proxy the sockets' own origin is https, as the browser sees it, and only
when the operator said the proxy sets X-Forwarded-Proto (BEHIND_TLS_PROXY)."""

from __future__ import annotations

from conversations.origins import own_origin

SCOPE = {"type": "websocket", "headers": [(b"host", b"chat.example.com"), (b"x-forwarded-proto", b"https")]}


def test_the_forwarded_proto_makes_the_own_origin_https_behind_a_tls_proxy(settings):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

    assert own_origin(SCOPE) == "https://chat.example.com"


def test_a_forwarded_proto_is_ignored_without_a_tls_proxy(settings):
    settings.SECURE_PROXY_SSL_HEADER = None

    assert own_origin(SCOPE) == "http://chat.example.com"


def test_health_endpoints_answer_plain_http_probes_with_the_https_redirect_on(client, settings):
    settings.SECURE_SSL_REDIRECT = True

    assert client.get("/healthz").status_code == 200
    assert client.get("/workspace/").status_code == 301

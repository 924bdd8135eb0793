"""Who is calling: the request's own origin, a normalised ``Origin``, the client's address.

Shared by the sockets' origin check (``consumers``) and the widget page's ``frame-ancestors``
(``views/widget.py``); both read ASGI scopes or plain strings, nothing else.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings


def header(scope, name: bytes) -> str:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin-1")
    return ""


def own_origin(scope) -> str:
    """This server's origin as the browser sees it. daphne puts no scheme into a WebSocket scope; behind
    a TLS-terminating proxy (``BEHIND_TLS_PROXY``, Django's ``SECURE_PROXY_SSL_HEADER``) the proxy's
    ``X-Forwarded-Proto`` says https, as it does for Django's requests (docs/deploy.md)."""
    scheme = "https" if scope.get("scheme") in ("wss", "https") else "http"
    proxy_header = settings.SECURE_PROXY_SSL_HEADER
    if (
        proxy_header
        and header(scope, proxy_header[0].removeprefix("HTTP_").replace("_", "-").lower().encode()) == (proxy_header[1])
    ):
        scheme = "https"
    return f"{scheme}://{header(scope, b'host')}".lower()


def normalise_origin(origin: str) -> str:
    parts = urlsplit(origin.strip().lower())
    return f"{parts.scheme}://{parts.netloc}"


def client_ip(scope) -> str:
    client = scope.get("client") or ("", 0)
    return str(client[0] or "")


def origin_allowed(scope, allowed: list[str]) -> bool:
    """Browsers always send ``Origin``; a client without one is not a browser page and cannot be a
    cross-site attack."""
    origin = header(scope, b"origin")
    if not origin:
        return True
    origin = normalise_origin(origin)
    return origin == own_origin(scope) or origin in {normalise_origin(o) for o in allowed}

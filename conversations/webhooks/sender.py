"""The HTTP step of a delivery: one signed POST over a kept-alive connection of the delivery thread.

Each delivery thread keeps one connection per receiver (scheme, host, port) open between deliveries, as
an HTTP client library's pool does: a busy chat's events then cost one request each, not a TCP (and TLS)
handshake each. A connection is checked against the URL rules (``webhook_validators.url_problem``, with
the name resolved) when it is opened; a kept one was checked then. Redirects are answers, never followed
(one could lead into the server's own network). Proxies from the environment are not used: the receiver
is reached directly, at the address that was checked.
"""

from __future__ import annotations

import http.client
import ssl
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from admin_center import webhook_validators

from . import signing

TIMEOUT_SECONDS = 10
USER_AGENT = "Parley-Webhooks/1"
# A longer answer is not read to its end: the connection is closed instead of kept.
MAX_ANSWER_BYTES = 65536


@dataclass(frozen=True)
class Outcome:
    ok: bool
    status_code: int | None
    response_ms: int | None
    error: str = ""


_local = threading.local()


def _pool() -> dict:
    pool = getattr(_local, "connections", None)
    if pool is None:
        pool = _local.connections = {}
    return pool


def _open(scheme: str, host: str, port: int | None) -> http.client.HTTPConnection:
    if scheme == "https":
        return http.client.HTTPSConnection(host, port, timeout=TIMEOUT_SECONDS, context=ssl.create_default_context())
    return http.client.HTTPConnection(host, port, timeout=TIMEOUT_SECONDS)


def forget_connections() -> None:
    """Close this thread's kept connections (tests; a thread that stops delivering)."""
    for connection in _pool().values():
        connection.close()
    _pool().clear()


def post(url: str, body: bytes, secret: str, headers: dict[str, str]) -> Outcome:
    """POST ``body`` to ``url`` signed with ``secret``, with ``headers`` added; never raises for the
    receiver's or the network's failures (they are the outcome)."""
    parts = urlsplit(url)
    key = (parts.scheme, parts.hostname, parts.port)
    pool = _pool()
    kept = pool.get(key)
    # A kept connection's address was checked when it was opened; only the URL's form is checked again.
    problem = webhook_validators.url_problem(url, resolve=kept is None, unresolved_ok=False)
    if problem:
        return Outcome(False, None, None, str(problem))
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        signing.HEADER: signing.header(secret, body),
        **headers,
    }
    started = time.monotonic()
    for attempt in (1, 2):
        connection = pool.pop(key, None)
        reused = connection is not None
        if connection is None:
            connection = _open(parts.scheme, parts.hostname, parts.port)
        try:
            connection.request("POST", path, body=body, headers=headers)
            response = connection.getresponse()
            response.read(MAX_ANSWER_BYTES)
            status = response.status
        except (OSError, ValueError, http.client.HTTPException) as error:  # refused, timed out, TLS, reset
            connection.close()
            # A kept connection the receiver closed while idle fails at once: once more on a new one.
            if reused and attempt == 1 and isinstance(error, ConnectionError):
                continue
            elapsed = int((time.monotonic() - started) * 1000)
            return Outcome(False, None, elapsed, f"{type(error).__name__}: {error}")
        if response.isclosed() and not response.will_close:
            pool[key] = connection
        else:
            connection.close()
        break
    elapsed = int((time.monotonic() - started) * 1000)
    ok = 200 <= status < 300
    return Outcome(ok, status, elapsed, "" if ok else f"HTTP {status}")

"""ASGI entry point: HTTP through Django, WebSockets through Channels.

The server's own timers (auto-close, wrap-up, grace periods, operating-hours
openings) start with the first request or socket this process serves, so the
embedded default needs no extra process (conversations/timers.py).
"""

import gc
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.signals import request_finished  # noqa: E402
from django.db import connections  # noqa: E402

from conversations import timers  # noqa: E402
from conversations.ws_urls import websocket_urlpatterns  # noqa: E402


def _tune_garbage_collector(threshold: int) -> None:
    """Full (generation 2) collections scan every object the process holds and stopped the server for 60
    to 180 ms, about once a second under load (measured with ``gc.callbacks``, docs/performance.md).
    The objects of start-up (Django, the models, the routes) never become garbage: frozen, no collection
    scans them again. Fewer young collections promote fewer short-lived objects, so full collections
    become rare."""
    gc.collect()
    gc.freeze()
    if threshold:
        _, older, oldest = gc.get_threshold()
        gc.set_threshold(threshold, older, oldest)


_tune_garbage_collector(settings.PARLEY_GC_THRESHOLD)


def _close_request_connections(**kwargs) -> None:
    """Under ASGI Django runs each HTTP request's synchronous code in a thread of the request's own
    (``ThreadSensitiveContext``), so a persistent connection (``CONN_MAX_AGE``) left there is never used
    again and stays open until the thread's objects are collected: an admin clicking through forty pages
    used up PostgreSQL's 100 connections. Each request closes what it opened (Django's advice for ASGI);
    the sockets' database threads live on and keep theirs. Runs in the request's thread: sync receivers
    of ``request_finished`` are called there."""
    for connection in connections.all(initialized_only=True):
        if not connection.in_atomic_block:  # a test's transaction (Django's test client) stays open
            connection.close()


request_finished.connect(_close_request_connections, dispatch_uid="parley.close_request_connections")

if settings.PARLEY_BENCHMARK_ROUTES:  # benchmark-only anchors, never in production (docs/performance.md)
    from bench.consumers import websocket_urlpatterns as benchmark_urlpatterns

    websocket_urlpatterns = [*websocket_urlpatterns, *benchmark_urlpatterns]


def sockets_by_kind(widget_app, staff_app):
    """Widget sockets (``/ws/widget/…``) never use the Django session: they skip the session and user
    middleware, and the scope copies and objects it would keep for as long as they stay open (memory per
    idle widget, docs/performance.md). Workspace, supervisor (and benchmark) sockets get the signed-in
    user."""

    async def app(scope, receive, send):
        if scope["path"].startswith("/ws/widget/"):
            return await widget_app(scope, receive, send)
        return await staff_app(scope, receive, send)

    return app


application = timers.start_with_first_call(
    ProtocolTypeRouter(
        {
            "http": django_asgi_app,
            "websocket": sockets_by_kind(
                URLRouter(websocket_urlpatterns), AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
            ),
        }
    )
)

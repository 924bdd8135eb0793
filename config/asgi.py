"""ASGI entry point: HTTP through Django, WebSockets through Channels.

The server's own timers (auto-close, wrap-up, grace periods, operating-hours
openings) start with the first request or socket this process serves, so the
embedded default needs no extra process (conversations/timers.py).
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from conversations import timers  # noqa: E402
from conversations.ws_urls import websocket_urlpatterns  # noqa: E402

application = timers.start_with_first_call(
    ProtocolTypeRouter(
        {
            "http": django_asgi_app,
            "websocket": AuthMiddlewareStack(URLRouter(websocket_urlpatterns)),
        }
    )
)

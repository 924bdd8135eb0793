"""WebSocket URL patterns (not called routing.py: routing is work distribution)."""

from django.conf import settings
from django.urls import path, re_path

from .consumers import AgentConsumer, CustomerConsumer

websocket_urlpatterns: list = [
    re_path(r"^ws/widget/(?P<public_id>[^/]{1,64})/$", CustomerConsumer.as_asgi()),
    path("ws/agent/", AgentConsumer.as_asgi()),
]

if settings.PARLEY_BENCHMARK_ROUTES:  # benchmark-only anchors, never in production (docs/performance.md)
    from .benchmark_consumers import benchmark_urlpatterns

    websocket_urlpatterns += benchmark_urlpatterns

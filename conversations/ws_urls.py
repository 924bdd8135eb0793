"""WebSocket URL patterns (not called routing.py: routing is work distribution)."""

from django.urls import path, re_path

from .consumers import AgentConsumer, CustomerConsumer
from .consumers.supervisor import SupervisorConsumer

websocket_urlpatterns: list = [
    re_path(r"^ws/widget/(?P<public_id>[^/]{1,64})/$", CustomerConsumer.as_asgi()),
    path("ws/agent/", AgentConsumer.as_asgi()),
    path("ws/supervisor/", SupervisorConsumer.as_asgi()),
]

"""Widget sockets skip the session and user middleware; staff sockets keep it (config/asgi.py)."""

import asyncio

from config.asgi import sockets_by_kind


def test_widget_sockets_go_around_the_session_middleware_and_staff_sockets_through_it():
    seen = []

    def recorder(name):
        async def app(scope, receive, send):
            seen.append((name, scope["path"]))

        return app

    app = sockets_by_kind(recorder("widget"), recorder("staff"))
    for path in ("/ws/widget/demo-live/", "/ws/agent/", "/ws/supervisor/", "/ws/widgetx/"):
        asyncio.run(app({"type": "websocket", "path": path}, None, None))
    assert seen == [
        ("widget", "/ws/widget/demo-live/"),
        ("staff", "/ws/agent/"),
        ("staff", "/ws/supervisor/"),
        ("staff", "/ws/widgetx/"),
    ]

"""A real HTTP receiver of webhooks in the test process (a thread serving 127.0.0.1)."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Receiver:
    """Records every POST; answers ``respond(document)`` if set, else the queued status codes (then
    ``default_status``).
    ``hold`` blocks answers until ``release()``: a slow receiver."""

    def __init__(self, default_status: int = 200, *, keep_alive: bool = False, port: int = 0) -> None:
        self.requests: list[dict] = []
        self.connections = 0  # TCP connections accepted
        self.sockets: list[socket.socket] = []
        self.statuses: deque[int] = deque()
        self.default_status = default_status
        self.respond = None
        self.changed = threading.Condition()
        self.released = threading.Event()
        self.released.set()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            # HTTP/1.1 keeps a connection open between requests; HTTP/1.0 closes it after each answer.
            protocol_version = "HTTP/1.1" if keep_alive else "HTTP/1.0"

            def setup(self) -> None:
                super().setup()
                with receiver.changed:
                    receiver.connections += 1
                    receiver.sockets.append(self.connection)

            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver.changed:
                    receiver.requests.append({"headers": dict(self.headers), "body": body})
                    if receiver.respond is not None:
                        status = receiver.respond(json.loads(body))
                    elif receiver.statuses:
                        status = receiver.statuses.popleft()
                    else:
                        status = receiver.default_status
                    receiver.changed.notify_all()
                receiver.released.wait(30)
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks"

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.released.set()
        self.server.shutdown()
        self.server.server_close()
        for connection in self.sockets:  # kept-alive connections end with the receiver
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def hold(self) -> None:
        self.released.clear()

    def release(self) -> None:
        self.released.set()

    def wait_for(self, count: int, timeout: float = 10) -> list[dict]:
        with self.changed:
            if not self.changed.wait_for(lambda: len(self.requests) >= count, timeout):
                raise AssertionError(f"expected {count} webhook requests, got {len(self.requests)}")
            return list(self.requests)

    def documents(self) -> list[dict]:
        return [json.loads(request["body"]) for request in self.requests]

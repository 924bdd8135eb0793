"""Talking to a real server over HTTP and WebSockets, as a browser would."""

from __future__ import annotations

import asyncio
import http.cookiejar
import json
import re
import urllib.error
import urllib.parse
import urllib.request

import websockets


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def sign_in(base_url: str, username: str, password: str) -> str:
    """Sign in through the real sign-in page; returns the Cookie header value."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), _NoRedirect())
    page = opener.open(f"{base_url}/accounts/login/", timeout=10).read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    body = urllib.parse.urlencode({"username": username, "password": password, "csrfmiddlewaretoken": token})
    request = urllib.request.Request(
        f"{base_url}/accounts/login/", data=body.encode(), headers={"Referer": f"{base_url}/accounts/login/"}
    )
    try:
        opener.open(request, timeout=10).read()
    except urllib.error.HTTPError as exc:  # the redirect after sign-in is not followed
        if exc.code != 302:
            raise
    cookies = {c.name: c.value for c in jar}
    if "sessionid" not in cookies:
        raise AssertionError(f"sign-in as {username} failed")
    return "; ".join(f"{k}={v}" for k, v in cookies.items())


class WsClient:
    """A raw WebSocket protocol client with a buffer, like tests.support.sockets.Client."""

    def __init__(self, connection) -> None:
        self.connection = connection
        self.buffer: list[dict] = []

    @classmethod
    async def open(cls, url: str, *, cookie: str | None = None, origin: str | None = None) -> WsClient:
        headers = {"Cookie": cookie} if cookie else None
        connection = await websockets.connect(url, additional_headers=headers, origin=origin, open_timeout=10)
        return cls(connection)

    async def send(self, frame: dict) -> None:
        await self.connection.send(json.dumps(frame))

    async def expect(self, kind: str, timeout: float = 5, **match) -> dict:
        for i, frame in enumerate(self.buffer):
            if frame.get("type") == kind and all(frame.get(k) == v for k, v in match.items()):
                return self.buffer.pop(i)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(f"no {kind!r} {match or ''}; got {self.buffer}")
            try:
                raw = await asyncio.wait_for(self.connection.recv(), remaining)
            except TimeoutError:
                raise AssertionError(f"no {kind!r} {match or ''}; got {self.buffer}") from None
            frame = json.loads(raw)
            if frame.get("type") == kind and all(frame.get(k) == v for k, v in match.items()):
                return frame
            self.buffer.append(frame)

    async def close(self) -> None:
        await self.connection.close()

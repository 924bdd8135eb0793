"""Signing an agent in through the real sign-in page, as a browser would: the one login helper of the
benchmark (``bench.load``) and of the test suite (``tests.support.http``). Plain Python, no Django."""

from __future__ import annotations

import http.cookiejar
import re
import urllib.error
import urllib.parse
import urllib.request


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def sign_in(base_url: str, username: str, password: str, *, timeout: float = 30) -> str:
    """Sign in at ``base_url/accounts/login/``; returns the ``Cookie`` header value (session and CSRF)."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), _NoRedirect())
    page = opener.open(f"{base_url}/accounts/login/", timeout=timeout).read().decode()
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    if match is None:
        raise RuntimeError("the sign-in page has no CSRF token")
    body = urllib.parse.urlencode({"username": username, "password": password, "csrfmiddlewaretoken": match[1]})
    request = urllib.request.Request(  # noqa: S310 - the server under test or benchmark
        f"{base_url}/accounts/login/", data=body.encode(), headers={"Referer": f"{base_url}/accounts/login/"}
    )
    try:
        opener.open(request, timeout=timeout).read()
    except urllib.error.HTTPError as exc:  # the redirect after signing in is not followed
        if exc.code != 302:
            raise
    cookies = {c.name: c.value for c in jar}
    if "sessionid" not in cookies:
        raise RuntimeError(f"signing in as {username} failed")
    return "; ".join(f"{k}={v}" for k, v in cookies.items())

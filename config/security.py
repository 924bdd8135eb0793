"""Content-Security-Policy for Parley's own pages.

Every response gets a strict policy unless its view already set one: the
widget frame (``conversations/views/widget.py``) sets its own, because it
must allow the customer's website in ``frame-ancestors``. The policy allows
scripts, styles, images, fonts and connections from this server only, no
inline scripts or styles, no plugins, and no framing (clickjacking), which is
what the agent workspace, the sign-in page and the admin center need. Data
passed to page scripts travels in ``json_script`` blocks, which are not
executed and so need no ``'unsafe-inline'``.
"""

from __future__ import annotations

from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponse

HEADER = "Content-Security-Policy"


def page_policy(request: HttpRequest) -> str:
    """The policy of every page except the widget frame."""
    try:
        host = request.get_host()
    except DisallowedHost:
        host = ""
    sockets = f" {'wss' if request.is_secure() else 'ws'}://{host}" if host else ""
    return (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
        f"connect-src 'self'{sockets}; frame-src 'self'; frame-ancestors 'none'; form-action 'self'; "
        "base-uri 'none'; object-src 'none'"
    )


class ContentSecurityPolicyMiddleware:
    """Adds ``page_policy`` to responses whose view set no policy of its own."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if HEADER not in response:
            response[HEADER] = page_policy(request)
        return response

"""The rules of a webhook endpoint: which events exist, which URLs are allowed.

The endpoint model's ``clean()`` (and through it the admin form), ``import_config`` and the delivery
itself (``conversations.webhooks.delivery``, before every attempt) call these functions.

A webhook URL is ``https``. Plain ``http`` and hosts that are, or resolve to, loopback, private,
link-local, shared, multicast, reserved or unspecified addresses are refused, so that the server cannot
be turned against its own network, unless ``PARLEY_WEBHOOK_ALLOW_PRIVATE=true`` (development and tests).
A host name that does not resolve at the moment is accepted when saved (DNS may be unavailable where the
configuration is applied); every delivery resolves it again and does not connect to a refused address.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

EVENTS = ("conversation.created", "conversation.state_changed", "message.created", "conversation.rated")
TEST_EVENT = "webhook.test"
URL_MAX_LENGTH = 500


def private_allowed() -> bool:
    return bool(getattr(settings, "PARLEY_WEBHOOK_ALLOW_PRIVATE", False))


def validate_events(value: object) -> None:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValidationError(_("Enter a list of event names."), code="events")
    unknown = [item for item in value if item not in EVENTS]
    if unknown:
        raise ValidationError(
            _("Unknown event %(name)s; the events are %(events)s.") % {"name": unknown[0], "events": ", ".join(EVENTS)},
            code="events",
        )
    if len(set(value)) != len(value):
        raise ValidationError(_("An event is listed twice."), code="events")


def refused_address(address: str) -> bool:
    """Whether connecting to ``address`` (an IP address) could reach the server's own network."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast or ip.is_reserved or ip.is_unspecified or ip.is_loopback


def host_addresses(host: str, port: int) -> list[str] | None:
    """The addresses ``host`` resolves to, or None when it does not resolve now."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return None
    return sorted({info[4][0] for info in infos})


def url_problem(url: object, *, resolve: bool = True, unresolved_ok: bool = True) -> str | None:
    """Why ``url`` may not be a webhook URL, or None. ``unresolved_ok``: a name that does not resolve
    passes (the saving side); the delivering side passes False and refuses it."""
    if not isinstance(url, str) or not url:
        return _("Enter the receiver's URL.")
    if len(url) > URL_MAX_LENGTH:
        return _("A URL has at most %(max)s characters.") % {"max": URL_MAX_LENGTH}
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return _("Enter a valid URL.")
    allow_private = private_allowed()
    schemes = ("https", "http") if allow_private else ("https",)
    if parts.scheme not in schemes:
        return _("The URL must start with https://.")
    host = parts.hostname
    if not host or parts.username or parts.password:
        return _("Enter a valid URL with a host name and no user name or password in it.")
    if allow_private:
        return None
    if host == "localhost" or host.endswith((".localhost", ".localdomain")):
        return _("Loopback and private-network addresses are not allowed.")
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        return _("Loopback and private-network addresses are not allowed.") if refused_address(host) else None
    if not resolve:
        return None
    addresses = host_addresses(host, port or 443)
    if addresses is None:
        return None if unresolved_ok else _("The host name %(host)s does not resolve.") % {"host": host}
    if any(refused_address(address) for address in addresses):
        return _("%(host)s resolves to a loopback or private-network address, which is not allowed.") % {"host": host}
    return None


def validate_url(url: object) -> None:
    problem = url_problem(url)
    if problem:
        raise ValidationError(problem, code="webhook_url")

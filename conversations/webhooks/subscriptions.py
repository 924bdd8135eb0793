"""Which enabled endpoints subscribe to which event, cached in each process.

``emit`` runs on the message hot path, so it must cost nothing when nobody subscribes: it reads this
cache, which is loaded with one query and kept for ``PARLEY_WEBHOOK_CACHE_SECONDS`` (default 10). Saving
or deleting an endpoint clears the cache of the process that did it at once; other server processes see
the change within that many seconds (an event of that moment may still go to, or miss, the endpoint that
changed). The outbox insert only writes rows for endpoints that still exist and are enabled, so a stale
cache never makes a change fail.
"""

from __future__ import annotations

import threading
import time

from django.conf import settings
from django.db import transaction
from django.db.models.signals import post_delete, post_save

from admin_center.models import WebhookEndpoint

_lock = threading.Lock()
_cache: tuple[float, dict[str, tuple[int, ...]]] | None = None  # (expires at, event -> endpoint ids)


def _load() -> dict[str, tuple[int, ...]]:
    by_event: dict[str, list[int]] = {}
    for endpoint_id, events in WebhookEndpoint.objects.filter(enabled=True).values_list("id", "events"):
        for event in events or ():
            by_event.setdefault(event, []).append(endpoint_id)
    return {event: tuple(ids) for event, ids in by_event.items()}


def _current() -> dict[str, tuple[int, ...]]:
    global _cache
    cache = _cache
    now = time.monotonic()
    if cache is not None and cache[0] > now:
        return cache[1]
    with _lock:
        by_event = _load()
        _cache = (now + settings.PARLEY_WEBHOOK_CACHE_SECONDS, by_event)
    return by_event


def endpoints_for(event_type: str) -> tuple[int, ...]:
    """The ids of the enabled endpoints subscribed to ``event_type`` (empty: nobody listens)."""
    return _current().get(event_type, ())


def subscribed(event_type: str) -> bool:
    return bool(endpoints_for(event_type))


def any_enabled() -> bool:
    return bool(_current())


def clear() -> None:
    """Forget the cached subscriptions (an endpoint changed; tests between databases)."""
    global _cache
    _cache = None


def _changed(sender, **kwargs) -> None:
    clear()
    transaction.on_commit(clear)  # a process that loaded it before the commit must not keep the old state


def connect_signals() -> None:
    post_save.connect(_changed, sender=WebhookEndpoint, dispatch_uid="webhooks-subscriptions-save")
    post_delete.connect(_changed, sender=WebhookEndpoint, dispatch_uid="webhooks-subscriptions-delete")

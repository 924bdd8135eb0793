"""Signed webhooks: a transactional outbox and its delivery by the server processes themselves.

- ``emit(event_type, conversation, data)`` (``outbox``): called by the actions INSIDE the transaction
  of the change; one outbox row per subscribed endpoint, or nothing at all (no query) when nobody
  subscribes (``subscriptions``).
- ``dispatcher``: the task of each server process that delivers the rows (``delivery``).
- ``models.Delivery``: the outbox, which is also the delivery log of the admin center.

This package is also a Django app (``apps.WebhooksConfig``, label ``webhooks``), so it is imported
before the models are ready: ``emit`` and ``subscribed`` are loaded on first use.
"""

from __future__ import annotations

_LAZY = {"emit": "outbox", "subscribed": "subscriptions"}


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    globals()[name] = value  # later look-ups are plain attribute reads
    return value


__all__ = ["emit", "subscribed"]

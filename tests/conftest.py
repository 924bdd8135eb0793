"""Shared test set-up for the whole suite."""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(config, items):
    """Browser tests last: Playwright's sync API keeps an event loop running in
    this thread while a module's browser lives (``tests/browser/conftest.py``),
    which the asyncio tests cannot share. (Starting the longest files first was
    slower: CI took 1,082 s against 926 s, since the CPU-heavy property tests
    then ran side by side instead of beside tests that mostly wait.)"""
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)


@pytest.fixture(autouse=True)
def _fresh_channel_layer(settings):
    """Each test gets its own channel layer (and Redis prefix in production mode)."""
    import uuid

    from channels.layers import channel_layers

    layers = dict(settings.CHANNEL_LAYERS)
    if "prefix" in layers["default"].get("CONFIG", {}):
        layers["default"] = {
            **layers["default"],
            "CONFIG": {**layers["default"]["CONFIG"], "prefix": f"test{uuid.uuid4().hex[:8]}"},
        }
        settings.CHANNEL_LAYERS = layers
    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()

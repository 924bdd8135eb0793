"""Shared test set-up for the whole suite."""

from __future__ import annotations

import pytest

# The files that take longest (tens of seconds each in CI's --durations), started first so that they do
# not run alone at the end of a pass while the other workers are idle (pytest-xdist's --dist loadfile
# hands out files in collection order).
LONG_FILES = (
    "routing/test_properties.py",
    "routing/test_concurrency.py",
    "supervisors/test_offer_properties.py",
    "together/test_transfer_properties.py",
    "bench/test_chat_benchmark.py",
    "webhooks/test_real_server.py",
    "conversations/test_real_server.py",
    "security/test_crash.py",
    "browser/test_admin_center.py",
    "browser/test_workspace.py",
    "browser/test_production_setup.py",
    "browser/test_widget.py",
    "browser/test_supervisors.py",
    "browser/test_workspace_every_width.py",
    "browser/test_together.py",
)


def _rank(item) -> int:
    path = item.nodeid.split("::", 1)[0].removeprefix("tests/")
    return LONG_FILES.index(path) if path in LONG_FILES else len(LONG_FILES)


def pytest_collection_modifyitems(config, items):
    """Browser tests last: Playwright's sync API keeps an event loop running in
    this thread while a module's browser lives (``tests/browser/conftest.py``),
    which the asyncio tests cannot share. Within each part, the longest files first."""
    items.sort(key=lambda item: (item.get_closest_marker("browser") is not None, _rank(item)))


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

"""The server's entry point tunes the garbage collector (config/asgi.py, docs/performance.md)."""

import gc

from django.conf import settings


def test_start_up_objects_are_frozen_and_young_collections_wait_for_the_threshold():
    import config.asgi  # noqa: F401 - importing it is what daphne does

    assert gc.get_freeze_count() > 10_000  # Django, the models and the routes: never scanned again
    assert settings.PARLEY_GC_THRESHOLD == 50_000
    assert gc.get_threshold()[0] == settings.PARLEY_GC_THRESHOLD

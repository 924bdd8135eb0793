"""Starting a server process's webhook delivery (``timers.ensure_started`` calls ``ensure_started``)."""

from __future__ import annotations

import asyncio

from django.conf import settings

from .dispatcher import Dispatcher
from .worker import Child

_task: asyncio.Task | None = None


def ensure_started() -> None:
    """Start this process's delivery on the running loop: its child delivery process (``worker``,
    ``PARLEY_WEBHOOK_PROCESS``), or the dispatcher on this loop."""
    global _task
    if _task is None or _task.done() or _task.get_loop() is not asyncio.get_running_loop():
        runner = Child().run_forever() if settings.PARLEY_WEBHOOK_PROCESS else Dispatcher().run_forever()
        _task = asyncio.get_running_loop().create_task(runner, name="parley-webhooks")

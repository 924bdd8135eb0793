"""``manage.py deliver_webhooks``: the webhook delivery process a server process starts for itself.

Not for running by hand: it reads wake-ups on stdin and stops when stdin ends (its server process is
gone), and reports each attempt on stdout (conversations/webhooks/worker.py, docs/webhooks.md)."""

from __future__ import annotations

import asyncio
import os
import signal

from django.core.management.base import BaseCommand

from conversations.webhooks import worker


class Command(BaseCommand):
    help = "The webhook delivery process of a server process (started by it; stops when its stdin ends)."

    def handle(self, *args, **options) -> None:
        # Ctrl-C in the terminal of `make run` reaches the whole process group: the server process ends and
        # this one follows through its stdin, without a traceback of its own.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        asyncio.run(worker.serve())
        # Its server process is gone: stop now, as if killed with it, without waiting for a delivery thread
        # stuck on a slow receiver (what it had leased goes out again when the lease runs out).
        os._exit(0)

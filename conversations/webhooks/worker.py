"""Delivery in a child process of each server process (``PARLEY_WEBHOOK_PROCESS``, on by default).

Posting webhooks is Python work: building requests, reading answers, recording outcomes. In the server
process it competes with the chat for the interpreter's lock, so a busy endpoint slowed the relay by
half (docs/performance.md). Each server process therefore starts one child, ``manage.py
deliver_webhooks``, which runs the same ``Dispatcher`` with its own interpreter, database connections
and delivery threads. It is not a daemon to run and watch: it lives exactly as long as its parent.

- The parent wakes the child when it commits an event: one byte on the child's stdin, at most one per
  turn of the parent's event loop however many messages committed meanwhile (``wakeup``).
- The child reads stdin; at its end (the parent exited or was killed, stdin closes with it) it stops.
  Rows it had leased are delivered again when their lease runs out, as after any crash.
- The child reports each attempt on stdout (``attempt <ok> <gave_up>``); the parent counts them in its
  own Prometheus metrics, so ``/metrics`` of the process shows them as before.
- A child that exits while its parent lives is started again after a pause.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from pathlib import Path

from django.conf import settings

from . import metrics, wakeup
from .dispatcher import Dispatcher

logger = logging.getLogger("parley.webhooks")

RESTART_AFTER_SECONDS = 2.0
MANAGE_PY = Path(settings.BASE_DIR) / "manage.py"


# --- the parent (a server process) ------------------------------------------------------------------


class Child:
    """The server process's side: starts the child, wakes it, counts what it reports, restarts it."""

    def __init__(self) -> None:
        self.process: asyncio.subprocess.Process | None = None

    def wake(self) -> None:
        """In the event loop: one byte to the child (its dispatcher claims what committed before)."""
        process = self.process
        if process is None or process.stdin is None or process.stdin.is_closing():
            return
        with contextlib.suppress(ConnectionError, RuntimeError):
            process.stdin.write(b"w")

    async def run_forever(self) -> None:
        wakeup.attach(asyncio.get_running_loop(), self.wake)
        try:
            while True:
                try:
                    await self._run_once()
                except asyncio.CancelledError:
                    raise
                except Exception:
                    logger.exception("the webhook delivery process failed")
                await asyncio.sleep(RESTART_AFTER_SECONDS)
        finally:
            if self.process is not None and self.process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    self.process.terminate()

    async def _run_once(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            str(MANAGE_PY),
            "deliver_webhooks",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        self.wake()  # rows committed before the child started
        assert self.process.stdout is not None
        async for line in self.process.stdout:
            count_reported(line)
        code = await self.process.wait()
        logger.warning("the webhook delivery process exited with %s; starting it again", code)


def count_reported(line: bytes) -> None:
    """One line of the child's report: ``attempt <ok 0|1> <gave_up 0|1>``."""
    parts = line.split()
    if len(parts) == 3 and parts[0] == b"attempt":
        metrics.count(ok=parts[1] == b"1", gave_up=parts[2] == b"1")


# --- the child (manage.py deliver_webhooks) ---------------------------------------------------------


def report(ok: bool, gave_up: bool) -> None:
    sys.stdout.write(f"attempt {int(ok)} {int(gave_up)}\n")
    sys.stdout.flush()


async def serve() -> None:
    """Deliver until stdin ends: each byte read wakes the dispatcher."""
    metrics.report_with(report)
    dispatcher = Dispatcher()
    task = asyncio.get_running_loop().create_task(dispatcher.run_forever(), name="parley-webhooks")
    reader = asyncio.StreamReader()
    await asyncio.get_running_loop().connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    try:
        while await reader.read(4096):
            dispatcher.event.set()
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

"""Starting real Parley servers: the one daphne launcher of the benchmark and of the test suite.

``Daphne`` runs ``config.asgi:application`` in a child process on a free
loopback port, with its output in a log file, and waits until ``/healthz``
answers. ``BenchServer`` (``chat_benchmark`` without ``--url``) and
``tests.support.server.ParleyServer`` both start their processes through it,
and make their throw-away PostgreSQL databases with the helpers below.

Embedded default of the benchmark: one daphne process, a fresh SQLite file
and the in-memory channel layer. Production: ``processes`` daphne processes
on their own ports (the benchmark client spreads its sockets over them, as a
load balancer would), sharing a fresh PostgreSQL database and the Redis
channel layer.

Plain Python on purpose (no Django import at module level): the test suite
imports it whether or not the ``bench`` app is installed.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/parley_bench"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/2"

# Limits lifted for the benchmark's own server: one client address holds
# every socket, and the closed-loop phase sends faster than a person would.
# As in production (Makefile, docs/deploy/parley@.service): daphne refuses WebSocket messages past 64 KiB.
DAPHNE_LIMITS = ("--websocket-max-message-size", "1048576", "--websocket-max-frame-size", "1048576")
# The benchmark routes answer loopback clients with this token only (bench/consumers.py); the
# benchmark client (bench/load.py) sends it. Against a running server: the same PARLEY_BENCHMARK_TOKEN.
BENCHMARK_TOKEN = os.environ.get("PARLEY_BENCHMARK_TOKEN") or secrets.token_urlsafe(32)
BENCHMARK_ENV = {
    "PARLEY_BENCHMARK_ROUTES": "true",
    "PARLEY_BENCHMARK_TOKEN": BENCHMARK_TOKEN,
    "PARLEY_MAX_SOCKETS_PER_IP": "0",
    "PARLEY_SEND_RATE": "1000",
    "PARLEY_SEND_BURST": "1000",
    "PARLEY_FRAME_RATE": "1000",
    "PARLEY_FRAME_BURST": "1000",
    "PARLEY_MAX_AGENT_SOCKETS_PER_IP": "0",
    "PARLEY_NEW_CONVERSATIONS_PER_IP_HOUR": "0",
    "PARLEY_NEW_CONVERSATIONS_PER_WIDGET_HOUR": "0",
    "PARLEY_MAX_SOCKETS_PER_CUSTOMER": "10",
    "DEBUG": "false",
    "LOG_LEVEL": "WARNING",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def postgres_url(base: str, name: str) -> str:
    """``base`` (a PostgreSQL URL) with its database name replaced by ``name``."""
    head, _, _ = base.rpartition("/")
    return f"{head}/{name}"


def create_postgres_db(base: str, name: str) -> None:
    import psycopg

    with psycopg.connect(postgres_url(base, "postgres"), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')


def drop_postgres_db(base: str, name: str) -> None:
    import psycopg

    with (
        contextlib.suppress(psycopg.Error),
        psycopg.connect(postgres_url(base, "postgres"), autocommit=True) as conn,
    ):
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def manage(
    env: dict, *args: str, input: str | None = None, timeout: float = 600, check: bool = True
) -> subprocess.CompletedProcess:
    """``manage.py`` in a child process with ``env``; a failure raises with its output when ``check``."""
    result = subprocess.run(  # noqa: S603 - our own manage.py with fixed arguments
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check and result.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


class Daphne:
    """One daphne process on ``127.0.0.1:port``; its output goes to ``log_dir/daphne-<port>.log``."""

    def __init__(self, env: dict, log_dir: Path, *, port: int | None = None, args: tuple[str, ...] = ()) -> None:
        self.env = env
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.args = tuple(args)
        self.log_path = Path(log_dir) / f"daphne-{self.port}.log"
        self.process: subprocess.Popen | None = None

    @property
    def pid(self) -> int | None:
        return None if self.process is None else self.process.pid

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def spawn(self) -> Daphne:
        """Start the process without waiting for it (``wait_ready`` waits)."""
        if self.running:
            return self
        log = open(self.log_path, "ab")  # noqa: SIM115 - the child keeps it
        self.process = subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(self.port), *DAPHNE_LIMITS, *self.args]
            + ["config.asgi:application"],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        return self

    def wait_ready(self, deadline: float) -> Daphne:
        """Wait until ``/healthz`` answers 200 (``deadline`` on ``time.monotonic()``)."""
        while True:
            if self.process is None or self.process.poll() is not None:
                raise RuntimeError(f"daphne exited at start:\n{self.log()}")
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=1) as response:  # noqa: S310
                    if response.status == 200:
                        return self
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"daphne did not answer in time:\n{self.log()}") from None
                time.sleep(0.1)

    def start(self, timeout: float = 30) -> Daphne:
        return self.spawn().wait_ready(time.monotonic() + timeout)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, sig)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        self.process = None

    def log(self, limit: int = 5000) -> str:
        if self.log_path.exists():
            return self.log_path.read_text(errors="replace")[-limit:]
        return ""


class BenchServer:
    """The servers ``chat_benchmark`` starts when no ``--url`` is given."""

    def __init__(self, *, production: bool = False, processes: int = 1, extra_env: dict | None = None) -> None:
        self.production = production
        self.processes = processes if production else 1
        self.extra_env = dict(extra_env or {})
        self.tmpdir = Path(tempfile.mkdtemp(prefix="parley-bench-"))
        self.run_id = uuid.uuid4().hex[:8]
        self.secret_key = f"benchmark-{self.run_id}-{uuid.uuid4().hex}"
        self.db_created = False
        if production:
            base = os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL
            if not base.startswith("postgres"):
                base = DEFAULT_DATABASE_URL
            self.base_database_url = base
            self.db_name = f"{base.rpartition('/')[2] or 'parley_bench'}_{self.run_id}"
            self.database_url = postgres_url(base, self.db_name)
            self.redis_url = os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL
        else:
            self.database_url = f"sqlite:///{self.tmpdir / 'db.sqlite3'}"
            self.redis_url = ""
        self.daphnes = [Daphne(self.env(), self.tmpdir, args=("-v", "0")) for _ in range(self.processes)]
        self.urls = [daphne.url for daphne in self.daphnes]

    def env(self) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_SETTINGS")}
        env.update(BENCHMARK_ENV)
        env.update(
            {
                "DJANGO_SETTINGS_MODULE": "config.settings",
                "SECRET_KEY": self.secret_key,
                "ALLOWED_HOSTS": "127.0.0.1,localhost",
                "DATABASE_URL": self.database_url,
                "PARLEY_CHANNEL_PREFIX": f"bench{self.run_id}",
                "PARLEY_DEMO": "false",
                "PARLEY_DEMO_KEY_DIR": str(self.tmpdir / "demo-keys"),
                "SESSION_COOKIE_SECURE": "false",
                "CSRF_COOKIE_SECURE": "false",
                "PYTHONUNBUFFERED": "1",
            }
        )
        if self.production:
            env["REDIS_URL"] = self.redis_url
        else:
            env.pop("REDIS_URL", None)
        env.update(self.extra_env)
        return env

    def manage(self, *args: str, input: str | None = None) -> str:
        return manage(self.env(), *args, input=input).stdout

    def run_setup(self, action: str, spec: dict) -> dict:
        """One ``bench.setup`` action in the server's database (a child process with its settings)."""
        out = self.manage("chat_benchmark", "--setup", action, input=json.dumps(spec))
        return json.loads(out.strip().splitlines()[-1])

    def start(self, timeout: float = 60) -> BenchServer:
        if self.production:
            create_postgres_db(self.base_database_url, self.db_name)
            self.db_created = True
        self.manage("migrate", "--noinput")
        for daphne in self.daphnes:
            daphne.spawn()
        deadline = time.monotonic() + timeout
        for daphne in self.daphnes:
            daphne.wait_ready(deadline)
        return self

    @property
    def pids(self) -> list[int]:
        return [daphne.pid for daphne in self.daphnes if daphne.pid is not None]

    def log(self) -> str:
        return "\n".join(daphne.log(3000) for daphne in self.daphnes)

    def stop(self) -> None:
        for daphne in self.daphnes:
            daphne.stop()
        if self.db_created:
            drop_postgres_db(self.base_database_url, self.db_name)
            self.db_created = False
        shutil.rmtree(self.tmpdir, ignore_errors=True)

    def __enter__(self) -> BenchServer:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc) -> None:
        self.stop()

"""Starting Parley servers for ``chat_benchmark`` when no ``--url`` is given.

Embedded default: one daphne process, a fresh SQLite file and the in-memory
channel layer. Production: ``processes`` daphne processes on their own ports
(the benchmark client spreads its sockets over them, as a load balancer
would), sharing a fresh PostgreSQL database and the Redis channel layer.
"""

from __future__ import annotations

import contextlib
import json
import os
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

from django.conf import settings

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/parley_bench"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/2"

# Limits lifted for the benchmark's own server: one client address holds
# every socket, and the closed-loop phase sends faster than a person would.
BENCHMARK_ENV = {
    "PARLEY_BENCHMARK_ROUTES": "true",
    "PARLEY_MAX_SOCKETS_PER_IP": "0",
    "PARLEY_SEND_RATE": "1000",
    "PARLEY_SEND_BURST": "1000",
    "PARLEY_MAX_SOCKETS_PER_CUSTOMER": "10",
    "DEBUG": "false",
    "LOG_LEVEL": "WARNING",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _with_db_name(url: str, name: str) -> str:
    head, _, _ = url.rpartition("/")
    return f"{head}/{name}"


class BenchServer:
    def __init__(self, *, production: bool = False, processes: int = 1, extra_env: dict | None = None) -> None:
        self.production = production
        self.processes = processes if production else 1
        self.extra_env = dict(extra_env or {})
        self.tmpdir = Path(tempfile.mkdtemp(prefix="parley-bench-"))
        self.run_id = uuid.uuid4().hex[:8]
        self.ports = [free_port() for _ in range(self.processes)]
        self.urls = [f"http://127.0.0.1:{port}" for port in self.ports]
        self.children: list[subprocess.Popen] = []
        self.db_created = False
        if production:
            base = os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL
            if not base.startswith("postgres"):
                base = DEFAULT_DATABASE_URL
            self.base_database_url = base
            self.db_name = f"{base.rpartition('/')[2] or 'parley_bench'}_{self.run_id}"
            self.database_url = _with_db_name(base, self.db_name)
            self.redis_url = os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL
        else:
            self.database_url = f"sqlite:///{self.tmpdir / 'db.sqlite3'}"
            self.redis_url = ""

    def env(self) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_SETTINGS")}
        env.update(BENCHMARK_ENV)
        env.update(
            {
                "DJANGO_SETTINGS_MODULE": "config.settings",
                "SECRET_KEY": f"benchmark-{self.run_id}-{uuid.uuid4().hex}",
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
        result = subprocess.run(  # noqa: S603 - our own manage.py with fixed arguments
            [sys.executable, "manage.py", *args],
            cwd=settings.BASE_DIR,
            env=self.env(),
            input=input,
            capture_output=True,
            text=True,
            timeout=600,
        )
        if result.returncode != 0:
            raise RuntimeError(f"manage.py {args[0]} failed:\n{result.stdout}\n{result.stderr}")
        return result.stdout

    def run_setup(self, action: str, spec: dict) -> dict:
        """One ``benchmark.setup`` action in the server's database (a child process with its settings)."""
        out = self.manage("chat_benchmark", "--setup", action, input=json.dumps(spec))
        return json.loads(out.strip().splitlines()[-1])

    def start(self, timeout: float = 60) -> BenchServer:
        if self.production:
            import psycopg

            with psycopg.connect(_with_db_name(self.base_database_url, "postgres"), autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{self.db_name}"')
            self.db_created = True
        self.manage("migrate", "--noinput")
        for port in self.ports:
            log = open(self.tmpdir / f"daphne-{port}.log", "ab")  # noqa: SIM115 - the child keeps it
            self.children.append(
                subprocess.Popen(  # noqa: S603
                    [sys.executable, "-m", "daphne", "-v", "0", "-b", "127.0.0.1", "-p", str(port)]
                    + ["config.asgi:application"],
                    cwd=settings.BASE_DIR,
                    env=self.env(),
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
            log.close()
        deadline = time.monotonic() + timeout
        for url, child in zip(self.urls, self.children, strict=True):
            while True:
                if child.poll() is not None:
                    raise RuntimeError(f"daphne exited at start:\n{self.log()}")
                try:
                    with urllib.request.urlopen(url + "/healthz", timeout=1) as response:  # noqa: S310
                        if response.status == 200:
                            break
                except OSError:
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"daphne did not answer within {timeout} s:\n{self.log()}") from None
                    time.sleep(0.2)
        return self

    @property
    def pids(self) -> list[int]:
        return [child.pid for child in self.children]

    def log(self) -> str:
        return "\n".join(p.read_text(errors="replace")[-3000:] for p in sorted(self.tmpdir.glob("daphne-*.log")))

    def stop(self) -> None:
        for child in self.children:
            if child.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(child.pid, signal.SIGTERM)
        for child in self.children:
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(child.pid, signal.SIGKILL)
                child.wait(timeout=10)
        self.children = []
        if self.db_created:
            import psycopg

            with (
                contextlib.suppress(psycopg.Error),
                psycopg.connect(_with_db_name(self.base_database_url, "postgres"), autocommit=True) as conn,
            ):
                conn.execute(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')
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

"""A real Parley server for tests: ``daphne`` in a subprocess on a free port.

Embedded default: a temporary SQLite file and the in-memory channel layer.
When the suite runs with ``DATABASE_URL`` (PostgreSQL) and ``REDIS_URL``,
each server gets its own fresh PostgreSQL database and Redis channel prefix,
so that tests never see each other's data; several servers may share one
database (``ParleyServer(share_with=other)``) to act as one system.
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

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _postgres_url(base: str, name: str) -> str:
    head, _, _ = base.rpartition("/")
    return f"{head}/{name}"


def _create_postgres_db(base: str, name: str) -> None:
    import psycopg

    with psycopg.connect(_postgres_url(base, "postgres"), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')


def _drop_postgres_db(base: str, name: str) -> None:
    import psycopg

    try:
        with psycopg.connect(_postgres_url(base, "postgres"), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    except psycopg.Error:
        pass


class ParleyServer:
    def __init__(
        self,
        config: dict | None = None,
        env: dict | None = None,
        *,
        share_with: ParleyServer | None = None,
        production: bool | None = None,
        daphne_args: tuple[str, ...] = (),
    ) -> None:
        self.config = config
        self.daphne_args = tuple(daphne_args)
        self.extra_env = dict(env or {})
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None
        self.share_with = share_with
        self.owns_storage = share_with is None
        self.log_path: Path | None = None
        base_db = os.environ.get("DATABASE_URL", "")
        self.production = bool(base_db.startswith("postgres")) if production is None else production
        if share_with is not None:
            self.tmpdir = share_with.tmpdir
            self.database_url = share_with.database_url
            self.channel_prefix = share_with.channel_prefix
        else:
            self.tmpdir = Path(tempfile.mkdtemp(prefix="parley-server-"))
            self.channel_prefix = f"t{uuid.uuid4().hex[:10]}"
            if self.production:
                self.db_name = f"parley_srv_{uuid.uuid4().hex[:12]}"
                self.database_url = _postgres_url(base_db, self.db_name)
            else:
                self.database_url = f"sqlite:///{self.tmpdir / 'db.sqlite3'}"

    # --- environment ------------------------------------------------------------

    def env(self) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "DJANGO_SETTINGS"))}
        env.update(
            {
                "DJANGO_SETTINGS_MODULE": "config.settings",
                "DEBUG": "false",
                "SECRET_KEY": "test-server-secret-key-" + self.channel_prefix,
                "ALLOWED_HOSTS": "127.0.0.1,localhost",
                "DATABASE_URL": self.database_url,
                "PARLEY_DEMO": "true",
                "PARLEY_TIMERS_ENABLED": "true",
                "PARLEY_DEMO_KEY_DIR": str(self.tmpdir / "demo-keys"),
                "PARLEY_CHANNEL_PREFIX": self.channel_prefix,
                "SESSION_COOKIE_SECURE": "false",
                "CSRF_COOKIE_SECURE": "false",
                "PYTHONUNBUFFERED": "1",
            }
        )
        if not self.production:
            env.pop("REDIS_URL", None)
        env.update(self.extra_env)
        return env

    def manage(self, *args: str, input: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env(),
            input=input,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if check and result.returncode != 0:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
        return result

    def import_config(self, config: dict) -> None:
        self.manage("import_config", "-", input=json.dumps(config))

    def shell(self, code: str) -> str:
        """Run Python in the server's environment (Django set up) and return what it printed."""
        return self.manage("shell", "-c", code).stdout

    # --- life cycle ---------------------------------------------------------------

    def prepare(self) -> None:
        if self.owns_storage:
            if self.production:
                _create_postgres_db(os.environ["DATABASE_URL"], self.db_name)
            self.manage("migrate", "--noinput")
            if self.config is not None:
                self.import_config(self.config)

    def start(self, timeout: float = 30) -> ParleyServer:
        if self.process is not None and self.process.poll() is None:
            return self
        self.log_path = self.tmpdir / f"daphne-{self.port}.log"
        log = open(self.log_path, "ab")  # noqa: SIM115 - closed by the child's exit
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "daphne",
                "-b",
                "127.0.0.1",
                "-p",
                str(self.port),
                *self.daphne_args,
                "config.asgi:application",
            ],
            cwd=ROOT,
            env=self.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"daphne exited at start:\n{self.log()}")
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=1) as response:  # noqa: S310
                    if response.status == 200:
                        return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"daphne did not answer within {timeout} s:\n{self.log()}")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, sig)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        self.process = None

    def kill(self) -> None:
        self.stop(signal.SIGKILL)

    def restart(self) -> ParleyServer:
        self.stop()
        return self.start()

    def log(self) -> str:
        if self.log_path and self.log_path.exists():
            return self.log_path.read_text(errors="replace")[-5000:]
        return ""

    def cleanup(self) -> None:
        self.stop()
        if self.owns_storage:
            if self.production:
                _drop_postgres_db(os.environ["DATABASE_URL"], self.db_name)
            shutil.rmtree(self.tmpdir, ignore_errors=True)

    def __enter__(self) -> ParleyServer:
        try:
            self.prepare()
            return self.start()
        except BaseException:
            self.cleanup()
            raise

    def __exit__(self, *exc) -> None:
        self.cleanup()

"""A real Parley server for tests: ``daphne`` in a subprocess on a free port.

Embedded default: a temporary SQLite file and the in-memory channel layer.
When the suite runs with ``DATABASE_URL`` (PostgreSQL) and ``REDIS_URL``,
each server gets its own fresh PostgreSQL database and Redis channel prefix,
so that tests never see each other's data; several servers may share one
database (``ParleyServer(share_with=other)``) to act as one system.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import tempfile
import uuid
from pathlib import Path

from bench.server import ROOT, Daphne, drop_postgres_db, free_port, manage, postgres_url

from . import migrated

__all__ = ["ROOT", "ParleyServer", "free_port"]


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
        self.daphne: Daphne | None = None
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
                self.database_url = postgres_url(base_db, self.db_name)
            else:
                self.database_url = f"sqlite:///{self.tmpdir / 'db.sqlite3'}"

    @property
    def demo_key_dir(self) -> Path:
        return self.tmpdir / "demo-keys"

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
                "PARLEY_DEMO_KEY_DIR": str(self.demo_key_dir),
                "MEDIA_ROOT": str(self.tmpdir / "media"),  # uploaded files stay out of the working tree
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

    def manage(self, *args: str, input: str | None = None, check: bool = True):
        return manage(self.env(), *args, input=input, timeout=120, check=check)

    def import_config(self, config: dict) -> None:
        self.manage("import_config", "-", input=json.dumps(config))

    def shell(self, code: str) -> str:
        """Run Python in the server's environment (Django set up) and return what it printed."""
        return self.manage("shell", "-c", code).stdout

    # --- life cycle ---------------------------------------------------------------

    def prepare(self) -> None:
        if self.owns_storage:
            if self.production:
                migrated.postgres_copy(os.environ["DATABASE_URL"], self.db_name, self._migrate)
            else:
                migrated.sqlite_copy(self.tmpdir / "db.sqlite3", self._migrate)
            if self.config is not None:
                self.import_config(self.config)

    def _migrate(self, database_url: str) -> None:
        manage({**self.env(), "DATABASE_URL": database_url}, "migrate", "--noinput", timeout=300)

    @property
    def process(self):
        """The running daphne child (``subprocess.Popen``), or None."""
        return self.daphne.process if self.daphne is not None else None

    def start(self, timeout: float = 30) -> ParleyServer:
        if self.daphne is not None and self.daphne.running:
            return self
        self.daphne = Daphne(self.env(), self.tmpdir, port=self.port, args=self.daphne_args)
        self.log_path = self.daphne.log_path
        self.daphne.start(timeout)
        return self

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.daphne is not None:
            self.daphne.stop(sig)
        self.daphne = None

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
                drop_postgres_db(os.environ["DATABASE_URL"], self.db_name)
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

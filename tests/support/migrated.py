"""Migrated databases for the test servers, copied from one template per state of the migrations.

Every ``ParleyServer`` used to run ``manage.py migrate`` into its fresh database: a child process and
every migration of every app, 3 to 5 seconds of CPU each on SQLite and more on PostgreSQL, for some forty
servers per pass of the suite. Now the first server of a run migrates a template, under a file lock that
the pytest-xdist workers share, and each server gets a copy: a file copy on SQLite, ``CREATE DATABASE …
TEMPLATE`` on PostgreSQL. The template's name carries a digest of the migration files and of Django's
version, so a changed migration makes a new template; nothing in the migrations depends on the
environment (no data migrations, no ``post_migrate`` handlers of ours), so a copy is what ``migrate``
would have made.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import hashlib
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import django

from bench.server import ROOT, create_postgres_db, drop_postgres_db, postgres_url

TEMPLATE_PREFIX = "parley_tpl_"


@functools.cache
def digest() -> str:
    """What the migrations are: every migration file's path and bytes, and Django's version."""
    sha = hashlib.sha256(django.get_version().encode())
    for path in sorted(ROOT.glob("*/migrations/*.py")) + sorted(ROOT.glob("*/*/migrations/*.py")):
        sha.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes())
    return sha.hexdigest()[:16]


@contextlib.contextmanager
def _locked(name: str) -> Iterator[None]:
    with open(Path(tempfile.gettempdir()) / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        yield


def sqlite_copy(target: Path, migrate: Callable[[str], None]) -> None:
    """A migrated SQLite database at ``target``; ``migrate(database_url)`` migrates one from scratch."""
    folder = Path(tempfile.gettempdir())
    template = folder / f"parley-migrated-{digest()}.sqlite3"
    with _locked("parley-migrated-sqlite"):
        if not template.exists():
            for stale in folder.glob("parley-migrated-*.sqlite3"):  # of migrations that changed since
                stale.unlink(missing_ok=True)
            building = folder / f"parley-building-{os.getpid()}.sqlite3"
            building.unlink(missing_ok=True)
            migrate(f"sqlite:///{building}")
            with contextlib.closing(sqlite3.connect(building)) as db:  # everything in the one file
                db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            os.replace(building, template)  # whole or not at all
        shutil.copyfile(template, target)


def postgres_copy(base_url: str, name: str, migrate: Callable[[str], None]) -> None:
    """A migrated PostgreSQL database ``name`` on ``base_url``'s server (see ``sqlite_copy``). One lock
    for every run on this machine: a run whose migrations differ rebuilds its template, never half-reads
    another's."""
    import psycopg

    template = TEMPLATE_PREFIX + digest()
    server = postgres_url(base_url, "postgres")
    with _locked("parley-migrated-postgres"), psycopg.connect(server, autocommit=True) as conn:
        rows = conn.execute("SELECT datname FROM pg_database WHERE datname LIKE %s", [TEMPLATE_PREFIX + "%"])
        existing = {row[0] for row in rows}
        if template not in existing:
            for stale in existing:  # of migrations that changed since, or a build that was interrupted
                drop_postgres_db(base_url, stale)
            building = f"{TEMPLATE_PREFIX}building"
            create_postgres_db(base_url, building)
            try:
                migrate(postgres_url(base_url, building))
                conn.execute(f'ALTER DATABASE "{building}" RENAME TO "{template}"')
            except BaseException:
                drop_postgres_db(base_url, building)
                raise
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')

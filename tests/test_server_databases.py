"""The test servers' databases are copies of a migrated template (tests/support/migrated.py)."""

from __future__ import annotations

from tests.support import migrated
from tests.support.server import ParleyServer


def test_a_test_servers_copied_database_has_every_migration_applied():
    server = ParleyServer()
    try:
        server.prepare()
        check = server.manage("migrate", "--check", check=False)
        assert check.returncode == 0, f"unapplied migrations:\n{check.stdout}{check.stderr}"
        tables = server.shell("from django.db import connection; print(len(connection.introspection.table_names()))")
        assert int(tables.split()[-1]) > 20
    finally:
        server.cleanup()


def test_the_templates_name_changes_with_the_migrations(tmp_path, monkeypatch):
    before = migrated.digest()
    app = tmp_path / "someapp" / "migrations"
    app.mkdir(parents=True)
    (app / "0001_initial.py").write_text("# a migration\n")
    monkeypatch.setattr(migrated, "ROOT", tmp_path)
    migrated.digest.cache_clear()
    try:
        first = migrated.digest()
        (app / "0001_initial.py").write_text("# a changed migration\n")
        migrated.digest.cache_clear()
        assert migrated.digest() != first
        assert first != before
    finally:
        migrated.digest.cache_clear()

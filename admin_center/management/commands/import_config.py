"""``manage.py import_config FILE|-``: apply a configuration document (../shared/CONFIG.md)."""

from __future__ import annotations

import getpass
import json
import sys

from django.core.management.base import BaseCommand, CommandError

from admin_center.config_io import SECTIONS, ConfigError, import_configuration
from admin_center.config_plan import plan_configuration


def _operator() -> str:
    """Who ran the command, for the audit row: the operating-system account."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


class Command(BaseCommand):
    help = (
        "Import the admin center configuration from a JSON file ('-' reads standard input). "
        "All-or-nothing and idempotent: objects are matched by name (agents by username, widgets by public_id) "
        "and updated in place; on any problem nothing changes, every problem is printed with its path "
        "and the exit status is 1."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", help="JSON file to import, or '-' for standard input")
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Print what would be created, changed and left alone (per object and field, secrets masked) "
            "and change nothing. Exit status 0: nothing would change; 2: changes are pending; 1: problems.",
        )
        parser.add_argument(
            "--allow-staff",
            action="store_true",
            help="Allow the document to set the passwords of staff and superuser accounts (refused otherwise).",
        )

    def handle(self, *args, file: str, **options) -> None:
        try:
            if file == "-":
                text = sys.stdin.read()
            else:
                with open(file, encoding="utf-8") as handle:
                    text = handle.read()
        except OSError as error:
            raise CommandError(f"{file}: {error.strerror}") from None
        try:
            document = json.loads(text)
        except json.JSONDecodeError as error:
            raise CommandError(f"{file}: not valid JSON: {error}") from None
        if options.get("dry_run"):
            self._dry_run(document, file, options.get("allow_staff", False))
            return
        try:
            report = import_configuration(
                document,
                allow_staff=options.get("allow_staff", False),
                imported_by=_operator(),
                source=f"import_config {file}",
            )
        except ConfigError as error:
            for problem in error.problems:
                self.stderr.write(problem)
            raise CommandError(f"{len(error.problems)} problem(s); nothing was changed.") from None
        for section in SECTIONS:
            self.stdout.write(
                f"{section}: {report.created[section]} created, {report.updated[section]} updated, "
                f"{report.unchanged[section]} unchanged"
            )

    def _dry_run(self, document, file: str, allow_staff: bool) -> None:
        try:
            plan = plan_configuration(document, allow_staff=allow_staff)
        except ConfigError as error:
            for problem in error.problems:
                self.stderr.write(problem)
            raise CommandError(f"{len(error.problems)} problem(s); nothing would be changed.") from None
        for line in plan.lines():
            self.stdout.write(line)
        if plan.pending:
            self.stdout.flush()
            raise SystemExit(2)  # changes pending (docs/configuration.md "Plan before apply")

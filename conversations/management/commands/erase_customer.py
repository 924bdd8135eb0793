"""``manage.py erase_customer <id> | --subject SUB | --email ADDRESS [--yes]``:
delete one customer and everything stored about them (conversations.actions.privacy.erase_customer)."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from conversations.actions import privacy

from ._customer_lookup import add_lookup_arguments, find_customer


class Command(BaseCommand):
    help = "Erase one customer: close their running conversations, then delete them and all their data."

    def add_arguments(self, parser) -> None:
        add_lookup_arguments(parser)
        parser.add_argument("--yes", action="store_true", help="Do not ask for confirmation.")

    def handle(self, *args, **options) -> None:
        customer = find_customer(options)
        if not options["yes"]:
            if not options.get("interactive", True) or not self.stdin_is_tty():
                raise CommandError("Refusing to erase without confirmation: add --yes.")
            answer = input(f"Erase customer {customer.pk} ({customer.display_name}) and all their data? [y/N] ")
            if answer.strip().lower() not in ("y", "yes"):
                raise CommandError("Nothing was erased.")
        counts = privacy.erase_customer(customer)
        self.stdout.write(json.dumps({"customer": str(customer.pk), "deleted": counts}))

    @staticmethod
    def stdin_is_tty() -> bool:
        import sys

        return sys.stdin.isatty()

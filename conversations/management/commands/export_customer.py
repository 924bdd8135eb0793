"""``manage.py export_customer <id> | --subject SUB | --email ADDRESS [--output FILE]``:
everything stored about one customer as JSON (conversations.actions.privacy.export_customer)."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand

from conversations.actions import privacy

from ._customer_lookup import add_lookup_arguments, find_customer


class Command(BaseCommand):
    help = "Export one customer's data (profile, conversations, messages, transitions) as JSON."

    def add_arguments(self, parser) -> None:
        add_lookup_arguments(parser)
        parser.add_argument("--output", "-o", help="Write to this file instead of standard output.")

    def handle(self, *args, **options) -> None:
        customer = find_customer(options)
        text = json.dumps(privacy.export_customer(customer), ensure_ascii=False, indent=2)
        if options.get("output"):
            with open(options["output"], "w", encoding="utf-8") as out:
                out.write(text + "\n")
            self.stderr.write(f"Exported customer {customer.pk} to {options['output']}.")
        else:
            self.stdout.write(text)

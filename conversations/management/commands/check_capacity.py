"""``manage.py check_capacity [--fix]``: compare every agent's ``used_capacity`` with the conversations that
hold capacity (conversations.actions.capacity); ``--fix`` repairs the ones that differ."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from conversations.actions import capacity


class Command(BaseCommand):
    help = "Check every agent's used capacity against their conversations; --fix repairs what differs."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--fix", action="store_true", help="Set used capacity to what the conversations hold.")

    def handle(self, *args, **options) -> None:
        drift = capacity.check_capacity(fix=options["fix"])
        for row in drift:
            self.stdout.write(json.dumps(row, ensure_ascii=False))
        if not drift:
            self.stdout.write("Every agent's used capacity matches their conversations.")
        elif options["fix"]:
            self.stdout.write(f"Repaired {len(drift)} agent(s).")
        else:
            raise CommandError(f"{len(drift)} agent(s) with a used capacity that differs; run with --fix.")

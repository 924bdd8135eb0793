"""``manage.py export_config``: write the admin center configuration as JSON to standard output."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand

from admin_center.config_io import export_configuration


class Command(BaseCommand):
    help = (
        "Export the admin center configuration (operating hours, authentication settings, agents, queues, "
        "workstreams, chat widgets) as JSON in the shape import_config reads. Agent passwords are left out."
    )

    def handle(self, *args, **options) -> None:
        self.stdout.write(json.dumps(export_configuration(), indent=2, ensure_ascii=False))

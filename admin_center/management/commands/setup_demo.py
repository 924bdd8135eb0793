"""``manage.py setup_demo``: the demo set-up that ``make run`` starts with (idempotent)."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from admin_center.config_io import ConfigError, import_configuration
from admin_center.demo_keys import ensure_demo_keys

DEMO_CONFIG = Path(__file__).resolve().parents[2] / "demo" / "demo-config.json"
DEMO_AUTHENTICATION = "Demo website JWT"
ADMIN = "ada"
BASE_URL = "http://127.0.0.1:8000/"


def demo_origins(base_url: str) -> list[str]:
    """The origins the demo pages are served from: ``base_url``'s, and its loopback twin (127.0.0.1 and
    localhost name the same server) so that either address in the browser works."""
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise CommandError(f"--base-url must be an http(s) URL such as {BASE_URL}, not {base_url!r}")
    port = f":{parts.port}" if parts.port else ""
    origins = [f"{parts.scheme}://{parts.hostname}{port}"]
    twins = {"127.0.0.1": "localhost", "localhost": "127.0.0.1"}
    if parts.hostname in twins:
        origins.append(f"{parts.scheme}://{twins[parts.hostname]}{port}")
    return origins


def demo_document(public_pem: str, base_url: str = BASE_URL) -> dict:
    """The demo configuration with the demo public key filled into its authentication setting and the
    demo widgets' allowed origins following the server's real address (``--base-url``)."""
    document = json.loads(DEMO_CONFIG.read_text(encoding="utf-8"))
    for setting in document["authentication_settings"]:
        if setting["name"] == DEMO_AUTHENTICATION:
            setting["public_key_pem"] = public_pem
    origins = demo_origins(base_url)
    for widget in document["chat_widgets"]:
        widget["allowed_origins"] = list(origins)
    return document


class Command(BaseCommand):
    help = (
        "Set up the demo: generate the demo key pair once, import admin_center/demo/demo-config.json "
        "(the demo public key goes into the 'Demo website JWT' authentication setting), make 'ada' an "
        "administrator, and print the URLs and sign-ins. Running it again changes nothing."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--base-url",
            default=BASE_URL,
            help=f"Where the server will listen ({BASE_URL}): the printed URLs and the demo widgets' allowed origins.",
        )

    def handle(self, *args, **options) -> None:
        if not (settings.DEBUG or settings.PARLEY_DEMO):
            # The demo makes 'ada' a superuser with a published password: never on a production database.
            raise CommandError(
                "setup_demo runs only with DEBUG=true or PARLEY_DEMO=true: it creates sign-ins whose passwords "
                "are published (ada is an administrator). `make run` sets both for development."
            )
        base_url = options["base_url"].rstrip("/") + "/"
        _private_pem, public_pem = ensure_demo_keys()
        document = demo_document(public_pem, base_url)
        try:
            with transaction.atomic():
                import_configuration(document, allow_staff=True, imported_by="setup_demo", source=str(DEMO_CONFIG))
                admin = get_user_model().objects.get(username=ADMIN)
                if not (admin.is_staff and admin.is_superuser):
                    admin.is_staff = admin.is_superuser = True
                    admin.save(update_fields=["is_staff", "is_superuser"])
        except ConfigError as error:
            for problem in error.problems:
                self.stderr.write(problem)
            raise CommandError("The demo configuration was refused; nothing was changed.") from None
        passwords = {agent["username"]: agent["password"] for agent in document["agents"]}
        agents = ", ".join(f"{name} / {password}" for name, password in passwords.items() if name != ADMIN)
        self.stdout.write(self.style.SUCCESS("Parley demo is ready:"))
        self.stdout.write(f"  {base_url}admin/      admin center   {ADMIN} / {passwords[ADMIN]}")
        self.stdout.write(f"  {base_url}workspace/  agent workspace   {agents} (and {ADMIN})")
        self.stdout.write(f"  {base_url}demo/       demo shop, persistent chat (signed-in customer)")
        self.stdout.write(f"  {base_url}demo/live/  demo support page, live chat (anonymous visitor)")

"""``manage.py create_api_token USERNAME``: make a new REST API key for a user and print it."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from rest_framework.authtoken.models import Token

from conversations.actions import visibility


class Command(BaseCommand):
    help = (
        "Create a new REST API key (Authorization: Token <key>) for USERNAME and print it. The key has the "
        "permissions of its user (docs/api.md). A user has one key: an earlier key stops working."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("username")

    def handle(self, *args, username: str, **options) -> None:
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user named {username!r}.")
        if not user.is_active:
            raise CommandError(f"{username} is not an active user.")
        if not visibility.may_use_api(user):
            self.stderr.write(
                f"Warning: {username} is neither an agent nor staff nor a supervisor; the API refuses this key "
                "until they are one."
            )
        with transaction.atomic():
            Token.objects.filter(user=user).delete()
            token = Token.objects.create(user=user)
        self.stdout.write(token.key)

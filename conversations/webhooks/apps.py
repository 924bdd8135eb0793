from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WebhooksConfig(AppConfig):
    """The webhook outbox and its delivery (a Django app of its own for its table and migrations)."""

    name = "conversations.webhooks"
    label = "webhooks"
    verbose_name = _("Webhooks")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import subscriptions

        subscriptions.connect_signals()

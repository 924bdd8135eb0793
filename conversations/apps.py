from django.apps import AppConfig
from django.db.models.signals import post_delete


class ConversationsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "conversations"

    def ready(self) -> None:
        from .actions.files import delete_stored_file
        from .models import Attachment

        # A deleted attachment (retention, a customer's erasure, the sweep of unattached uploads) takes
        # its stored file with it.
        post_delete.connect(delete_stored_file, sender=Attachment, dispatch_uid="parley.attachment-file")

        from . import signals

        # Sockets close when the access that opened them ends (users, widgets, authentication settings).
        signals.connect()

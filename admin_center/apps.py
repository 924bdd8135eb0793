from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AdminCenterConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "admin_center"
    verbose_name = _("Admin center")

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the deploy checks)

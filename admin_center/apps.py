from django.apps import AppConfig


class AdminCenterConfig(AppConfig):
    default_auto_field = 'django.db.models.BigAutoField'
    name = 'admin_center'

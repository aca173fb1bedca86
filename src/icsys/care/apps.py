from django.apps import AppConfig


class CareConfig(AppConfig):
    name = "icsys.care"
    label = "care"
    verbose_name = "Care coordination"
    default_auto_field = "django.db.models.BigAutoField"

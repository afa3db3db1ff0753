"""App config for labeling_ui."""

from django.apps import AppConfig


class LabelingUiConfig(AppConfig):
    name = "labeling_ui"
    default_auto_field = "django.db.models.BigAutoField"

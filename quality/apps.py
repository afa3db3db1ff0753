"""App config for quality: registers its labeler policy, after-submit hook and item-table
filters and columns with the core."""

from django.apps import AppConfig


class QualityConfig(AppConfig):
    name = "quality"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Imported here: models cannot be imported before the app registry is ready.
        from annotation.extensions import (
            register_after_submit,
            register_item_columns,
            register_item_filter,
            register_labeler_policy,
        )
        from quality import item_table
        from quality.services.qualification import QualificationPolicy
        from quality.triggers import after_annotation

        register_labeler_policy(QualificationPolicy())
        register_after_submit(after_annotation)
        for name, build in item_table.FILTERS.items():
            register_item_filter(name, build)
        register_item_columns(item_table.item_columns)

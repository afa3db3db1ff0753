"""App config for quality: registers its labeler policy and after-submit hook with the core."""

from django.apps import AppConfig


class QualityConfig(AppConfig):
    name = "quality"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Imported here: models cannot be imported before the app registry is ready.
        from annotation.extensions import register_after_submit, register_labeler_policy
        from quality.services.qualification import QualificationPolicy
        from quality.triggers import after_annotation

        register_labeler_policy(QualificationPolicy())
        register_after_submit(after_annotation)

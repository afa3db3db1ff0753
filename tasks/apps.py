"""App config for tasks: registers the learning loop's after-submit hook with the core."""

from django.apps import AppConfig


class TasksConfig(AppConfig):
    name = "tasks"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Imported here: models cannot be imported before the app registry is ready.
        from annotation.extensions import register_after_submit
        from tasks.triggers import after_annotation

        register_after_submit(after_annotation)

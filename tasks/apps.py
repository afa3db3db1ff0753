"""App config for tasks: registers the learning loop's after-submit and after-import hooks,
the erasure of embeddings, its part of an item's story and its rule for a team's own
predictions with the core, and its
model versions with quality's data card."""

from django.apps import AppConfig


class TasksConfig(AppConfig):
    name = "tasks"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Imported here: models cannot be imported before the app registry is ready.
        from annotation.extensions import (
            register_after_submit,
            register_data_erased,
            register_items_imported,
            register_labels_renamed,
            register_predictions_rule,
            register_story_section,
        )
        from quality.datacard import register_model_version_rows
        from tasks.selectors import model_version_rows
        from tasks.services.embeddings import item_embeddings_delete
        from tasks.services.label_names import learning_labels_rename
        from tasks.services.similarity import similarity_vectors_erase
        from tasks.services.takeover import predictions_rule
        from tasks.story import model_predictions_section
        from tasks.triggers import after_annotation, after_import

        register_after_submit(after_annotation)
        register_model_version_rows(model_version_rows)
        register_predictions_rule(predictions_rule)
        register_data_erased(item_embeddings_delete)
        register_data_erased(similarity_vectors_erase)
        register_items_imported(after_import)
        register_labels_renamed(learning_labels_rename)
        register_story_section(model_predictions_section)

"""App config for quality: registers its labeler policy, after-submit and labels-renamed
hooks, its item-table filters and columns, its bulk actions (label set, review) and its
story section (the review decisions) with the core."""

from django.apps import AppConfig


class QualityConfig(AppConfig):
    name = "quality"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Imported here: models cannot be imported before the app registry is ready.
        from annotation.extensions import (
            register_after_submit,
            register_bulk_action,
            register_item_columns,
            register_item_filter,
            register_labeler_policy,
            register_labels_renamed,
            register_story_section,
        )
        from quality import item_table
        from quality.bulk_actions import LabelSetFromSelection, SendToReview
        from quality.services.label_names import quality_labels_rename
        from quality.services.qualification import QualificationPolicy
        from quality.story import review_section
        from quality.triggers import after_annotation

        register_labeler_policy(QualificationPolicy())
        register_after_submit(after_annotation)
        register_labels_renamed(quality_labels_rename)
        for name, build in item_table.FILTERS.items():
            register_item_filter(name, build)
        register_item_columns(item_table.item_columns)
        register_bulk_action("labelset", LabelSetFromSelection())
        register_bulk_action("review", SendToReview())
        register_story_section(review_section)

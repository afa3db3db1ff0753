"""Quality's part of an item's story (registered with ``annotation.extensions``): the
reviewers' decisions on it, the latest being its adjudicated label, and the model versions
whose label-error check named it. One query each, whatever their number."""

from __future__ import annotations

from typing import Any

from annotation.models import Item
from quality.models import LabelError, Review


def review_section(*, item: Item, role: str) -> dict[str, Any]:
    """``reviews`` (oldest first), ``review`` (the latest: the item's final label) and
    ``label_errors``. Reviewers read them all: the review queue shows them the same."""
    reviews = [
        {
            "id": row["id"],
            "reviewer": row["reviewer__username"],
            "labels": row["labels"],
            "note": row["note"],
            "created_at": row["created_at"],
        }
        for row in Review.objects.filter(project_id=item.project_id, item_id=item.pk)
        .order_by("id")
        .values("id", "reviewer__username", "labels", "note", "created_at")
    ]
    label_errors = [
        {
            "model_version": row["error_list__model_version"],
            "rank": row["rank"],
            "flagged": row["error_list__flagged"],
            "given": row["given"],
            "suggested": row["suggested"],
            "score": row["score"],
        }
        for row in LabelError.objects.filter(item_id=item.pk)
        .order_by("error_list__model_version")
        .values(
            "error_list__model_version",
            "error_list__flagged",
            "rank",
            "given",
            "suggested",
            "score",
        )
    ]
    return {
        "reviews": reviews,
        "review": reviews[-1] if reviews else None,
        "label_errors": label_errors,
    }

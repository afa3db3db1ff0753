"""The learning loop's part of an item's story (registered with ``annotation.extensions``):
what the project's own model versions predicted for it. The item's current prediction is
on the item (the version that scored it last); earlier versions' predictions are kept only
for the stop-set items (``StopSetPrediction``), so those are the history there is. Two
queries whatever the number of versions; managers only (a reviewer may label the item)."""

from __future__ import annotations

from typing import Any

from annotation.models import Item
from annotation.selectors import MANAGING_ROLES
from tasks.models import ModelVersion, StopSetPrediction


def model_predictions_section(*, item: Item, role: str) -> dict[str, Any]:
    """``predictions`` of the project's model (``source`` "model"), oldest version first,
    the one the item's suggestion and priority come from marked ``current``."""
    if role not in MANAGING_ROLES:
        return {}
    out: list[dict[str, Any]] = [
        {
            "source": "model",
            "model_version": row["version__version"],
            "labels": row["labels"],
            "score": None,
            "at": row["version__trained_at"],
            "current": False,
            "stop_set": True,
        }
        for row in StopSetPrediction.objects.filter(item_id=item.pk)
        .order_by("version__version")
        .values("version__version", "version__trained_at", "labels")
    ]
    if item.scored_by_version is not None and item.predicted_labels is not None:
        trained_at = (
            ModelVersion.objects.filter(project_id=item.project_id, version=item.scored_by_version)
            .values_list("trained_at", flat=True)
            .first()
        )
        out.append(
            {
                "source": "model",
                "model_version": item.scored_by_version,
                "labels": item.predicted_labels,
                "score": item.confidence,
                "at": trained_at,
                "current": True,
                "stop_set": False,
            }
        )
    return {"predictions": out}

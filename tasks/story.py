"""The learning loop's part of an item's story (registered with ``annotation.extensions``):
what the project's own model versions predicted for it. The item's current prediction is
on the item (the version that scored it last); earlier versions' predictions are kept only
for the stop-set items (``StopSetPrediction``), so those are the history there is. One
query whatever the number of versions; managers only (a reviewer may label the item)."""

from __future__ import annotations

from typing import Any

from django.db.models import FilteredRelation, Q

from annotation.models import Item
from annotation.selectors import MANAGING_ROLES
from tasks.models import ModelVersion


def model_predictions_section(*, item: Item, role: str) -> dict[str, Any]:
    """``predictions`` of the project's model (``source`` "model"), oldest version first,
    the one the item's suggestion and priority come from marked ``current``."""
    if role not in MANAGING_ROLES:
        return {}
    # One query: the project's versions that predicted this item in the stop set (the
    # filtered join) or that scored it last.
    rows = (
        ModelVersion.objects.filter(project_id=item.project_id)
        .annotate(
            stop=FilteredRelation(
                "stop_set_predictions", condition=Q(stop_set_predictions__item_id=item.pk)
            )
        )
        .filter(Q(stop__isnull=False) | Q(version=item.scored_by_version))
        .order_by("version")
        .values("version", "trained_at", "stop__labels")
    )
    out: list[dict[str, Any]] = []
    current_trained_at = None
    for row in rows:
        if row["version"] == item.scored_by_version:
            current_trained_at = row["trained_at"]
        if row["stop__labels"] is not None:
            out.append(
                {
                    "source": "model",
                    "model_version": row["version"],
                    "labels": row["stop__labels"],
                    "score": None,
                    "at": row["trained_at"],
                    "current": False,
                    "stop_set": True,
                }
            )
    if item.scored_by_version is not None and item.predicted_labels is not None:
        out.append(
            {
                "source": "model",
                "model_version": item.scored_by_version,
                "labels": item.predicted_labels,
                "score": item.confidence,
                "at": current_trained_at,
                "current": True,
                "stop_set": False,
            }
        )
    return {"predictions": out}

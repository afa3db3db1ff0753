"""The learning loop's copies of label names follow a rename or merge (the core's
labels-renamed hook): the stop-set predictions that successive versions are compared on.

A trained model's artifact keeps the class names it was fitted with; until the next
training, the scores it writes name the old labels (README, "Renaming labels")."""

from __future__ import annotations

from annotation.models import Project
from annotation.services.labels import rows_rename
from tasks.models import StopSetPrediction


def stop_set_labels_rename(*, project: Project, mapping: dict[str, str]) -> dict[str, int]:
    """Rewrite the stop-set predictions' names, in the caller's transaction."""
    rows = StopSetPrediction.objects.filter(version__project=project)
    return {"stop_set_predictions": rows_rename(rows=rows, field="labels", mapping=mapping)}

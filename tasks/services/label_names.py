"""The learning loop's copies of label names follow a rename or merge (the core's
labels-renamed hook): the stop-set predictions that successive versions are compared on, and
each model version's map from the class names its artifact was fitted with to today's names
(scoring writes predictions through it, so a model trained before a rename predicts the new
name)."""

from __future__ import annotations

from annotation.models import Project
from annotation.services.labels import rows_rename
from tasks.models import ModelVersion, StopSetPrediction


def renames_compose(renames: dict[str, str], mapping: dict[str, str]) -> dict[str, str]:
    """A version's map after one more rename or merge: what pointed at an old name points at
    its new one, and an old name the map does not know yet is added."""
    composed = {fitted: mapping.get(now, now) for fitted, now in renames.items()}
    for old, new in mapping.items():
        composed.setdefault(old, new)
    return {fitted: now for fitted, now in composed.items() if fitted != now}


def learning_labels_rename(*, project: Project, mapping: dict[str, str]) -> dict[str, int]:
    """Rewrite the names the learning loop stores, in the caller's transaction."""
    rows = StopSetPrediction.objects.filter(version__project=project)
    changed = rows_rename(rows=rows, field="labels", mapping=mapping)
    versions = list(ModelVersion.objects.filter(project=project).only("pk", "label_renames"))
    for version in versions:
        version.label_renames = renames_compose(version.label_renames or {}, mapping)
    ModelVersion.objects.bulk_update(versions, ["label_renames"])
    return {"stop_set_predictions": changed}


def renamed_predictions(labels: list[list[str]], renames: dict[str, str]) -> list[list[str]]:
    """Predicted label lists in today's names (a merge may make two one)."""
    if not renames:
        return labels
    out = []
    for row in labels:
        names: list[str] = []
        for name in row:
            now = renames.get(name, name)
            if now not in names:
                names.append(now)
        out.append(names)
    return out

"""When a team's own predictions stop serving: the project's own model takes over their
suggestions and queue priority only once it is better by cross-validation.

The rule the core asks (``annotation.extensions.predictions_in_charge``): a project's
predictions serve while ``suggestion_source`` admits them (``auto`` or ``predictions``) and no
version of its own model is active. With ``predictions`` the own model never takes over by
itself: its versions are trained and compared (for the record) but stay ``ready``.
A trained version becomes active only through a scoring pass, and while predictions serve,
``model_version_train`` starts that pass only if :func:`takeover_compare` says the version is
better: its cross-validated accuracy (``ModelVersion.metrics``) against the accuracy of the
predictions on the same labeled items (each item's consensus label, gold left out: the
training set; each item's newest prediction). Otherwise the version stays ``ready`` and the
predictions keep serving. The comparison is recorded on the version (``takeover``) and in
the audit log. A manager may still activate any trained version by hand (roll forward).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from annotation.iterables import chunks
from annotation.models import ItemPrediction, Project
from tasks.models import ModelVersion

MODEL = "model"
PREDICTIONS = "predictions"
_READ_CHUNK = 2000


def predictions_rule(*, project: Project) -> bool:
    """Registered with the core: may the team's predictions serve this project now?"""
    return project.suggestion_source != Project.SuggestionSource.MODEL and not (
        ModelVersion.objects.filter(project=project, state=ModelVersion.State.ACTIVE).exists()
    )


def comparison_due(*, project: Project) -> bool:
    """A new version must beat the team's predictions: they serve, and there are some."""
    return (
        predictions_rule(project=project)
        and ItemPrediction.objects.filter(project_id=project.pk).exists()
    )


def takeover_due(*, project: Project) -> bool:
    """Must a new version be held back (compared, and kept ``ready`` unless it wins)? When
    the team's predictions serve; with ``suggestion_source`` = predictions even before any
    prediction arrived, so that they serve once they do."""
    return comparison_due(project=project) or (
        project.suggestion_source == Project.SuggestionSource.PREDICTIONS
        and predictions_rule(project=project)
    )


def _same(predicted: Any, label: Any, *, multi: bool) -> bool:
    if multi:
        return sorted(predicted or []) == sorted(label or [])
    return bool(predicted) and len(predicted) == 1 and predicted[0] == label


def takeover_compare(
    *, project: Project, item_ids: list[int], labels: list[Any], own_accuracy: float | None
) -> dict[str, Any]:
    """Who should serve: the version (``own_accuracy``, cross-validated on these labeled
    items) or the predictions (their accuracy on those of the items they cover, each item's
    newest prediction against its consensus label; multi-label: the exact label set, as the
    cross-validation counts it). Ties go to the predictions: the own model must be better.
    With no labeled item covered there is nothing to defend the predictions with."""
    multi = project.is_multi_label
    label_of = dict(zip(item_ids, labels, strict=True))
    newest: dict[int, tuple[Any, str]] = {}
    for chunk in chunks(item_ids, _READ_CHUNK):
        for item_id, predicted, source, version in (
            ItemPrediction.objects.filter(project_id=project.pk, item_id__in=chunk)
            .order_by("item_id", "-id")
            .values_list("item_id", "labels", "source", "model_version")
        ):
            newest.setdefault(item_id, (predicted, f"{source}:{version}"))
    right = sum(_same(p, label_of[i], multi=multi) for i, (p, _) in newest.items())
    compared = len(newest)
    theirs = right / compared if compared else None
    record: dict[str, Any] = {
        "own_accuracy": own_accuracy,
        "predictions_accuracy": theirs,
        "compared_items": compared,
        "labeled_items": len(item_ids),
        "prediction_models": dict(Counter(m for _, m in newest.values())),
    }
    if project.suggestion_source == Project.SuggestionSource.PREDICTIONS:
        record.update(
            decision=PREDICTIONS,
            reason="the project's suggestion_source is 'predictions': its own model does "
            "not take over by itself (a manager may activate a version)",
        )
    elif theirs is None:
        record.update(decision=MODEL, reason="no labeled item has a prediction to compare with")
    elif own_accuracy is None:
        record.update(
            decision=PREDICTIONS,
            reason="too few labels to cross-validate the project's model",
        )
    elif own_accuracy > theirs:
        record.update(
            decision=MODEL,
            reason=f"cross-validated accuracy {own_accuracy:.3f} beats the predictions' "
            f"{theirs:.3f} on {compared} labeled items",
        )
    else:
        record.update(
            decision=PREDICTIONS,
            reason=f"cross-validated accuracy {own_accuracy:.3f} does not beat the "
            f"predictions' {theirs:.3f} on {compared} labeled items",
        )
    return record

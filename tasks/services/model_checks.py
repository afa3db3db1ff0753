"""What training checks besides accuracy: label errors and whether the model still changes.

Both run in the training job, once the version is fitted, and return what goes into the
version's ``metrics`` (``label_errors`` and ``stop_set``):

- Label errors: confident learning (tasks.learning.label_errors) on the out-of-fold
  probabilities the cross-validation computed anyway; the ranked list is stored per version
  by quality (``quality.services.label_errors``), whose review queue serves its top.
- When to stop: stabilizing predictions (tasks.learning.stopping). A project's stop set is a
  fixed random sample of the items that were unlabeled when its first model was trained
  (drawn with its own generator, not the queue's random order, so it is not the first items
  served). Each version stores its predictions on the stop-set items it did not train on,
  and its kappa with the previous version on the items both predicted. Items labeled later
  drop out of the comparison: a model agrees with the labels it was fitted on, so counting
  them would make any model look stable. A stop set that shrank below a handful of items
  says so rather than pretend.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from django.conf import settings
from django.db import transaction

from annotation.models import Item, Project
from quality.services.label_errors import LabelErrorRow, label_errors_record
from tasks.learning import Featurizer, TrainedModel
from tasks.learning.label_errors import find_label_errors
from tasks.learning.stopping import prediction_kappa, stop_signal
from tasks.models import ModelVersion, StopSetItem, StopSetPrediction
from tasks.services.images import featurize

_STOP_SET_SEED = 104_729  # added to the project's seed: the stop set's own generator
_BATCH = 1000


def label_errors_check(
    *,
    project: Project,
    version: int,
    item_ids: Sequence[int],
    labels: Sequence[Any],
    oof: npt.NDArray[np.float64] | None,
    classes: Sequence[str],
) -> dict[str, Any]:
    """Find and store the version's possible label errors; a summary for its metrics."""
    skipped = ""
    if project.is_multi_label:
        skipped = "Multi-label projects are not checked for label errors."
    elif oof is None:
        skipped = "Too few labels to cross-validate, so none were checked."
    if skipped:
        label_errors_record(
            project=project,
            model_version=version,
            checked=0,
            thresholds={},
            rows=[],
            skipped=skipped,
        )
        return {"checked": 0, "flagged": 0, "skipped": skipped}
    assert oof is not None
    index = {name: j for j, name in enumerate(classes)}
    given = np.array([index[label] for label in labels], dtype=np.int64)
    found = find_label_errors(oof, given)
    rows = [
        LabelErrorRow(
            item_id=int(item_ids[r]),
            given=classes[int(given[r])],
            suggested=classes[int(s)],
            score=float(score),
            given_proba=float(pg),
            suggested_proba=float(ps),
        )
        for r, s, score, pg, ps in zip(
            found.rows,
            found.suggested,
            found.score,
            found.given_proba,
            found.suggested_proba,
            strict=True,
        )
    ]
    thresholds = {
        name: None if np.isnan(t) else round(float(t), 6)
        for name, t in zip(classes, found.thresholds, strict=True)
    }
    label_errors_record(
        project=project,
        model_version=version,
        checked=found.checked,
        thresholds=thresholds,
        rows=rows,
    )
    return {"checked": found.checked, "flagged": len(rows)}


def stop_set_ensure(*, project: Project) -> int:
    """Draw the project's stop set if it has none yet; its size."""
    existing = StopSetItem.objects.filter(project=project).count()
    if existing:
        return existing
    ids = np.array(
        Item.objects.filter(
            project=project, annotation_count=0, is_gold=False, data_erased_at__isnull=True
        )
        .order_by("id")
        .values_list("id", flat=True),
        dtype=np.int64,
    )
    if not ids.size:
        return 0
    size = min(int(getattr(settings, "SKEIN_STOP_SET_SIZE", 2000)), ids.size)
    picked = np.random.default_rng(int(project.seed) + _STOP_SET_SEED).choice(
        ids, size=size, replace=False
    )
    StopSetItem.objects.bulk_create(
        [StopSetItem(project=project, item_id=int(i)) for i in np.sort(picked)],
        batch_size=_BATCH,
        ignore_conflicts=True,
    )
    return size


def _predicted_labels(model: TrainedModel, X: Any) -> list[list[str]]:
    proba = model.predict_proba(X)
    classes = [str(c) for c in model.classes]
    if model.multi_label:
        return [[c for c, p in zip(classes, row, strict=True) if p > 0.5] for row in proba]
    return [[classes[j]] for j in proba.argmax(axis=1)]


def _agreement(
    mine: dict[int, list[str]], theirs: dict[int, list[str]], *, multi_label: bool
) -> tuple[float | None, int]:
    """Kappa on the items both predicted (multi-label: one yes/no per item and label)."""
    common = sorted(set(mine) & set(theirs))
    if not common:
        return None, 0
    if not multi_label:
        return prediction_kappa([mine[i][0] for i in common], [theirs[i][0] for i in common]), len(
            common
        )
    names = sorted({n for i in common for n in (*mine[i], *theirs[i])})
    if not names:
        return 1.0, len(common)  # both predicted no label anywhere
    a = np.array([[n in mine[i] for n in names] for i in common], dtype=int)
    b = np.array([[n in theirs[i] for n in names] for i in common], dtype=int)
    return prediction_kappa(a.ravel(), b.ravel()), len(common)


def stop_set_check(
    *, version: ModelVersion, featurizer: Featurizer, model: TrainedModel, trained: set[int]
) -> dict[str, Any]:
    """Store the version's predictions on the stop set, compare them with the previous
    version's, and say whether to stop; a summary for its metrics."""
    project = version.project
    stop_set_ensure(project=project)
    rows = [
        (item_id, data)
        for item_id, data in StopSetItem.objects.filter(
            project=project, item__is_gold=False, item__data_erased_at__isnull=True
        )
        .order_by("item_id")
        .values_list("item_id", "item__data")
        if item_id not in trained
    ]
    mine: dict[int, list[str]] = {}
    if rows:
        X = featurize(featurizer, [r[1] for r in rows], project_id=project.pk)
        predicted = _predicted_labels(model, X)
        mine = {r[0]: labels for r, labels in zip(rows, predicted, strict=True)}
    with transaction.atomic():
        StopSetPrediction.objects.filter(version=version).delete()
        StopSetPrediction.objects.bulk_create(
            [
                StopSetPrediction(version=version, item_id=i, labels=labels)
                for i, labels in mine.items()
            ],
            batch_size=_BATCH,
        )
    earlier = list(
        ModelVersion.objects.filter(
            project=project, version__lt=version.version, metrics__has_key="stop_set"
        )
        .order_by("version")
        .values_list("version", "metrics")
    )
    kappa, compared = None, 0
    previous = earlier[-1][0] if earlier else None
    if previous is not None:
        theirs = dict(
            StopSetPrediction.objects.filter(
                version__project=project, version__version=previous
            ).values_list("item_id", "labels")
        )
        kappa, compared = _agreement(mine, theirs, multi_label=project.is_multi_label)
    # Each earlier version's kappa with its own predecessor (None for the first of all).
    history = [(m.get("stop_set") or {}).get("kappa") for _, m in earlier] + [kappa]
    threshold = float(getattr(settings, "SKEIN_STOP_KAPPA", 0.99))
    window = int(getattr(settings, "SKEIN_STOP_WINDOW", 3))
    signal = stop_signal(history, threshold=threshold, window=window)
    return {
        "items": len(mine),
        "compared_with": previous,
        "compared_items": compared,
        "kappa": None if kappa is None else round(kappa, 6),
        "recent": [round(k, 6) for k in signal.recent],
        "stop": signal.stop,
        "threshold": threshold,
        "window": window,
    }

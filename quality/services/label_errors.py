"""Writes of the label-error lists: one ranked list per model version, replaced whole.

The learning loop computes the list (tasks.learning.label_errors on the out-of-fold
probabilities of training) and hands it here, because the review queue, which quality owns,
serves the top of it (``quality.services.review.review_queue``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from django.db import transaction

from annotation.models import Project
from quality.models import LabelError, LabelErrorList

_BATCH = 1000


@dataclass(frozen=True)
class LabelErrorRow:
    """One flagged item, in rank order (the first is the most likely wrong)."""

    item_id: int
    given: str
    suggested: str
    score: float
    given_proba: float
    suggested_proba: float


def label_errors_record(
    *,
    project: Project,
    model_version: int,
    checked: int,
    thresholds: Mapping[str, float | None],
    rows: Sequence[LabelErrorRow],
    skipped: str = "",
) -> LabelErrorList:
    """Store the version's ranked list, replacing any earlier run of the same version (a
    retried training writes it again)."""
    with transaction.atomic():
        LabelErrorList.objects.filter(project=project, model_version=model_version).delete()
        error_list = LabelErrorList.objects.create(
            project=project,
            model_version=model_version,
            checked=checked,
            flagged=len(rows),
            thresholds=dict(thresholds),
            skipped=skipped[:200],
        )
        LabelError.objects.bulk_create(
            [
                LabelError(
                    error_list=error_list,
                    item_id=row.item_id,
                    rank=rank,
                    given=row.given,
                    suggested=row.suggested,
                    score=row.score,
                    given_proba=row.given_proba,
                    suggested_proba=row.suggested_proba,
                )
                for rank, row in enumerate(rows, start=1)
            ],
            batch_size=_BATCH,
        )
    return error_list

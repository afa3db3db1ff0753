"""Consensus over a project's counted annotations, the review queue and reviewers' decisions."""

from __future__ import annotations

from typing import Any

import numpy as np
from django.db import transaction

from annotation.errors import Conflict, InvalidInput, NotFound
from annotation.models import Item, Project
from annotation.selectors import label_names_of
from annotation.services.audit import audit_record
from annotation.services.queue import labels_validate
from quality.consensus import Consensus
from quality.models import Review
from quality.report import AnnotationArrays, consensus_of, disputed_items, disputed_rows
from quality.selectors import adjudicated_labels, annotation_arrays


def project_consensus(
    *, project: Project, a: AnnotationArrays | None = None, method: str | None = None
) -> tuple[AnnotationArrays, Consensus]:
    """The consensus over the project's counted annotations, by its chosen aggregation."""
    if a is None:
        a = annotation_arrays(project=project, counted_only=True)
    return a, consensus_of(a, method=method or project.aggregation)


def review_queue(
    *, project: Project, a: AnnotationArrays | None = None, result: Consensus | None = None
) -> list[dict[str, Any]]:
    """Disputed items not yet adjudicated, weakest first: item id, votes, confidence, tie."""
    if a is None or result is None:
        a, result = project_consensus(project=project)
    return disputed_rows(
        a,
        result,
        threshold=project.review_threshold,
        reviewed=set(adjudicated_labels(project=project)),
    )


def review_submit(
    *, project: Project, item_id: int, reviewer: Any, labels: Any, note: Any = ""
) -> Review:
    """Record a reviewer's decision; it becomes the item's adjudicated label. Only a
    disputed item (one the review queue holds, or held before an earlier decision) may be
    decided: on any other the labelers' consensus stands. Every decision is audited."""
    if note is not None and not isinstance(note, str):
        raise InvalidInput({"note": ["A note is text."]})
    item = (
        Item.objects.filter(project=project, pk=item_id)
        .values("pk", "is_gold", "external_id")
        .first()
    )
    if item is None:
        raise NotFound({"detail": "Item not found."})
    clean = labels_validate(
        project=project, labels=labels, label_names=label_names_of(project=project)
    )
    if not item_disputed(project=project, item_id=item_id):
        raise Conflict(
            {
                "detail": f"Item '{item['external_id']}' is not disputed; a reviewer "
                "decides only items in the review queue."
            }
        )
    with transaction.atomic():
        before = (
            Review.objects.filter(project=project, item_id=item_id)
            .order_by("-id")
            .values_list("labels", flat=True)
            .first()
        )
        review = Review.objects.create(
            project=project,
            item_id=item_id,
            reviewer=reviewer,
            labels=clean,
            note=(note or "")[:5000],
        )
        audit_record(
            actor=reviewer,
            action="review.decided",
            project=project,
            target=item["external_id"],
            details={"item_id": item_id, "labels": clean, "before": before, "note": review.note},
        )
    return review


def item_disputed(*, project: Project, item_id: int) -> bool:
    """Whether the consensus over the item's counted annotations is disputed (the rule of
    the review queue, adjudicated or not; gold items never are). The consensus is the
    project's, as the queue computes it: Dawid-Skene weighs each item by every labeler."""
    a, result = project_consensus(project=project)
    index = np.flatnonzero(a.item_ids == item_id)
    if not index.size:
        return False
    return bool(disputed_items(a, result, threshold=project.review_threshold)[index[0]])

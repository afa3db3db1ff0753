"""Consensus over a project's counted annotations, the review queue and reviewers' decisions.

The review queue holds the disputed items (labelers disagree), then the top
``SKEIN_LABEL_ERRORS_TO_REVIEW`` items of the newest label-error list (the model confidently
disagrees with the consensus), then the items a manager sent to review (``ReviewRequest``),
each row with the reason it is there; gold items only when a manager sent them."""

from __future__ import annotations

from typing import Any

import numpy as np
from django.conf import settings
from django.db import transaction

from annotation.errors import Conflict, InvalidInput, NotFound
from annotation.models import Item, Project
from annotation.selectors import label_names_of
from annotation.services.audit import audit_record
from annotation.services.queue import labels_validate
from quality.consensus import Consensus
from quality.models import Review, ReviewRequest
from quality.report import (
    AnnotationArrays,
    consensus_of,
    consensus_row,
    disputed_items,
    disputed_rows,
)
from quality.selectors import adjudicated_labels, annotation_arrays, label_errors_for_review


def project_consensus(
    *, project: Project, a: AnnotationArrays | None = None, method: str | None = None
) -> tuple[AnnotationArrays, Consensus]:
    """The consensus over the project's counted annotations, by its chosen aggregation."""
    if a is None:
        a = annotation_arrays(project=project, counted_only=True)
    return a, consensus_of(a, method=method or project.aggregation)


def dispute_reason(row: dict[str, Any], *, threshold: float) -> str:
    """Why a disputed item is in the review queue, in words."""
    if row["tie"]:
        return f"Labelers disagree: a tie between {', '.join(row['tie'])}."
    if row["confidence"] is None:
        return "Labelers disagree."
    return (
        f"Labelers disagree: the consensus has {row['confidence']:.0%} support, below the "
        f"review threshold of {threshold:.0%}."
    )


def label_error_reason(flag: dict[str, Any]) -> str:
    """Why a possible label error is in the review queue, in words."""
    return (
        f"Possible label error: model v{flag['model_version']} predicts "
        f"'{flag['suggested']}' ({flag['suggested_proba']:.0%}) where the consensus label is "
        f"'{flag['given']}' ({flag['given_proba']:.0%}); rank {flag['rank']} of "
        f"{flag['flagged']} flagged."
    )


def review_flags(*, project: Project) -> dict[int, dict[str, Any]]:
    """The possible label errors the review queue serves (the top of the newest list)."""
    return label_errors_for_review(
        project=project, limit=int(getattr(settings, "SKEIN_LABEL_ERRORS_TO_REVIEW", 20))
    )


def review_queue(
    *, project: Project, a: AnnotationArrays | None = None, result: Consensus | None = None
) -> list[dict[str, Any]]:
    """Items waiting for a reviewer: the disputed ones not yet adjudicated, weakest first,
    then the top possible label errors not yet adjudicated, in rank order. Each row: item
    id, votes, confidence, tie, ``reason`` (words) and ``label_error`` (or None)."""
    if a is None or result is None:
        a, result = project_consensus(project=project)
    threshold = project.review_threshold
    reviewed = set(adjudicated_labels(project=project))
    rows = disputed_rows(a, result, threshold=threshold, reviewed=reviewed)
    for row in rows:
        row["reason"] = dispute_reason(row, threshold=threshold)
        row["label_error"] = None
    listed = {row["item_id"]: row for row in rows}
    for item_id, flag in review_flags(project=project).items():
        if item_id in reviewed:
            continue
        if item_id in listed:
            listed[item_id]["reason"] += " " + label_error_reason(flag)
            listed[item_id]["label_error"] = flag
            continue
        found = np.flatnonzero(a.item_ids == item_id)
        if not found.size or a.item_is_gold[found[0]]:
            continue  # its counted annotations are gone, or it was made gold since
        row = consensus_row(a, result, int(found[0]))
        rows.append({**row, "reason": label_error_reason(flag), "label_error": flag})
        listed[item_id] = rows[-1]
    for item_id in requested_items(project=project):
        if item_id in listed:
            listed[item_id]["reason"] += " " + REQUESTED_REASON
            continue
        found = np.flatnonzero(a.item_ids == item_id)
        row = (
            consensus_row(a, result, int(found[0]))
            if found.size
            else {"item_id": item_id, "votes": 0, "confidence": None, "weakest": None, "tie": None}
        )
        rows.append({**row, "reason": REQUESTED_REASON, "label_error": None})
    return rows


REQUESTED_REASON = "Sent to review by a manager."


def requested_items(*, project: Project) -> list[int]:
    """The items managers sent to review and no reviewer has decided since, oldest first."""
    return list(
        ReviewRequest.objects.filter(project=project)
        .order_by("id")
        .values_list("item_id", flat=True)
    )


def review_request(*, project: Project, actor: Any, item_ids: list[int]) -> int:
    """Send items to review (inside the caller's transaction); returns how many were not
    waiting already. The caller audits."""
    before = ReviewRequest.objects.filter(project=project, item_id__in=item_ids).count()
    ReviewRequest.objects.bulk_create(
        [
            ReviewRequest(
                project=project,
                item_id=item_id,
                requested_by=actor if getattr(actor, "is_authenticated", False) else None,
            )
            for item_id in item_ids
        ],
        ignore_conflicts=True,
        batch_size=2000,
    )
    return len(item_ids) - before


def review_submit(
    *, project: Project, item_id: int, reviewer: Any, labels: Any, note: Any = ""
) -> Review:
    """Record a reviewer's decision; it becomes the item's adjudicated label. Only a
    disputed item (one the review queue holds, or held before an earlier decision) may be
    decided, or one of the possible label errors the queue serves: on any other the
    labelers' consensus stands. Every decision is audited."""
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
    requested = ReviewRequest.objects.filter(item_id=item_id).exists()
    if (
        not requested
        and not item_disputed(project=project, item_id=item_id)
        and (item["is_gold"] or item_id not in review_flags(project=project))
    ):
        raise Conflict(
            {
                "detail": f"Item '{item['external_id']}' is not disputed and not a possible "
                "label error; a reviewer decides only items in the review queue."
            }
        )
    with transaction.atomic():
        before = (
            Review.objects.filter(project=project, item_id=item_id)
            .order_by("-id")
            .values_list("labels", flat=True)
            .first()
        )
        ReviewRequest.objects.filter(item_id=item_id).delete()  # decided: leaves the queue
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
            item_id=item_id,
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

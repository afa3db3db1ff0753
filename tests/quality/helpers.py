"""Helpers for quality tests: label items through the real queue API."""

from __future__ import annotations

from typing import Any

from annotation.models import Annotation, Assignment, Item, Project
from annotation.services.queue_sql import item_counters_update
from tests.annotation.helpers import claim


def label_next(
    client: Any,
    project: Project,
    labels: list[str] | None = None,
    answer: Any = None,
    duration_ms: int = 1000,
) -> dict[str, Any]:
    """Claim the next item and submit ``labels`` (or ``answer(item_row)``)."""
    response = claim(client, project)
    assert response.status_code == 200, response.content
    body = response.json()
    if answer is not None:
        labels = answer(Item.objects.get(pk=body["item"]["id"]))
    submit = client.post(
        f"/api/v1/assignments/{body['assignment']['id']}/submit/",
        {"labels": labels, "duration_ms": duration_ms},
        format="json",
    )
    assert submit.status_code == 201, submit.content
    return body


def annotate(
    *,
    project: Project,
    item: Item,
    user: Any,
    labels: list[str],
    suggestion: dict[str, Any] | None = None,
    duration_ms: int | None = 1000,
    guideline_version: int | None = None,
    counts: bool = True,
) -> Annotation:
    """Record an annotation directly (for building label sets with a planted structure).

    The item's counters and state then move as the queue moves them for a claim and its
    submit, so the item is where the queue would have left it."""
    from django.utils import timezone

    assignment = Assignment.objects.create(
        project=project,
        item=item,
        labeler=user,
        state=Assignment.State.SUBMITTED,
        is_gold=item.is_gold,
        expires_at=timezone.now(),
        suggestion=suggestion,
        guideline_version=guideline_version,
    )
    annotation = Annotation.objects.create(
        project=project,
        item=item,
        assignment=assignment,
        labeler=user,
        labels=labels,
        duration_ms=duration_ms,
        suggestion=suggestion,
        is_gold=item.is_gold,
        is_counted=counts,
        guideline_version=guideline_version,
    )
    item_counters_update(item_id=item.pk, overlap=project.overlap, d_annotations=0, d_leases=1)
    item_counters_update(item_id=item.pk, overlap=project.overlap, d_annotations=1, d_leases=-1)
    item.refresh_from_db(fields=["annotation_count", "lease_count", "handed_out", "state"])
    return annotation


def import_items(project: Project, records: list[dict[str, Any]]) -> None:
    from annotation.services.imports import items_import_records

    items_import_records(project=project, records=records)

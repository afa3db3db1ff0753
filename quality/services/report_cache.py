"""A project's quality report: computed on request for small projects, else served from
the cache that a debounced background job refreshes as labels arrive."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import numpy as np
from django.conf import settings
from django.db.models import Count, Max, Q
from django.utils import timezone

from annotation.errors import InvalidInput
from annotation.models import Annotation, Project
from quality import report as compute
from quality.jobs import enqueue_report_refresh
from quality.models import Qualification, QualityReport
from quality.selectors import annotation_arrays, item_field_values
from quality.services.review import project_consensus, review_queue

# Projects with at most this many annotations get their report computed on request;
# larger ones are served from the cache that the refresh job keeps.
INLINE_REPORT_LIMIT = 20_000


def inline_report_limit() -> int:
    return int(getattr(settings, "SKEIN_QUALITY_INLINE_LIMIT", INLINE_REPORT_LIMIT))


SLICE_FIELD = re.compile(r"^[A-Za-z0-9_]{1,64}$")


def quality_report_compute(*, project: Project, slice_field: str | None = None) -> dict[str, Any]:
    """The full quality report of a project (the shape of GET projects/{id}/quality/)."""
    a = annotation_arrays(project=project)
    counted = a.subset(a.is_counted)
    agreement = compute.agreement_summary(counted, overlap=project.overlap, seed=project.seed)
    _, result = project_consensus(project=project, a=compute.compact(counted))
    queue = review_queue(project=project, a=compute.compact(counted), result=result)
    states = dict(Qualification.objects.filter(project=project).values_list("user_id", "state"))
    report: dict[str, Any] = {
        "agreement": agreement,
        "annotators": compute.labeler_rows(
            a, states=states, threshold=project.qualification_accuracy
        ),
        "by_guideline_version": compute.guideline_version_rows(
            a, overlap=project.overlap, seed=project.seed
        ),
        "gold": compute.gold_summary(a, np.ones(a.n, dtype=bool)),
        "suggestion_acceptance": compute.acceptance_summary(a, np.ones(a.n, dtype=bool)),
        "review_queue": {"size": len(queue)},
        "aggregation": project.aggregation,
        "review_threshold": project.review_threshold,
        "qualification": {
            "items": project.qualification_items,
            "accuracy": project.qualification_accuracy,
        },
        "label_distribution": compute.label_distribution(counted),
        "annotations": a.n,
        "annotations_counted": counted.n,
        "computed_at": timezone.now().isoformat(),
    }
    if slice_field:
        report["slice"] = compute.slice_summary(
            a,
            field=slice_field,
            values=item_field_values(project=project, field=slice_field),
            overlap=project.overlap,
            seed=project.seed,
        )
    return report


def slice_field_validate(field: str | None) -> str | None:
    if field in (None, ""):
        return None
    if not SLICE_FIELD.fullmatch(field) or "__" in field:
        raise InvalidInput(
            {"slice": ["A data field name: letters, digits and single underscores."]}
        )
    return field


def quality_report_get_or_schedule(
    *, project: Project, slice_field: str | None = None
) -> dict[str, Any]:
    """The report for the API: computed now for small projects or a slice; from the cache
    for large ones, scheduling its refresh (a write and a job) when labels arrived since."""
    slice_field = slice_field_validate(slice_field)
    total, last_id = _annotation_watermark(project)
    # A multi-label report bootstraps every question jointly: as much work as that many
    # single-label reports, so it counts that many times against the inline limit.
    questions = project.labels.count() if project.is_multi_label else 1
    if slice_field or total * questions <= inline_report_limit():
        report = quality_report_compute(project=project, slice_field=slice_field)
        report["cache"] = {"state": "fresh", "inline": True}
        return report
    cached = QualityReport.objects.filter(project=project).first()
    stale = (
        cached is None or cached.last_annotation_id != last_id or cached.annotation_count != total
    )
    if stale:
        quality_report_request_refresh(project=project)
    if cached is None or not cached.payload:
        return {
            "agreement": None,
            "annotators": [],
            "by_guideline_version": [],
            "review_queue": None,
            "cache": {"state": "computing", "inline": False, "computed_at": None},
        }
    report = dict(cached.payload)
    report["cache"] = {
        "state": "stale" if stale else "fresh",
        "inline": False,
        "computed_at": cached.computed_at.isoformat() if cached.computed_at else None,
        "annotations_seen": cached.annotation_count,
    }
    return report


def _annotation_watermark(project: Project) -> tuple[int, int]:
    row = Annotation.objects.filter(project=project).aggregate(n=Count("id"), last=Max("id"))
    return int(row["n"] or 0), int(row["last"] or 0)


def quality_report_refresh(*, project_id: int) -> QualityReport:
    """Compute and store the project's report (run by the refresh job)."""
    project = Project.objects.get(pk=project_id)
    total, last_id = _annotation_watermark(project)
    payload = quality_report_compute(project=project)
    report, _ = QualityReport.objects.update_or_create(
        project=project,
        defaults={
            "payload": payload,
            "annotation_count": total,
            "last_annotation_id": last_id,
            "computed_at": timezone.now(),
            "refresh_requested_at": None,
        },
    )
    return report


# Ask again for a refresh only when the last request is older than this (a job in flight).
REFRESH_DEBOUNCE_SECONDS = 60


def quality_report_request_refresh(*, project: Project) -> bool:
    """Queue a report refresh unless one was queued in the last minute; True when queued."""
    now = timezone.now()
    report, _ = QualityReport.objects.get_or_create(project=project)
    before = now - timedelta(seconds=REFRESH_DEBOUNCE_SECONDS)
    updated = (
        QualityReport.objects.filter(pk=report.pk)
        .filter(Q(refresh_requested_at__isnull=True) | Q(refresh_requested_at__lt=before))
        .update(refresh_requested_at=now)
    )
    if updated:
        enqueue_report_refresh(project_id=project.pk)
    return bool(updated)

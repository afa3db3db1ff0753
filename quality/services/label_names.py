"""Quality's copies of label names follow a rename or merge (the core's labels-renamed hook):
review decisions, label-error rows and thresholds; the cached report goes stale."""

from __future__ import annotations

from annotation.models import Project
from annotation.services.labels import rows_rename
from quality.models import LabelError, LabelErrorList, QualityReport, Review


def quality_labels_rename(*, project: Project, mapping: dict[str, str]) -> dict[str, int]:
    """Rewrite the names quality stores, in the caller's transaction; how many rows changed."""
    reviews = rows_rename(
        rows=Review.objects.filter(project=project), field="labels", mapping=mapping
    )
    errors = 0
    for old, new in mapping.items():
        rows = LabelError.objects.filter(error_list__project=project)
        errors += rows.filter(given=old).update(given=new)
        errors += rows.filter(suggested=old).update(suggested=new)
    for error_list in LabelErrorList.objects.filter(project=project).exclude(thresholds={}):
        thresholds = {mapping.get(k, k): v for k, v in error_list.thresholds.items()}
        if thresholds != error_list.thresholds:
            error_list.thresholds = thresholds
            error_list.save(update_fields=["thresholds"])
    # The cached report names labels (per-label agreement): stale, so it is computed again.
    QualityReport.objects.filter(project=project).update(last_annotation_id=0)
    return {"review_decisions": reviews, "label_errors": errors}

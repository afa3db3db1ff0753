"""Quality's copies of label names follow a rename or merge (the core's labels-renamed hook):
review decisions, label-error rows and thresholds, the items' consensus; the cached report
goes stale."""

from __future__ import annotations

from django.db.models import Q

from annotation.item_filters_sql import JsonListHas
from annotation.models import Project
from annotation.services.labels import renamed_list, rows_rename
from quality.models import ItemConsensus, LabelError, LabelErrorList, QualityReport, Review
from quality.services.item_consensus import REBUILD_CHUNK, item_consensus_refresh


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
    return {
        "review_decisions": reviews,
        "label_errors": errors,
        "item_consensus": _consensus_follow(project=project, mapping=mapping),
    }


def _consensus_follow(*, project: Project, mapping: dict[str, str]) -> int:
    """The item table's consensus: names follow; where the answers disagreed, a merge may
    change the majority, so those items are recomputed (from the renamed annotations)."""
    rows = ItemConsensus.objects.filter(project=project)
    holding = Q()
    for old in mapping:
        holding |= Q(JsonListHas("labels", old))
    renamed = []
    for row in rows.filter(holding).only("item_id", "labels").iterator(chunk_size=2000):
        row.labels = renamed_list(row.labels, mapping)
        renamed.append(row)
    ItemConsensus.objects.bulk_update(renamed, ["labels"], batch_size=1000)
    disputed = list(
        rows.filter(share__lt=1.0).order_by("item_id").values_list("item_id", flat=True)
    )
    for start in range(0, len(disputed), REBUILD_CHUNK):
        item_consensus_refresh(project=project, item_ids=disputed[start : start + REBUILD_CHUNK])
    return len(renamed)

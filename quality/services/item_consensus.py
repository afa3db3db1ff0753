"""Writes: each item's consensus (``ItemConsensus``), by the export's majority rule
(``quality.export_aggregation.majority_aggregator``), refreshed for the items whose answers
changed and rebuilt chunk by chunk for a whole project."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import groupby

from django.db import transaction

from annotation.models import Annotation, Item, Project
from annotation.selectors import label_names_of
from quality.export_aggregation import majority_aggregator
from quality.models import ItemConsensus

REBUILD_CHUNK = 5000


def item_consensus_refresh(
    *, project: Project, item_ids: Sequence[int], label_names: list[str] | None = None
) -> int:
    """Recompute the consensus of these items of the project from their counted answers;
    answers how many items have one."""
    ids = sorted(set(item_ids))
    if not ids:
        return 0
    names = label_names if label_names is not None else label_names_of(project=project)
    rows = (
        Annotation.objects.filter(project=project, item_id__in=ids, is_counted=True)
        .order_by("item_id", "id")
        .values_list("item_id", "labels")
    )
    answered: list[int] = []
    label_lists: list[list[list[str]]] = []
    for item_id, group in groupby(rows.iterator(chunk_size=REBUILD_CHUNK), key=lambda r: r[0]):
        answered.append(item_id)
        label_lists.append([labels if isinstance(labels, list) else [] for _, labels in group])
    aggregates = majority_aggregator(project=project, label_names=names)(answered, label_lists)
    consensus = [
        ItemConsensus(
            item_id=item_id,
            project=project,
            labels=labels or [],
            share=float(confidence or 0.0),
            votes=len(lists),
        )
        for item_id, lists, (labels, confidence, _) in zip(
            answered, label_lists, aggregates, strict=True
        )
    ]
    with transaction.atomic():
        ItemConsensus.objects.filter(item_id__in=ids).delete()
        ItemConsensus.objects.bulk_create(consensus, batch_size=1000)
    return len(consensus)


def item_consensus_rebuild(*, project: Project) -> int:
    """Recompute every answered item of the project, a chunk of items at a time (by id, so
    each chunk is one index range)."""
    names = label_names_of(project=project)
    done, last = 0, 0
    while True:
        chunk = list(
            Item.objects.filter(project=project, pk__gt=last, annotation_count__gt=0)
            .order_by("pk")
            .values_list("pk", flat=True)[:REBUILD_CHUNK]
        )
        if not chunk:
            return done
        done += item_consensus_refresh(project=project, item_ids=chunk, label_names=names)
        last = chunk[-1]

"""The data card that travels with every label-set snapshot."""

from __future__ import annotations

from typing import Any

from django.db.models import Count

from annotation.models import Annotation, LabelSet, Project


def data_card_for(*, project: Project, labelset: LabelSet) -> dict[str, Any]:
    annotations = Annotation.objects.filter(project=project)
    return {
        "project": project.name,
        "items": labelset.item_count,
        "annotations": labelset.annotation_count,
        "annotators": annotations.values("annotator").distinct().count(),
        "guideline_versions": sorted(
            v for v in annotations.values_list("guideline_version", flat=True).distinct()
            if v is not None
        ),
        "aggregation": labelset.aggregation,
        "filters": labelset.filters,
        "label_distribution": {
            "|".join(labels): n
            for labels, n in annotations.values_list("labels").annotate(n=Count("id"))
            .values_list("labels", "n")
        },
    }

"""The data card that travels with every label-set snapshot."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np

from annotation.models import Annotation, Item, LabelSet, Project
from quality.report import agreement_summary, label_distribution
from quality.selectors import adjudicated_labels, annotation_arrays


def data_card_for(*, project: Project, labelset: LabelSet) -> dict[str, Any]:
    """Counts, label distribution, agreement with its interval, people, guideline and model
    versions, aggregation and filters of the annotations behind a snapshot."""
    state = (labelset.filters or {}).get("state", "labeled")
    a = annotation_arrays(
        project=project, item_state=Item.State.COMPLETE if state == "complete" else None
    )
    selection = (labelset.filters or {}).get("item_ids")
    if selection is not None:  # a saved selection: the card describes those items only
        a = a.subset(np.isin(a.item_ids[a.item], np.asarray(selection, dtype=np.int64)))
    counted = a.subset(a.is_counted)
    agreement = agreement_summary(
        counted, overlap=project.overlap, seed=project.seed, per_label=True
    )
    in_card = np.ones(a.item_ids.size, dtype=bool)
    if selection is not None:
        in_card = np.isin(a.item_ids, np.asarray(selection, dtype=np.int64))
    item_ids = set(a.item_ids[in_card].tolist())
    adjudicated = [i for i in adjudicated_labels(project=project) if i in item_ids]
    return {
        "project": project.name,
        "kind": project.kind,
        "labels": a.label_names,
        "items": labelset.item_count,
        "annotations": labelset.annotation_count,
        "annotations_counted": counted.n,
        "annotators": int(np.unique(a.labeler).size) if a.n else 0,
        "label_distribution": label_distribution(counted),
        "agreement": agreement,
        "overlap": project.overlap,
        "guideline_versions": sorted({int(v) for v in a.guideline_version.tolist() if v >= 0}),
        "model_versions": _model_versions(project),
        "aggregation": labelset.aggregation,
        "adjudicated_items": len(adjudicated),
        "gold_items": int(a.item_is_gold[in_card].sum()),
        # A selection is named by its size here; its ids stay on the label set's filters.
        "filters": {k: v for k, v in (labelset.filters or {}).items() if k != "item_ids"}
        | ({} if selection is None else {"items": len(selection)}),
    }


# (project=, versions=) -> one dict per known model version (its "version" and what to
# show of it). The learning loop registers it (TasksConfig.ready): quality doesn't know it.
ModelVersionRows = Callable[..., Iterable[Mapping[str, Any]]]
_model_version_rows: ModelVersionRows | None = None


def register_model_version_rows(rows: ModelVersionRows) -> None:
    global _model_version_rows
    _model_version_rows = rows


def _model_versions(project: Project) -> list[dict[str, Any]]:
    """The model versions whose suggestions the labelers got (shown or hidden): the
    project's own (a number, described by the learning loop), then the team's own models
    ("import:<model_version>", "endpoint:<model_version>"), each with how many annotations
    were made with its suggestion."""
    given = list(
        Annotation.objects.filter(project=project, suggestion__isnull=False)
        .values_list("suggestion__model_version", flat=True)
        .distinct()
    )
    used = {v for v in given if isinstance(v, int) and not isinstance(v, bool)}
    team = sorted({v for v in given if isinstance(v, str)})
    rows = (
        [] if _model_version_rows is None else _model_version_rows(project=project, versions=used)
    )
    known = {r["version"]: r for r in rows}
    out = []
    for version in sorted(used):
        row = known.get(version, {"version": version})
        out.append({k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in row.items()})
    for name in team:
        source, _, model_version = name.partition(":")
        out.append({"version": name, "source": source, "model_version": model_version})
    return out

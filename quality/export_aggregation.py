"""Which aggregate label an export (and training) gives each item: majority vote or
Dawid–Skene, as per-item aggregators the core's export stream calls.

A reviewer's decision (the latest review) always wins over the aggregate. Dawid–Skene is fit
once over the project's counted annotations when the aggregator is made; the export then
streams and looks each item up.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from annotation.errors import InvalidInput
from annotation.models import Project
from annotation.selectors import label_names_of
from annotation.services.exports import Aggregator
from quality.selectors import adjudicated_labels
from quality.services.review import project_consensus


def export_aggregator(*, project: Project, aggregation: str) -> Aggregator | None:
    """The aggregator an export with this ``aggregation`` option uses (None for "none")."""
    if aggregation == "none":
        return None
    return aggregator_for(project=project, aggregation=aggregation,
                          label_names=label_names_of(project=project))


def aggregator_for(*, project: Project, aggregation: str, label_names: list[str]) -> Aggregator:
    if aggregation == "majority":
        inner = majority_aggregator(project=project, label_names=label_names)
    elif aggregation == "dawid_skene":
        inner = dawid_skene_aggregator(project=project, label_names=label_names)
    else:
        raise InvalidInput({"aggregation": [f"'{aggregation}' is not available."]})
    return with_adjudication(project=project, aggregate=inner)


def majority_aggregator(*, project: Project, label_names: list[str]) -> Aggregator:
    """Majority vote: single-label, the most given label and its share of the votes (a tie
    gives no label and says so); multi-label, each label chosen by more than half."""
    multi = project.is_multi_label

    def aggregate(item_id: int, label_lists: list[list[str]]) -> tuple[Any, Any, dict[str, Any]]:
        if not label_lists:
            return None, None, {}
        n = len(label_lists)
        counts: dict[str, int] = {}
        for labels in label_lists:
            for name in labels:
                counts[name] = counts.get(name, 0) + 1
        if multi:
            chosen = [name for name in label_names if counts.get(name, 0) * 2 > n]
            shares = [max(counts.get(name, 0), n - counts.get(name, 0)) / n
                      for name in label_names]
            return chosen, sum(shares) / len(shares), {}
        best = max(counts.values())
        winners = [name for name in label_names if counts.get(name) == best]
        if len(winners) > 1:
            return None, best / n, {"tie": winners}
        return winners, best / n, {}

    return aggregate


def with_adjudication(*, project: Project, aggregate: Aggregator) -> Aggregator:
    """Prefer the reviewer's decision; the aggregate is still reported beside it."""
    decided = adjudicated_labels(project=project)

    def aggregate_or_decided(item_id: int, label_lists: list[list[str]]
                             ) -> tuple[list[str] | None, float | None, dict[str, Any]]:
        labels = decided.get(item_id)
        if labels is None:
            return aggregate(item_id, label_lists)
        agg_labels, agg_confidence, extra = aggregate(item_id, label_lists)
        return labels, 1.0, {"adjudicated": True,
                             "aggregate": {"labels": agg_labels, "confidence": agg_confidence,
                                           **extra}}

    return aggregate_or_decided


def dawid_skene_aggregator(*, project: Project, label_names: list[str]) -> Aggregator:
    """Dawid–Skene over the counted annotations; confidence is the posterior of the label
    given (multi-label: the mean over labels of the posterior of the yes/no answer)."""
    a, result = project_consensus(project=project, method="dawid_skene")
    names = a.label_names
    row_of = {int(item_id): i for i, item_id in enumerate(a.item_ids.tolist())}
    multi = project.is_multi_label

    def aggregate(item_id: int, label_lists: list[list[str]]
                  ) -> tuple[list[str] | None, float | None, dict[str, Any]]:
        i = row_of.get(item_id)
        if i is None or not label_lists:
            return None, None, {}
        chosen = [names[j] for j in np.flatnonzero(result.chosen[i])]
        posterior = ({} if result.posterior is None else
                     {name: round(float(result.posterior[i, j]), 6)
                      for j, name in enumerate(names)})
        extra: dict[str, Any] = {"posterior": posterior}
        if result.tied[i]:
            extra["tie"] = [names[j] for j in np.flatnonzero(result.tie_labels[i])]
            if not multi:
                return None, float(result.confidence[i]), extra
        return chosen, float(result.confidence[i]), extra

    return aggregate

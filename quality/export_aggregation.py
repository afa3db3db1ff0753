"""Which aggregate label an export (and training) gives each item: majority vote or
Dawid–Skene, as aggregators the core's export stream calls once per chunk of items.

The majority vote is the quality report's own (:func:`quality.consensus.consensus`), run on
each chunk's annotations as arrays. A reviewer's decision (the latest review) always wins
over the aggregate. Dawid–Skene is fit once over the project's counted annotations when the
aggregator is made; the export then streams and looks each item up.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from annotation.errors import InvalidInput
from annotation.models import Project
from annotation.selectors import label_names_of
from annotation.services.exports import Aggregate, Aggregator
from quality.consensus import Consensus, consensus
from quality.selectors import adjudicated_labels
from quality.services.review import project_consensus


def export_aggregator(*, project: Project, aggregation: str) -> Aggregator | None:
    """The aggregator an export with this ``aggregation`` option uses (None for "none")."""
    if aggregation == "none":
        return None
    return aggregator_for(
        project=project, aggregation=aggregation, label_names=label_names_of(project=project)
    )


def aggregator_for(*, project: Project, aggregation: str, label_names: list[str]) -> Aggregator:
    if aggregation == "majority":
        inner = majority_aggregator(project=project, label_names=label_names)
    elif aggregation == "dawid_skene":
        inner = dawid_skene_aggregator(project=project, label_names=label_names)
    else:
        raise InvalidInput({"aggregation": [f"'{aggregation}' is not available."]})
    return with_adjudication(project=project, aggregate=inner)


def majority_aggregator(*, project: Project, label_names: list[str]) -> Aggregator:
    """Majority vote, by the one rule (:func:`quality.consensus.consensus`, the quality
    report's) run on each chunk's arrays: single-label, the most given label and its share of
    the votes (a tie gives no label and says so); multi-label, each label chosen by more than
    half, the confidence the mean over labels of the majority answer's share."""
    multi = project.is_multi_label
    index = {name: j for j, name in enumerate(label_names)}
    n_labels = len(label_names)

    def first_known(labels: list[str]) -> int:
        """The annotation's label as the report reads it: its first known name, else -1."""
        for name in labels:
            j = index.get(name)
            if j is not None:
                return j
        return -1

    def aggregate(
        item_ids: Sequence[int], label_lists: Sequence[list[list[str]]]
    ) -> list[Aggregate]:
        n_items = len(label_lists)
        rows = [labels for lists in label_lists for labels in lists]
        item = np.repeat(np.arange(n_items, dtype=np.int64), [len(lists) for lists in label_lists])
        if multi:
            label = np.full(len(rows), -1, dtype=np.int64)
            matrix = np.zeros((len(rows), n_labels), dtype=np.int8)
            hot = [
                (r, index[name])
                for r, labels in enumerate(rows)
                for name in labels
                if name in index
            ]
            if hot:
                matrix[tuple(np.asarray(hot).T)] = 1
        else:
            label = np.asarray([first_known(labels) for labels in rows], dtype=np.int64)
            known = label >= 0  # a vote for no known label is none (the schema keeps used labels)
            item, label = item[known], label[known]
            matrix = np.zeros((len(label), n_labels), dtype=np.int8)
        result = consensus(
            item,
            np.zeros(item.size, dtype=np.int64),
            label,
            matrix,
            n_items=n_items,
            n_annotators=1,
            n_labels=n_labels,
            multi_label=multi,
            method="majority",
        )
        return majority_aggregates(result, label_names=label_names, multi_label=multi)

    return aggregate


def majority_aggregates(
    result: Consensus, *, label_names: list[str], multi_label: bool
) -> list[Aggregate]:
    """The export's fields of a majority-vote consensus, per item: no vote, no label and no
    confidence; a single-label tie, no label, the winners' share and the tied labels."""
    votes = result.votes.tolist()
    confidence = result.confidence.tolist()
    if multi_label:
        return [
            (names, c, {}) if v else (None, None, {})
            for v, c, names in zip(
                votes, confidence, _name_lists(result.chosen, label_names), strict=True
            )
        ]
    won = result.chosen.any(axis=1)
    winner = np.where(won, result.chosen.argmax(axis=1), -1).tolist()
    ties = _name_lists(result.tie_labels, label_names)
    return [
        (None, None, {})
        if not v
        else ([label_names[w]], c, {})
        if w >= 0
        else (None, c, {"tie": tie})
        for v, c, w, tie in zip(votes, confidence, winner, ties, strict=True)
    ]


def _name_lists(mask: npt.NDArray[np.bool_], label_names: list[str]) -> list[list[str]]:
    """Per row of an items × labels mask, the names of its True columns in label order."""
    out: list[list[str]] = [[] for _ in range(mask.shape[0])]
    rows, cols = np.nonzero(mask)
    for i, j in zip(rows.tolist(), cols.tolist(), strict=True):
        out[i].append(label_names[j])
    return out


def with_adjudication(*, project: Project, aggregate: Aggregator) -> Aggregator:
    """Prefer the reviewer's decision; the aggregate is still reported beside it."""
    decided = adjudicated_labels(project=project)

    def aggregate_or_decided(
        item_ids: Sequence[int], label_lists: Sequence[list[list[str]]]
    ) -> list[Aggregate]:
        out = aggregate(item_ids, label_lists)
        for n, item_id in enumerate(item_ids):
            labels = decided.get(item_id)
            if labels is not None:
                agg_labels, agg_confidence, extra = out[n]
                out[n] = (
                    labels,
                    1.0,
                    {
                        "adjudicated": True,
                        "aggregate": {"labels": agg_labels, "confidence": agg_confidence, **extra},
                    },
                )
        return out

    return aggregate_or_decided


def dawid_skene_aggregator(*, project: Project, label_names: list[str]) -> Aggregator:
    """Dawid–Skene over the counted annotations; confidence is the posterior of the label
    given (multi-label: the mean over labels of the posterior of the yes/no answer)."""
    a, result = project_consensus(project=project, method="dawid_skene")
    names = a.label_names
    row_of = {int(item_id): i for i, item_id in enumerate(a.item_ids.tolist())}
    multi = project.is_multi_label

    def aggregate(
        item_ids: Sequence[int], label_lists: Sequence[list[list[str]]]
    ) -> list[Aggregate]:
        return [one(item_id, lists) for item_id, lists in zip(item_ids, label_lists, strict=True)]

    def one(item_id: int, label_lists: list[list[str]]) -> Aggregate:
        i = row_of.get(item_id)
        if i is None or not label_lists:
            return None, None, {}
        chosen = [names[j] for j in np.flatnonzero(result.chosen[i])]
        posterior = (
            {}
            if result.posterior is None
            else {name: round(float(result.posterior[i, j]), 6) for j, name in enumerate(names)}
        )
        extra: dict[str, Any] = {"posterior": posterior}
        if result.tied[i]:
            extra["tie"] = [names[j] for j in np.flatnonzero(result.tie_labels[i])]
            if not multi:
                return None, float(result.confidence[i]), extra
        return chosen, float(result.confidence[i]), extra

    return aggregate

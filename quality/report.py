"""The quality report's numbers, computed from a project's annotations as arrays.

Pure computation: `AnnotationArrays` in (read by `quality.selectors.annotation_arrays`),
JSON-safe dicts out; no Django, so it can be tested and benchmarked on synthetic arrays and
the services that read and cache reports stay thin."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from quality import metrics
from quality.consensus import Consensus, consensus, disputed

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

# suggestion_state values
NO_SUGGESTION, SUGGESTION_HIDDEN, SUGGESTION_SHOWN = -1, 0, 1

BOOTSTRAP_SAMPLES = 1000


def suggestion_outcome(labels: Any, suggestion: Any) -> tuple[int, bool]:
    """The one rule of suggestion acceptance: whether the labeler saw the model's suggestion
    recorded with an annotation (``SUGGESTION_SHOWN``, ``SUGGESTION_HIDDEN``, or
    ``NO_SUGGESTION`` when none was recorded), and whether the answer equals it (order
    apart). A higher acceptance when shown than when hidden measures automation bias."""
    if not isinstance(suggestion, dict) or suggestion.get("labels") is None:
        return NO_SUGGESTION, False
    state = SUGGESTION_SHOWN if suggestion.get("shown") else SUGGESTION_HIDDEN
    return state, sorted(label_list(labels)) == sorted(label_list(suggestion["labels"]))


def label_list(labels: Any) -> list[Any]:
    """Stored labels as a list: a gold answer or suggestion may be one name or a list."""
    if labels is None:
        return []
    return list(labels) if isinstance(labels, list | tuple) else [labels]


MAX_SLICE_VALUES = 50


@dataclass(frozen=True)
class AnnotationArrays:
    """One row per annotation; items, labelers and labels mapped to 0-based ints."""

    item: IntArray
    """Index into ``item_ids``."""
    labeler: IntArray
    """Index into ``labeler_ids`` / ``usernames``."""
    label: IntArray
    """Single-label projects: the label's index; multi-label: -1 (use ``matrix``)."""
    matrix: npt.NDArray[np.int8]
    """n_annotations × n_labels, 1 where the annotation chose the label."""
    item_ids: IntArray
    labeler_ids: IntArray
    usernames: list[str]
    label_names: list[str]
    multi_label: bool
    is_counted: BoolArray
    """False for annotations of labelers who have not qualified."""
    guideline_version: IntArray
    """-1 where unknown."""
    seconds: FloatArray
    """Time spent, NaN where unknown."""
    suggestion_state: npt.NDArray[np.int8]
    """-1 no suggestion, 0 recorded but hidden, 1 shown."""
    suggestion_accepted: BoolArray
    """The answer equals the model's suggestion (meaningful where a suggestion exists)."""
    on_gold: BoolArray
    """The item is a gold item with an answer."""
    gold_correct: BoolArray
    """The answer equals the gold answer (meaningful where ``on_gold``)."""
    item_is_gold: BoolArray
    """Per item (aligned with ``item_ids``)."""

    @property
    def n(self) -> int:
        return int(self.item.size)

    def subset(self, mask: BoolArray) -> AnnotationArrays:
        """The rows under ``mask``; the index spaces (items, labelers) are kept."""
        return AnnotationArrays(
            item=self.item[mask],
            labeler=self.labeler[mask],
            label=self.label[mask],
            matrix=self.matrix[mask],
            item_ids=self.item_ids,
            labeler_ids=self.labeler_ids,
            usernames=self.usernames,
            label_names=self.label_names,
            multi_label=self.multi_label,
            is_counted=self.is_counted[mask],
            guideline_version=self.guideline_version[mask],
            seconds=self.seconds[mask],
            suggestion_state=self.suggestion_state[mask],
            suggestion_accepted=self.suggestion_accepted[mask],
            on_gold=self.on_gold[mask],
            gold_correct=self.gold_correct[mask],
            item_is_gold=self.item_is_gold,
        )


def _num(value: Any) -> float | None:
    """A JSON-safe number: None for undefined, NaN or infinite values."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _interval(pair: tuple[float, float] | None) -> list[float | None] | None:
    return None if pair is None else [_num(pair[0]), _num(pair[1])]


def rate(hits: int, total: int) -> float | None:
    return _num(hits / total) if total else None


# --- agreement ----------------------------------------------------------------------------


_INTERVAL_METRICS: tuple[tuple[str, metrics.BootstrapMetric], ...] = (
    ("percent", "percent_agreement"),
    ("krippendorff_alpha", "krippendorff_alpha"),
    ("fleiss_kappa", "fleiss_kappa"),
)


def agreement_summary(
    a: AnnotationArrays, *, overlap: int, seed: int, intervals: bool = True, per_label: bool = True
) -> dict[str, Any]:
    """Agreement over the (counted) rows of ``a``: overall, with intervals, and per label."""
    out: dict[str, Any]
    if a.multi_label:
        # A multi-label project's overall figure is the mean of its yes/no questions.
        columns = [a.matrix[:, j].astype(np.int64) for j in range(len(a.label_names))]
        per = {
            name: _single_agreement(a.item, a.labeler, col, overlap=overlap)
            for name, col in zip(a.label_names, columns, strict=True)
        }
        out = {
            key: _mean([p[key] for p in per.values()])
            for key in ("percent", "krippendorff_alpha", "fleiss_kappa", "cohen_kappa_mean")
        }
        if intervals:
            for key, metric in _INTERVAL_METRICS:
                pair = (
                    metrics.bootstrap_interval_of_mean(
                        a.item,
                        a.labeler,
                        columns,
                        metric=metric,
                        n_boot=BOOTSTRAP_SAMPLES,
                        seed=seed,
                        n_raters=overlap,
                    )
                    if a.n
                    else None
                )
                out[f"{key}_interval"] = _interval(pair)
    else:
        out = _single_agreement(a.item, a.labeler, a.label, overlap=overlap)
        if intervals:
            for key, metric in _INTERVAL_METRICS:
                pair = (
                    metrics.bootstrap_interval(
                        a.item,
                        a.labeler,
                        a.label,
                        metric=metric,
                        n_boot=BOOTSTRAP_SAMPLES,
                        seed=seed,
                        n_raters=overlap,
                    )
                    if a.n
                    else None
                )
                out[f"{key}_interval"] = _interval(pair)
        per = {}
        if per_label:
            for k, name in enumerate(a.label_names):
                per[name] = _single_agreement(
                    a.item, a.labeler, (a.label == k).astype(np.int64), overlap=overlap
                )
    if per_label:
        out["per_label"] = per
    out["annotations"] = a.n
    out["items"] = int(np.unique(a.item).size)
    out["items_with_overlap"] = int((np.bincount(a.item) >= 2).sum()) if a.n else 0
    return out


def _single_agreement(
    item: IntArray, labeler: IntArray, label: IntArray, *, overlap: int
) -> dict[str, Any]:
    if len(item) == 0:
        return {
            "percent": None,
            "krippendorff_alpha": None,
            "fleiss_kappa": None,
            "cohen_kappa_mean": None,
        }
    return {
        "percent": _num(metrics.percent_agreement(item, labeler, label)),
        "krippendorff_alpha": _num(metrics.krippendorff_alpha_nominal(item, labeler, label)),
        "fleiss_kappa": _num(metrics.fleiss_kappa(item, labeler, label, n_raters=overlap)),
        "cohen_kappa_mean": _num(metrics.cohen_kappa_mean(item, labeler, label)),
    }


def _mean(values: list[float | None]) -> float | None:
    defined = [v for v in values if v is not None]
    return _num(sum(defined) / len(defined)) if defined else None


# --- per labeler -----------------------------------------------------------------------


def _consensus_agreement(a: AnnotationArrays) -> dict[int, tuple[int, int]]:
    """Per labeler index: (agreed, scored) against the majority of the others (counted rows)."""
    n_ann = a.labeler_ids.size
    if not a.n:
        return {}
    columns = (
        [a.matrix[:, j].astype(np.int64) for j in range(len(a.label_names))]
        if a.multi_label
        else [a.label]
    )
    agreed = np.zeros(n_ann, dtype=np.int64)
    scored = np.zeros(n_ann, dtype=np.int64)
    for col in columns:
        for k, value in metrics.agreement_with_consensus(
            a.item, a.labeler, col, n_annotators=n_ann
        ).items():
            agreed[k] += value.agreed
            scored[k] += value.scored
    return {k: (int(agreed[k]), int(scored[k])) for k in range(n_ann)}


def gold_summary(a: AnnotationArrays, mask: BoolArray) -> dict[str, Any]:
    answered = int((a.on_gold & mask).sum())
    correct = int((a.on_gold & a.gold_correct & mask).sum())
    return {
        "gold_answered": answered,
        "gold_correct": correct,
        "gold_accuracy": rate(correct, answered),
        "gold_interval": _interval(metrics.wilson_interval(correct, answered)),
    }


def acceptance_summary(a: AnnotationArrays, mask: BoolArray) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, state in (("shown", SUGGESTION_SHOWN), ("hidden", SUGGESTION_HIDDEN)):
        rows = mask & (a.suggestion_state == state)
        n = int(rows.sum())
        out[key] = {"rate": rate(int((rows & a.suggestion_accepted).sum()), n), "n": n}
    return out


def labeler_rows(
    a: AnnotationArrays, *, states: Mapping[int, str], threshold: float
) -> list[dict[str, Any]]:
    """Per labeler: counts, gold accuracy (flagged below ``threshold``), agreement with the
    others' consensus, median time, suggestion acceptance and the qualification state
    (``states`` by user id)."""
    counted = a.subset(a.is_counted)
    with_consensus = _consensus_agreement(counted)
    out = []
    for k, user_id in enumerate(a.labeler_ids.tolist()):
        mine = a.labeler == k
        seconds = a.seconds[mine]
        seconds = seconds[np.isfinite(seconds)]
        agreed, scored = with_consensus.get(k, (0, 0))
        gold = gold_summary(a, mine)
        out.append(
            {
                "username": a.usernames[k],
                "annotations": int(mine.sum()),
                "counted": int((mine & a.is_counted).sum()),
                **gold,
                "agreement_with_consensus": rate(agreed, scored),
                "consensus_scored": scored,
                "median_seconds": _num(np.median(seconds)) if seconds.size else None,
                "suggestion_acceptance": acceptance_summary(a, mine),
                "qualification": states.get(user_id),
                "flagged": gold["gold_accuracy"] is not None and gold["gold_accuracy"] < threshold,
            }
        )
    out.sort(key=lambda row: row["username"])
    return out


def guideline_version_rows(a: AnnotationArrays, *, overlap: int, seed: int) -> list[dict[str, Any]]:
    counted = a.subset(a.is_counted)
    out = []
    for version in sorted(set(counted.guideline_version.tolist())):
        rows = counted.guideline_version == version
        part = counted.subset(rows)
        entry = {
            "version": None if version < 0 else int(version),
            **agreement_summary(part, overlap=overlap, seed=seed, intervals=False, per_label=False),
        }
        entry.update(gold_summary(counted, rows))
        out.append(entry)
    return out


# --- distribution, slices ------------------------------------------------------------------


def compact(a: AnnotationArrays) -> AnnotationArrays:
    """Re-index items and labelers to those present in ``a`` (after a subset)."""
    if not a.n:
        return a
    used_items, item = np.unique(a.item, return_inverse=True)
    used_ann, labeler = np.unique(a.labeler, return_inverse=True)
    return AnnotationArrays(
        item=item.reshape(-1),
        labeler=labeler.reshape(-1),
        label=a.label,
        matrix=a.matrix,
        item_ids=a.item_ids[used_items],
        labeler_ids=a.labeler_ids[used_ann],
        usernames=[a.usernames[k] for k in used_ann.tolist()],
        label_names=a.label_names,
        multi_label=a.multi_label,
        is_counted=a.is_counted,
        guideline_version=a.guideline_version,
        seconds=a.seconds,
        suggestion_state=a.suggestion_state,
        suggestion_accepted=a.suggestion_accepted,
        on_gold=a.on_gold,
        gold_correct=a.gold_correct,
        item_is_gold=a.item_is_gold[used_items],
    )


def label_distribution(a: AnnotationArrays) -> dict[str, int]:
    totals = a.matrix.sum(axis=0) if a.n else np.zeros(len(a.label_names))
    return {name: int(totals[j]) for j, name in enumerate(a.label_names)}


def slice_summary(
    a: AnnotationArrays, *, field: str, values: Mapping[int, Any], overlap: int, seed: int
) -> dict[str, Any]:
    """Agreement, gold accuracy and label distribution per value of ``data[field]``
    (``values``: each item's value by item id)."""
    per_item = [_slice_key(values.get(int(i))) for i in a.item_ids.tolist()]
    keys = sorted(set(per_item), key=lambda v: (v is None, str(v)))
    item_key = np.asarray([keys.index(v) for v in per_item], dtype=np.int64)
    row_key = item_key[a.item] if a.n else np.zeros(0, dtype=np.int64)
    out = []
    for k, value in enumerate(keys[:MAX_SLICE_VALUES]):
        rows = row_key == k
        part = a.subset(rows)
        counted = part.subset(part.is_counted)
        out.append(
            {
                "value": value,
                "items": int((item_key == k).sum()),
                "annotations": part.n,
                "agreement": agreement_summary(
                    counted, overlap=overlap, seed=seed, per_label=False
                ),
                **gold_summary(part, np.ones(part.n, dtype=bool)),
                "label_distribution": label_distribution(counted),
            }
        )
    return {"field": field, "values": out, "truncated": len(keys) > MAX_SLICE_VALUES}


def _slice_key(value: Any) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else str(value)


# --- consensus and disputes ----------------------------------------------------------------


def consensus_of(a: AnnotationArrays, *, method: str) -> Consensus:
    """The consensus over ``a``'s rows by the aggregation ``method``."""
    # `method` is Project.aggregation, a str field whose choices are consensus.Method's values
    return consensus(
        a.item,
        a.labeler,
        a.label,
        a.matrix,
        n_items=a.item_ids.size,
        n_annotators=a.labeler_ids.size,
        n_labels=len(a.label_names),
        multi_label=a.multi_label,
        method=method,  # type: ignore[arg-type]
    )


def disputed_items(a: AnnotationArrays, result: Consensus, *, threshold: float) -> BoolArray:
    """Per item of ``a``: whether its consensus is disputed (gold items never are)."""
    return disputed(result, threshold=threshold) & ~a.item_is_gold


def consensus_row(a: AnnotationArrays, result: Consensus, i: int) -> dict[str, Any]:
    """Item ``i`` of ``a`` as the review queue shows it: id, votes, confidence, tie."""
    return {
        "item_id": int(a.item_ids[i]),
        "votes": int(result.votes[i]),
        "confidence": _num(result.confidence[i]),
        "weakest": _num(result.weakest[i]),
        "tie": [a.label_names[j] for j in np.flatnonzero(result.tie_labels[i])] or None,
    }


def disputed_rows(
    a: AnnotationArrays, result: Consensus, *, threshold: float, reviewed: set[int]
) -> list[dict[str, Any]]:
    """Disputed items not in ``reviewed``, weakest first: item id, votes, confidence, tie."""
    rows = [
        consensus_row(a, result, int(i))
        for i in np.flatnonzero(disputed_items(a, result, threshold=threshold))
        if int(a.item_ids[i]) not in reviewed
    ]
    rows.sort(key=lambda r: (r["weakest"] if r["weakest"] is not None else 0.0, r["item_id"]))
    return rows

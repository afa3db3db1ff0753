"""Confident learning (Northcutt, Jiang & Chuang 2021): which given labels look wrong.

Input: out-of-fold predicted probabilities (each row predicted by a model that did not train
on it, so a wrong label cannot be memorised) and the given label of each row. No fixed
cut-off: each class j gets its own threshold t_j, the mean probability of class j over the
rows labeled j (its "self-confidence"), so a class the model is generally unsure of is not
over-flagged. A row's confident label is the most probable class k among those with
p_k >= t_k; the row is a candidate label error when that class is not its given label
(cleanlab's ``filter_by="confident_learning"``: the off-diagonal of the confident joint).
Candidates are ranked by the normalized margin p_given - max_{k != given} p_k, lowest (most
likely wrong) first, ties by self-confidence.

Classes with fewer than ``min_per_class`` given labels get no threshold: their rows are not
checked and they are never suggested (a threshold from two rows is noise, and a class absent
from some folds gets probability 0 there). Single-label only: multi-label projects are not
checked (the label-error list says so).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

MIN_PER_CLASS = 5

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class LabelErrors:
    """Candidates in rank order (indices into the rows given), with their figures.

    rows: row indices, most likely wrong first. suggested: the confident label (column) of
    each. given_proba / suggested_proba: p of the given and of the suggested class. score:
    (1 - normalized margin) / 2 in [0, 1], higher is more likely wrong. thresholds: t_j per
    class (NaN where the class has too few labels to be checked). checked: rows whose given
    class was checked.
    """

    rows: IntArray
    suggested: IntArray
    given_proba: FloatArray
    suggested_proba: FloatArray
    score: FloatArray
    thresholds: FloatArray
    checked: int


def per_class_thresholds(
    proba: npt.ArrayLike, given: npt.ArrayLike, *, min_per_class: int = MIN_PER_CLASS
) -> FloatArray:
    """t_j = mean of p_j over the rows whose given label is j; NaN below ``min_per_class``."""
    p = np.asarray(proba, dtype=float)
    y = np.asarray(given, dtype=int)
    n_classes = p.shape[1]
    counts = np.bincount(y, minlength=n_classes)
    sums = np.bincount(y, weights=p[np.arange(y.size), y], minlength=n_classes)
    out = np.full(n_classes, np.nan)
    enough = counts >= max(1, min_per_class)
    out[enough] = sums[enough] / counts[enough]
    return out


def normalized_margin(proba: npt.ArrayLike, given: npt.ArrayLike) -> FloatArray:
    """p_given - max over the other classes; in [-1, 1], low means the label looks wrong."""
    p = np.asarray(proba, dtype=float)
    y = np.asarray(given, dtype=int)
    rows = np.arange(y.size)
    own = p[rows, y]
    others = p.copy()
    others[rows, y] = -np.inf
    margin: FloatArray = own - others.max(axis=1)
    return margin


def find_label_errors(
    proba: npt.ArrayLike, given: npt.ArrayLike, *, min_per_class: int = MIN_PER_CLASS
) -> LabelErrors:
    """The candidate label errors among ``given`` (column indices into ``proba``), ranked."""
    p = np.asarray(proba, dtype=float)
    y = np.asarray(given, dtype=int)
    if p.ndim != 2 or p.shape[0] != y.size:
        raise ValueError(f"proba is {p.shape}, given has {y.size} rows")
    thresholds = per_class_thresholds(p, y, min_per_class=min_per_class)
    usable = ~np.isnan(thresholds)
    checked_rows = usable[y] if y.size else np.zeros(0, dtype=bool)
    # Tiny tolerance: a row exactly at its class's mean (say every row at p=1) is above it.
    above = (p >= np.where(usable, thresholds, np.inf) - 1e-12) & usable
    confident = np.where(above.any(axis=1), np.where(above, p, -np.inf).argmax(axis=1), -1)
    candidate = checked_rows & (confident >= 0) & (confident != y)
    rows = np.flatnonzero(candidate)
    margin = normalized_margin(p[rows], y[rows]) if rows.size else np.zeros(0)
    own = p[rows, y[rows]]
    order = np.lexsort((rows, own, margin))  # margin first, then self-confidence, then row
    rows = rows[order]
    suggested = confident[rows]
    return LabelErrors(
        rows=rows.astype(np.int64),
        suggested=suggested.astype(np.int64),
        given_proba=p[rows, y[rows]],
        suggested_proba=p[rows, suggested],
        score=(1.0 - margin[order]) / 2.0,
        thresholds=thresholds,
        checked=int(checked_rows.sum()),
    )

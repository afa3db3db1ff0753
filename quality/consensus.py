"""The consensus label of each item from annotation arrays (single- or multi-label); numpy only.

Wraps :mod:`quality.aggregation` so single-label and multi-label projects (each label a yes/no
question) come out in one shape: chosen labels, ties, confidence and the weakest share.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from quality.aggregation import dawid_skene, majority_vote, majority_vote_multi

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
Method = Literal["majority", "dawid_skene"]


@dataclass(frozen=True)
class Consensus:
    """Per item (rows) and label (columns)."""

    chosen: BoolArray
    """n_items × n_labels: the labels the consensus gives (none on a single-label tie)."""
    tie_labels: BoolArray
    """n_items × n_labels: single-label, the labels sharing the top count on a tie;
    multi-label, the labels that exactly half the annotators chose."""
    tied: BoolArray
    """Per item: a tie somewhere, reported and never broken."""
    confidence: FloatArray
    """Single-label: winning share or posterior; multi-label: mean over labels."""
    weakest: FloatArray
    """The lowest per-label confidence (single-label: the confidence itself)."""
    votes: IntArray
    """Annotations per item."""
    posterior: FloatArray | None
    """Dawid–Skene only: n_items × n_labels; single-label P(class), multi-label P(yes)."""


def consensus(
    item: npt.ArrayLike,
    annotator: npt.ArrayLike,
    label: npt.ArrayLike,
    matrix: npt.ArrayLike,
    *,
    n_items: int,
    n_annotators: int,
    n_labels: int,
    multi_label: bool,
    method: Method = "majority",
) -> Consensus:
    """Aggregate annotations per item; ``label`` is used for single-label, ``matrix`` for multi."""
    it = np.asarray(item, dtype=np.int64)
    an = np.asarray(annotator, dtype=np.int64)
    votes = np.bincount(it, minlength=n_items).astype(np.int64)
    voted = votes > 0
    if n_labels == 0:
        empty = np.zeros((n_items, 0), dtype=bool)
        return Consensus(
            empty, empty, np.zeros(n_items, bool), np.zeros(n_items), np.zeros(n_items), votes, None
        )
    if not multi_label:
        lb = np.asarray(label, dtype=np.int64)
        if method == "majority":
            mv = majority_vote(it, lb, n_items, n_labels)
            chosen = np.zeros((n_items, n_labels), dtype=bool)
            won = mv.labels >= 0
            chosen[np.flatnonzero(won), mv.labels[won]] = True
            top = mv.counts.max(axis=1, keepdims=True)
            tie_labels = mv.tied[:, None] & (mv.counts == top)
            return Consensus(
                chosen, tie_labels, mv.tied, mv.confidence, mv.confidence.copy(), votes, None
            )
        ds = dawid_skene(it, an, lb, n_items, max(n_annotators, 1), n_labels)
        post = ds.posteriors
        top = post.max(axis=1)
        # Exactly equal top posteriors (symmetric data) are a tie, as in the majority vote.
        tie_labels = voted[:, None] & np.isclose(post, top[:, None], rtol=0, atol=1e-12)
        tied = tie_labels.sum(axis=1) > 1
        tie_labels &= tied[:, None]
        chosen = np.zeros((n_items, n_labels), dtype=bool)
        won = voted & ~tied
        chosen[np.flatnonzero(won), post[won].argmax(axis=1)] = True
        confidence = np.where(voted, top, 0.0)
        return Consensus(chosen, tie_labels, tied, confidence, confidence.copy(), votes, post)

    mat = np.asarray(matrix, dtype=np.int64)
    if method == "majority":
        mlv = majority_vote_multi(it, mat, n_items, n_labels)
        tied = mlv.tied.sum(axis=1) > 0
        return Consensus(
            mlv.chosen, mlv.tied, tied, mlv.confidence, mlv.share.min(axis=1), votes, None
        )
    posterior = np.zeros((n_items, n_labels))
    for j in range(n_labels):
        ds = dawid_skene(it, an, mat[:, j], n_items, max(n_annotators, 1), 2)
        posterior[:, j] = ds.posteriors[:, 1]
    chosen = voted[:, None] & (posterior > 0.5)
    tie_labels = voted[:, None] & np.isclose(posterior, 0.5, rtol=0, atol=1e-12)
    share = np.where(voted[:, None], np.maximum(posterior, 1.0 - posterior), 0.0)
    tied = tie_labels.sum(axis=1) > 0
    confidence = share.mean(axis=1)
    weakest = share.min(axis=1)
    return Consensus(chosen, tie_labels, tied, confidence, weakest, votes, posterior)


def disputed(result: Consensus, *, threshold: float, min_votes: int = 2) -> BoolArray:
    """Items to review: at least ``min_votes`` annotations and a tie or a share below threshold."""
    return (result.votes >= min_votes) & (result.tied | (result.weakest < threshold))

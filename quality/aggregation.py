"""Label aggregation (majority vote, Dawid–Skene) on long-format annotation arrays; pure numpy.

The majority vote is written here once: the quality report, the review queue, the export and
training all take it from :func:`majority_vote` (single-label) and :func:`majority_vote_multi`
(multi-label), through :func:`quality.consensus.consensus`.

Input: equal-length integer arrays, one row per annotation: ``item`` (0..n_items-1),
``annotator`` (0..n_annotators-1), ``label`` (0..n_classes-1). Sizes are passed explicitly so
items nobody labelled yet still get a row in the result.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


def _check(name: str, values: npt.ArrayLike, bound: int) -> IntArray:
    """Return values as int64, raising ValueError unless 1-D integers in [0, bound)."""
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional")
    if arr.size and not (np.issubdtype(arr.dtype, np.integer) or arr.dtype == np.bool_):
        raise ValueError(f"{name} must hold integers, got dtype {arr.dtype}")
    arr = arr.astype(np.int64, copy=False)
    if arr.size and (arr.min() < 0 or arr.max() >= bound):
        raise ValueError(f"{name} must lie in [0, {bound})")
    return arr


@dataclass(frozen=True)
class MajorityVote:
    """Per-item majority vote; ties are reported, never broken."""

    labels: IntArray
    """Winning label per item; -1 when the top count is tied or the item has no vote."""
    tied: BoolArray
    """True where two or more labels share the top count."""
    confidence: FloatArray
    """Share of the item's votes that went to the top label (0.0 for an item with no vote)."""
    counts: IntArray
    """Votes per item and label, n_items × n_classes."""


def majority_vote(
    item: npt.ArrayLike, label: npt.ArrayLike, n_items: int, n_classes: int
) -> MajorityVote:
    """Count votes per item; the label with a strict plurality wins, ties give -1 and tied=True."""
    it = _check("item", item, n_items)
    lb = _check("label", label, n_classes)
    if it.size != lb.size:
        raise ValueError("item and label differ in length")
    counts = np.bincount(it * n_classes + lb, minlength=n_items * n_classes).reshape(
        n_items, n_classes
    )
    total = counts.sum(axis=1)
    top = counts.max(axis=1) if n_classes else np.zeros(n_items, dtype=np.int64)
    n_top = (counts == top[:, None]).sum(axis=1)
    voted = total > 0
    tied = voted & (n_top > 1)
    labels = np.where(voted & ~tied, counts.argmax(axis=1), -1)
    confidence = np.divide(top, total, out=np.zeros(n_items), where=voted)
    return MajorityVote(labels=labels, tied=tied, confidence=confidence, counts=counts)


@dataclass(frozen=True)
class MultiLabelVote:
    """Per-item majority vote on each label as a yes/no question; ties reported, never broken."""

    chosen: BoolArray
    """n_items × n_labels: the labels more than half of the item's annotations chose."""
    tied: BoolArray
    """n_items × n_labels: the labels exactly half of the item's annotations chose."""
    share: FloatArray
    """n_items × n_labels: the majority answer's share, max(yes, no) / votes (0.0 unvoted)."""
    confidence: FloatArray
    """Per item: the mean over labels of ``share`` (0.0 for an item with no vote)."""
    yes: IntArray
    """n_items × n_labels: annotations that chose the label."""
    votes: IntArray
    """Annotations per item."""


def majority_vote_multi(
    item: npt.ArrayLike, matrix: npt.ArrayLike, n_items: int, n_labels: int
) -> MultiLabelVote:
    """Multi-label majority vote: ``matrix`` (one row per annotation, n_labels columns) holds 1
    where the annotation chose the label. Each label is chosen by more than half of the item's
    annotations; exactly half is a tie on that label."""
    it = _check("item", item, n_items)
    mat = np.asarray(matrix, dtype=np.int64).reshape(it.size, n_labels)
    votes = np.bincount(it, minlength=n_items).astype(np.int64)
    yes = np.zeros((n_items, n_labels), dtype=np.int64)
    for j in range(n_labels):
        yes[:, j] = np.bincount(it, weights=mat[:, j], minlength=n_items).astype(np.int64)
    n = votes[:, None]
    voted = n > 0
    chosen = yes * 2 > n
    tied = voted & (yes * 2 == n)
    share = np.where(voted, np.maximum(yes, n - yes) / np.maximum(n, 1), 0.0)
    confidence = share.mean(axis=1) if n_labels else np.zeros(n_items)
    return MultiLabelVote(
        chosen=chosen, tied=tied, share=share, confidence=confidence, yes=yes, votes=votes
    )


@dataclass(frozen=True)
class DawidSkeneResult:
    """Fitted Dawid–Skene model."""

    posteriors: FloatArray
    """P(true class = k | annotations), n_items × n_classes; the priors for unlabelled items."""
    confusion: FloatArray
    """P(annotator a says l | true class k) as confusion[a, k, l]; rows sum to 1."""
    priors: FloatArray
    """Class priors, n_classes."""
    labels: IntArray
    """argmax of the posterior per item; -1 for items with no annotation."""
    n_iter: int
    """EM rounds run (each one M-step then one E-step)."""
    converged: bool
    """True when the log-likelihood gain fell below tol before max_iter."""
    log_likelihood: float
    """Marginal log-likelihood of the annotations per annotation, at the last E-step."""

    def annotator_accuracy(self) -> FloatArray:
        """Estimated P(annotator is right) = sum_k prior_k · confusion[a, k, k]."""
        accuracy: FloatArray = np.einsum("k,akk->a", self.priors, self.confusion)
        return accuracy


def _majority_init(counts: IntArray) -> FloatArray:
    """One-hot majority vote per item, with a tie split evenly across the tied labels."""
    top = counts.max(axis=1, keepdims=True)
    winners = (counts == top).astype(np.float64)
    shares: FloatArray = winners / winners.sum(axis=1, keepdims=True)
    return shares


def dawid_skene(
    item: npt.ArrayLike,
    annotator: npt.ArrayLike,
    label: npt.ArrayLike,
    n_items: int,
    n_annotators: int,
    n_classes: int,
    *,
    max_iter: int = 100,
    tol: float = 1e-6,
    smoothing: float = 0.01,
) -> DawidSkeneResult:
    """Dawid–Skene EM: per-annotator confusion matrices and per-item class posteriors.

    Initialised from the majority vote (ties split evenly). ``smoothing`` is a pseudo-count added
    to every confusion cell and class total so no probability is 0 (no log(0)); an annotator
    with no annotation keeps a uniform confusion matrix. Stops when the per-annotation
    log-likelihood gains less than ``tol`` or after ``max_iter`` rounds. Items with no
    annotation get the priors as posterior and label -1.
    """
    if n_classes < 1:
        raise ValueError("n_classes must be at least 1")
    if smoothing <= 0:
        raise ValueError("smoothing must be positive")
    if max_iter < 1:
        raise ValueError("max_iter must be at least 1")
    it = _check("item", item, n_items)
    an = _check("annotator", annotator, n_annotators)
    lb = _check("label", label, n_classes)
    if not (it.size == an.size == lb.size):
        raise ValueError("item, annotator and label differ in length")
    k = n_classes
    n = it.size
    if n == 0:
        uniform = np.full(k, 1.0 / k)
        return DawidSkeneResult(
            posteriors=np.tile(uniform, (n_items, 1)),
            confusion=np.full((n_annotators, k, k), 1.0 / k),
            priors=uniform,
            labels=np.full(n_items, -1, dtype=np.int64),
            n_iter=0,
            converged=True,
            log_likelihood=0.0,
        )

    # Precompute the groupings once. Arrays are class-major (k rows) so each EM step is k
    # one-dimensional gathers and bincount/reduceat sums over the annotations: no Python loop
    # over items or annotators, and no np.add.at.
    by_item = np.argsort(it, kind="stable")
    it_s = it[by_item]
    cell_s = an[by_item] * k + lb[by_item]  # flat (annotator, given label) per annotation
    starts = np.flatnonzero(np.r_[True, it_s[1:] != it_s[:-1]])
    labelled = it_s[starts]
    n_lab = labelled.size
    seg = np.repeat(np.arange(n_lab), np.diff(np.r_[starts, n]))  # labelled-item index per row
    by_cell = np.argsort(cell_s, kind="stable")
    cell_c = cell_s[by_cell]
    cell_starts = np.flatnonzero(np.r_[True, cell_c[1:] != cell_c[:-1]])
    cells = cell_c[cell_starts]
    seg_c = seg[by_cell]

    counts = np.bincount(it * k + lb, minlength=n_items * k).reshape(n_items, k)
    post = np.ascontiguousarray(_majority_init(counts[labelled]).T)  # k × n_lab

    joint = np.empty((k, n_lab))
    log_lik = -np.inf
    converged = False
    rounds = 0
    while rounds < max_iter:
        rounds += 1
        # M-step: expected counts of (true class k, annotator a, given label l).
        priors = (post.sum(axis=1) + smoothing) / (n_lab + k * smoothing)
        table = np.full((k, n_annotators * k), smoothing)
        for c in range(k):
            table[c, cells] += np.add.reduceat(np.take(post[c], seg_c), cell_starts)
        kal = table.reshape(k, n_annotators, k)
        kal = kal / kal.sum(axis=2, keepdims=True)  # P(l | k, a)
        log_kal = np.log(kal).reshape(k, n_annotators * k)

        # E-step: log prior + sum over the item's annotations of log P(given label | class).
        log_prior = np.log(priors)
        for c in range(k):
            joint[c] = np.bincount(seg, weights=np.take(log_kal[c], cell_s), minlength=n_lab)
            joint[c] += log_prior[c]
        peak = joint.max(axis=0)
        np.exp(joint - peak, out=post)
        norm = post.sum(axis=0)
        post /= norm
        new_log_lik = float((np.log(norm) + peak).sum()) / n
        gain = new_log_lik - log_lik
        log_lik = new_log_lik
        if gain < tol:
            converged = True
            break

    posteriors = np.tile(priors, (n_items, 1))
    posteriors[labelled] = post.T
    labels = np.full(n_items, -1, dtype=np.int64)
    labels[labelled] = post.argmax(axis=0)
    return DawidSkeneResult(
        posteriors=posteriors,
        confusion=np.ascontiguousarray(kal.transpose(1, 0, 2)),
        priors=priors,
        labels=labels,
        n_iter=rounds,
        converged=converged,
        log_likelihood=log_lik,
    )


__all__ = [
    "DawidSkeneResult",
    "MajorityVote",
    "MultiLabelVote",
    "dawid_skene",
    "majority_vote",
    "majority_vote_multi",
]

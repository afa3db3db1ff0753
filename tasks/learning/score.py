"""Queue priorities from a trained model: per-chunk scores, then one re-ranking of the top.

Priority scale (higher is served first), shared by all functions here:
  [0, 1)  a chunk's own score (`score_chunk`), comparable across chunks and workers;
  [1, 2]  the next batch, in serving order (`batch_priorities`, `cold_start_priorities`).
So the score jobs write chunk priorities independently, and one final step re-ranks the
top `candidate_count(batch_size)` items (plus `exploration_count(batch_size)` random ones)
and writes their new priorities; everything else keeps its chunk score.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from tasks.learning.strategies import diverse_seed, rank_batch, uncertainty_scores
from tasks.learning.train import TrainedModel

CANDIDATE_FACTOR = 5  # the batch is re-ranked from the top batch_size * this items
EXPLORE_SHARE = 0.1  # share of each batch given to uniformly random pool items
DEFAULT_BATCH_METHOD = "density"
_BELOW_ONE: np.float64 = np.nextafter(1.0, 0.0)

FloatArray = npt.NDArray[np.float64]


class ChunkScores(NamedTuple):
    """Per row of a chunk: priority in [0, 1), predicted label(s), confidence in [0, 1].

    predicted_labels: a class value (single-label) or a list of label values with
    P > 0.5 (multi-label). confidence: the top class probability (single-label), or the
    probability that the whole predicted set is right if labels were independent, the
    product over labels of max(p, 1 - p) (multi-label).
    """

    priority: FloatArray
    predicted_labels: list[Any]
    confidence: FloatArray


def score_chunk(model: TrainedModel, X_chunk: Any, strategy: str, seed: int) -> ChunkScores:
    """Score one chunk of the unlabeled pool; independent of every other chunk."""
    proba = model.predict_proba(X_chunk)
    priority = np.minimum(uncertainty_scores(model, X_chunk, strategy, seed), _BELOW_ONE)
    if model.multi_label:
        on = proba > 0.5
        labels = [[c for c, keep in zip(model.classes, row, strict=True) if keep] for row in on]
        confidence = np.prod(np.maximum(proba, 1.0 - proba), axis=1)
    else:
        labels = [model.classes[j] for j in proba.argmax(axis=1)]
        confidence = proba.max(axis=1)
    return ChunkScores(priority, labels, confidence)


def candidate_count(batch_size: int) -> int:
    """How many top-priority items the final step should fetch for `batch_priorities`."""
    return CANDIDATE_FACTOR * batch_size


def exploration_count(batch_size: int, share: float = EXPLORE_SHARE) -> int:
    """How many uniformly random unlabeled items to fetch alongside the candidates."""
    return round(share * batch_size)


def _serving_priorities(n: int) -> FloatArray:
    """Priorities in (1, 2] for positions 0..n-1 of the batch, decreasing."""
    return 1.0 + (n - np.arange(n)) / max(n, 1)


@dataclass(frozen=True)
class BatchPlan:
    """New priorities for the fetched candidates and random items (same order as given)."""

    candidates: FloatArray
    random: FloatArray


def batch_priorities(
    scores: npt.ArrayLike,
    X_candidates: Any,
    X_labeled: Any | None,
    *,
    batch_size: int,
    seed: int,
    X_random: Any | None = None,
    batch_mode: bool = True,
    method: str = DEFAULT_BATCH_METHOD,
    predicted: npt.ArrayLike | None = None,
    labeled_classes: npt.ArrayLike | None = None,
) -> BatchPlan:
    """Re-rank the top candidates into the next batch (priorities in [1, 2]).

    batch_mode=True: `rank_batch` orders the candidates for diversity, and the random
    items (exploration) take every k-th slot, k = batch_size / their count. batch_mode=False:
    the plain top `batch_size` by score, random items ignored. Candidates left out of the
    batch keep their chunk score; random items left out get NaN (keep their chunk score).
    """
    scores = np.asarray(scores, dtype=float)
    n_random = 0 if X_random is None or not batch_mode else min(X_random.shape[0], batch_size)
    n_model = min(batch_size - n_random, scores.size)
    if batch_mode and n_model > 0:
        picks = rank_batch(
            scores,
            X_candidates,
            X_labeled,
            n_model,
            method=method,
            predicted=predicted,
            labeled_classes=labeled_classes,
        )
    else:
        picks = np.argsort(-scores, kind="stable")[:n_model]
    slots = n_model + n_random
    serving = _serving_priorities(slots)
    random_slots = np.zeros(slots, dtype=bool)
    if n_random:
        random_slots[np.linspace(slots - 1, 0, n_random, endpoint=False).astype(int)[::-1]] = True
    # fill: random items at evenly spaced slots (starting late), model picks elsewhere.
    model_priority = serving[~random_slots]
    random_priority = serving[random_slots]
    candidate_out = np.minimum(scores, _BELOW_ONE).copy()
    candidate_out[picks] = model_priority[: len(picks)]
    n_rand_rows = 0 if X_random is None else X_random.shape[0]
    random_out = np.full(n_rand_rows, np.nan)
    if n_random:
        order = np.random.default_rng(seed).permutation(n_rand_rows)[:n_random]
        random_out[order] = random_priority
    return BatchPlan(candidate_out, random_out)


def cold_start_priorities(X_sample: Any, n: int, seed: int, *, cosine: bool = False) -> FloatArray:
    """Before any model: `n` cluster-spread items (`diverse_seed`) first, the rest random.
    Pass text embeddings (`cosine=True`) where there are any: their clusters follow topics."""
    priority = np.random.default_rng(seed).random(int(X_sample.shape[0])) * _BELOW_ONE
    picks = diverse_seed(X_sample, n, seed, cosine=cosine)
    priority[picks] = _serving_priorities(len(picks))
    return priority

"""Query strategies: how useful labeling each item would be, and how to build a diverse batch.

Scores come from modAL's strategy functions (modAL.uncertainty.*, modAL.disagreement
.vote_entropy, modAL.batch.ranked_batch) applied to our own fitted models through tiny
adapters; modAL's learners and their `.teach` are never used (see the package docstring).
Every score is scaled to [0, 1], higher = more useful, with a fixed scale (not one that
depends on the chunk), so chunks scored by different workers can be compared directly.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from modAL.batch import ranked_batch
from modAL.disagreement import vote_entropy
from modAL.uncertainty import classifier_entropy, classifier_margin, classifier_uncertainty
from sklearn.cluster import MiniBatchKMeans
from sklearn.decomposition import TruncatedSVD
from sklearn.preprocessing import normalize

from tasks.learning.train import TrainedModel

# A copy of annotation.models.Project.Strategy (this code imports no Django);
# tests/tasks/test_train.py checks the two agree.
STRATEGIES = ("uncertainty", "margin", "entropy", "committee", "random")
BATCH_METHODS = ("ranked", "density")
_TIE_BREAK = 0.01  # weight of consensus entropy that orders items with equal vote entropy

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


class _FixedProba:
    """Learner-like adapter: modAL's uncertainty functions only call predict_proba."""

    def __init__(self, proba: FloatArray) -> None:
        self.proba = proba

    def predict_proba(self, X: Any, **_: Any) -> FloatArray:
        return self.proba


class _Votes:
    """Committee-like adapter for modAL.disagreement.vote_entropy (len, vote, classes_)."""

    def __init__(self, votes: IntArray, n_classes: int) -> None:
        self.votes = votes
        self.classes_ = np.arange(n_classes)

    def __len__(self) -> int:
        return int(self.votes.shape[1])

    def vote(self, X: Any, **_: Any) -> IntArray:
        return self.votes


class _LabeledSet:
    """Learner-like adapter for modAL.batch.ranked_batch, which reads X_training."""

    on_transformed = False

    def __init__(self, X_training: Any) -> None:
        self.X_training = X_training if X_training is not None and X_training.shape[0] else None


def _class_scores(proba: FloatArray, strategy: str) -> FloatArray:
    """Least confidence, 1 - margin or entropy of class probabilities, scaled to [0, 1]."""
    n_classes = proba.shape[1]
    if n_classes < 2:
        return np.zeros(proba.shape[0])
    adapter = _FixedProba(proba)
    scores: FloatArray  # modAL's functions return float arrays (modAL is untyped)
    if strategy == "uncertainty":
        scores = classifier_uncertainty(adapter, proba) / (1.0 - 1.0 / n_classes)
    elif strategy == "margin":
        scores = 1.0 - classifier_margin(adapter, proba)
    elif strategy == "entropy":
        scores = classifier_entropy(adapter, proba) / math.log(n_classes)
    else:
        raise ValueError(f"unknown strategy {strategy!r}; expected one of {STRATEGIES}")
    return scores


def proba_scores(proba: FloatArray, strategy: str, *, multi_label: bool) -> FloatArray:
    """Scores from predicted probabilities; multi-label = mean over labels of the binary
    score of P(label applies), so an item counts as uncertain on the whole, not on one label."""
    if not multi_label:
        return np.clip(_class_scores(proba, strategy), 0.0, 1.0)
    if proba.shape[1] == 0:
        return np.zeros(proba.shape[0])
    per_label = [_class_scores(np.column_stack([1.0 - p, p]), strategy) for p in proba.T]
    mean: FloatArray = np.mean(per_label, axis=0)
    return np.clip(mean, 0.0, 1.0)


def _vote_scores(member_probas: list[FloatArray], n_classes: int) -> FloatArray:
    """Vote entropy of hard member votes scaled by its maximum, with consensus entropy
    (the members' mean probabilities) as a small tie-break: 5 votes take few values."""
    votes = np.column_stack([p.argmax(axis=1) for p in member_probas])
    n_rows = votes.shape[0]
    ve: FloatArray = vote_entropy(_Votes(votes, n_classes), np.empty((n_rows, 0)))
    ve_max = math.log(min(n_classes, len(member_probas)))
    consensus = _class_scores(np.mean(member_probas, axis=0), "entropy")
    return (1.0 - _TIE_BREAK) * ve / ve_max + _TIE_BREAK * consensus


def committee_scores(model: TrainedModel, X: Any) -> FloatArray:
    """Query-by-committee disagreement of the model's bootstrap members, in [0, 1]."""
    probas = model.member_probas(X)
    if len(probas) < 2:
        raise ValueError("strategy 'committee' needs a model trained with committee_size >= 2")
    if not model.multi_label:
        return np.clip(_vote_scores(probas, len(model.classes)), 0.0, 1.0)
    per_label = []
    for j in range(len(model.classes)):
        binary = [np.column_stack([1.0 - p[:, j], p[:, j]]) for p in probas]
        per_label.append(_vote_scores(binary, 2))
    mean: FloatArray = np.mean(per_label, axis=0)
    return np.clip(mean, 0.0, 1.0)


def uncertainty_scores(model: TrainedModel, X: Any, strategy: str, seed: int) -> FloatArray:
    """How useful labeling each row would be (higher = more useful), in [0, 1].

    `seed` only matters for "random"; pass a different one per chunk.
    """
    if strategy == "random":
        return np.random.default_rng(seed).random(int(X.shape[0]))
    if strategy == "committee":
        return committee_scores(model, X)
    return proba_scores(model.predict_proba(X), strategy, multi_label=model.multi_label)


# ----- batch construction -------------------------------------------------------------------
def _reduce(X: Any, n_components: int, seed: int, *, cosine: bool = False) -> FloatArray:
    """Dense low-dimensional rows for clustering: SVD when wide, and for sparse (text) rows
    or when `cosine` (text embeddings) l2-normalised afterwards, so distances follow cosine
    similarity, the geometry TF-IDF and sentence embeddings are made for."""
    sparse = sp.issparse(X)
    if sparse or X.shape[1] > n_components:
        k = max(1, min(n_components, X.shape[1] - 1, X.shape[0] - 1))
        X = TruncatedSVD(n_components=k, random_state=seed).fit_transform(X)
    dense: FloatArray = np.asarray(X, dtype=float)
    if sparse or cosine:
        dense = normalize(dense)
    return dense


def diverse_seed(
    X: Any, n: int, seed: int, *, sample_size: int = 20_000, cosine: bool = False
) -> IntArray:
    """Cold start: `n` row indices spread over the pool, one per MiniBatchKMeans cluster.

    Each pick is the row nearest its cluster's centre (a typical member, not an outlier);
    larger clusters come first. Clusters are found on a sample, SVD-reduced for text.
    `cosine`: rows are directions (text embeddings), clustered on the unit sphere.
    """
    n_rows = X.shape[0]
    n = min(n, n_rows)
    if n <= 0:
        return np.zeros(0, dtype=int)
    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(n_rows, size=min(sample_size, n_rows), replace=False))
    Z = _reduce(X[rows], 50, seed, cosine=cosine)
    km = MiniBatchKMeans(n_clusters=n, random_state=seed, n_init=3, batch_size=1024).fit(Z)
    distance = np.linalg.norm(Z - km.cluster_centers_[km.labels_], axis=1)
    sizes = np.bincount(km.labels_, minlength=n)
    picks: list[int] = []
    for cluster in np.argsort(-sizes, kind="stable"):
        members = np.flatnonzero(km.labels_ == cluster)
        if members.size:
            picks.append(int(rows[members[np.argmin(distance[members])]]))
    if len(picks) < n:  # empty clusters: fill with random rows not yet picked
        rest = np.setdiff1d(np.arange(n_rows), picks)
        picks.extend(rng.choice(rest, size=n - len(picks), replace=False).tolist())
    return np.asarray(picks, dtype=int)


def _cosine(A: Any, B: Any) -> FloatArray:
    sim = normalize(A) @ normalize(B).T
    # scipy-stubs: sp.issparse narrows to SparseABC, an ABC that declares no methods
    return np.asarray(sim.todense() if sp.issparse(sim) else sim)  # type: ignore[attr-defined]


def _class_balance(
    predicted: npt.ArrayLike | None, labeled_classes: npt.ArrayLike | None, n_rows: int
) -> tuple[IntArray, FloatArray] | None:
    """Per candidate: its predicted class (as an index), and per class the labels it has
    already (labeled rows by their label), for `rank_batch`'s class-aware weighting."""
    if predicted is None:
        return None
    pred = np.asarray(predicted)
    if pred.shape != (n_rows,):
        raise ValueError(f"predicted has shape {pred.shape}, expected ({n_rows},)")
    known = np.asarray(labeled_classes if labeled_classes is not None else [])
    values, inverse = np.unique(np.concatenate([pred, known]), return_inverse=True)
    counts = np.bincount(inverse[n_rows:], minlength=values.size).astype(float)
    return inverse[:n_rows].astype(np.int64), counts


def rank_batch(
    scores: npt.ArrayLike,
    X_candidates: Any,
    X_labeled: Any | None,
    n: int,
    *,
    method: str = "ranked",
    predicted: npt.ArrayLike | None = None,
    labeled_classes: npt.ArrayLike | None = None,
) -> np.ndarray:
    """Order candidates for one batch so it is useful *and* varied; returns candidate indices.

    "ranked": modAL's ranked batch mode (Cardoso et al.): greedily take the candidate
    maximising alpha * (1 - similarity to labeled-or-picked rows) + (1 - alpha) * score.
    "density": greedy score * density * (1 - max cosine similarity to rows already picked),
    density being the mean cosine similarity to the other candidates (Settles & Craven's
    information density, over the candidates), so outliers and near-duplicates wait.
    The rows may be any representation (features, or text embeddings where they exist).

    Class-aware ("density" only), when `predicted` (each candidate's predicted class) is
    given: a candidate's value is also divided by 1 + the labels its predicted class already
    has (`labeled_classes`, the labeled rows' classes) and picks in this batch, relative to
    the average class, square-rooted: so a batch spreads over the predicted classes and
    leans to the classes with few labels, instead of piling onto the pair of classes the
    young model confuses most.
    """
    scores = np.asarray(scores, dtype=float)
    n = min(n, scores.size)
    if n <= 0:
        return np.zeros(0, dtype=int)
    span = scores.max() - scores.min()
    scaled = (scores - scores.min()) / span if span > 0 else np.ones_like(scores)
    if method == "ranked":
        ranked, _ = ranked_batch(
            _LabeledSet(X_labeled),
            X_candidates,
            scaled,
            n_instances=n,
            metric="euclidean",
            n_jobs=None,
        )
        return np.asarray(ranked, dtype=int)
    if method != "density":
        raise ValueError(f"unknown batch method {method!r}; expected one of {BATCH_METHODS}")
    sim = np.clip(_cosine(X_candidates, X_candidates), 0.0, 1.0)
    density = (sim.sum(axis=1) - 1.0) / max(1, scores.size - 1)
    base = (0.05 + scaled) * (0.05 + density)
    balance = _class_balance(predicted, labeled_classes, scores.size)
    redundancy = np.zeros(scores.size)
    taken = np.zeros(scores.size, dtype=bool)
    order: list[int] = []
    for _ in range(n):
        value = base * (1.0 - redundancy)
        if balance is not None:
            cls, counts = balance
            value = value / np.sqrt((1.0 + counts[cls]) / (1.0 + counts.mean()))
        value = np.where(taken, -np.inf, value)
        pick = int(np.argmax(value))
        order.append(pick)
        taken[pick] = True
        redundancy = np.maximum(redundancy, sim[pick])
        if balance is not None:
            balance[1][balance[0][pick]] += 1.0
    return np.asarray(order, dtype=int)

"""Fit and evaluate the project's classifier on featurized labels (no modAL `teach`, no Django).

Single-label: one multinomial-ish classifier whose probability columns follow the project's
full label order, even for labels nobody has used yet (their probability is 0). Multi-label:
one binary classifier per label (one-vs-rest), y given as an indicator matrix. Sparse (text)
features use SGDClassifier(log_loss), which fits a few thousand hashed TF-IDF rows in well
under a second; dense (numeric/pixel) features use LogisticRegression (lbfgs).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from sklearn.base import BaseEstimator
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.metrics import accuracy_score, f1_score, log_loss
from sklearn.model_selection import KFold, StratifiedKFold

COMMITTEE_SIZE = 5
ECE_BINS = 10
MAX_FOLDS = 5
_EPS = 1e-12

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


def _estimator(X: Any, seed: int) -> BaseEstimator:
    """A fresh, fast estimator suited to the matrix type."""
    if sp.issparse(X):
        # tol=None: a fixed number of epochs makes fit time predictable and deterministic.
        return SGDClassifier(loss="log_loss", alpha=1e-4, max_iter=30, tol=None, random_state=seed)
    return LogisticRegression(C=10.0, max_iter=500)


@dataclass
class _Prior:
    """Stands in for an estimator when the labels hold a single class."""

    proba: FloatArray

    def predict_proba(self, X: Any) -> FloatArray:
        return np.tile(self.proba, (X.shape[0], 1))


@dataclass
class _SingleLabel:
    """An estimator over the classes present, mapped back onto all `n_classes` columns."""

    estimator: Any
    columns: IntArray
    n_classes: int

    def predict_proba(self, X: Any) -> FloatArray:
        out = np.zeros((X.shape[0], self.n_classes))
        out[:, self.columns] = self.estimator.predict_proba(X)
        return out


def _fit_single(X: Any, y_idx: IntArray, n_classes: int, seed: int) -> _SingleLabel:
    present = np.unique(y_idx)
    if present.size < 2:
        counts = np.bincount(y_idx, minlength=n_classes).astype(float) + 1.0
        estimator: Any = _Prior(counts[present] / counts[present].sum())
        if present.size == 0:
            present = np.arange(n_classes)
            estimator = _Prior(np.full(n_classes, 1.0 / n_classes))
        return _SingleLabel(estimator, present, n_classes)
    estimator = _estimator(X, seed).fit(X, y_idx)
    return _SingleLabel(estimator, np.asarray(estimator.classes_), n_classes)


@dataclass
class _MultiLabel:
    """One binary model per label; predict_proba gives P(label applies) per column."""

    per_label: list[_SingleLabel]

    def predict_proba(self, X: Any) -> FloatArray:
        return np.column_stack([m.predict_proba(X)[:, 1] for m in self.per_label])


def _fit_multi(X: Any, Y: IntArray, seed: int) -> _MultiLabel:
    return _MultiLabel([_fit_single(X, Y[:, j].astype(int), 2, seed) for j in range(Y.shape[1])])


@dataclass
class TrainedModel:
    """A fitted classifier over featurized rows; pickle it as the ModelVersion artifact.

    `predict_proba` is (n, n_classes): class probabilities for single-label, per-label
    P(applies) for multi-label. `committee` holds bootstrap refits, only when asked for.
    """

    classes: tuple[Any, ...]
    multi_label: bool
    core: _SingleLabel | _MultiLabel
    committee: tuple[_SingleLabel | _MultiLabel, ...] = field(default=())
    n_labels: int = 0

    def predict_proba(self, X: Any) -> FloatArray:
        return self.core.predict_proba(X)

    def member_probas(self, X: Any) -> list[FloatArray]:
        """Each committee member's predict_proba (empty when trained without a committee)."""
        return [m.predict_proba(X) for m in self.committee]

    def predict(self, X: Any) -> npt.NDArray[np.bool_] | npt.NDArray[np.object_]:
        """Class values (single-label) or a boolean indicator matrix, p > 0.5 (multi-label)."""
        proba = self.predict_proba(X)
        if self.multi_label:
            return proba > 0.5
        values: npt.NDArray[np.object_] = np.asarray(self.classes, dtype=object)[
            proba.argmax(axis=1)
        ]
        return values


def encode_labels(
    y: Sequence[Any] | npt.NDArray[Any], classes: Sequence[Any], multi_label: bool
) -> IntArray:
    """Class values -> column indices (single-label), or a checked 0/1 matrix (multi-label).

    Multi-label y may also be a list of label lists, e.g. [["sports"], [], ["tech", "sports"]].
    """
    if multi_label:
        if len(y) and not isinstance(y, np.ndarray) and isinstance(y[0], list | tuple | set):
            index = {c: j for j, c in enumerate(classes)}
            Y = np.zeros((len(y), len(classes)), dtype=int)
            for i, labels in enumerate(y):
                for label in labels:
                    Y[i, index[label]] = 1
            return Y
        Y = np.asarray(y).astype(int).reshape(len(y), -1)
        if Y.shape[1] != len(classes):
            raise ValueError(f"indicator matrix has {Y.shape[1]} columns, {len(classes)} labels")
        return Y
    index = {c: j for j, c in enumerate(classes)}
    try:
        return np.array([index[v] for v in y], dtype=int)
    except KeyError as exc:
        raise ValueError(f"label {exc.args[0]!r} is not one of the project's labels") from exc


def _bootstrap(n: int, y_idx: IntArray, rng: np.random.Generator) -> IntArray:
    """A bootstrap sample that keeps every class seen, so members share the class set."""
    rows = rng.integers(0, n, size=n)
    for c in np.unique(y_idx):
        if not np.any(y_idx[rows] == c):
            rows[rng.integers(0, n)] = rng.choice(np.flatnonzero(y_idx == c))
    return rows


def train_model(
    X: Any,
    y: Sequence[Any] | npt.NDArray[Any],
    *,
    multi_label: bool,
    classes: Sequence[Any],
    seed: int,
    committee_size: int = 0,
) -> TrainedModel:
    """Fit on all labeled rows; `committee_size` > 0 adds bootstrap refits for QBC scoring."""
    encoded = encode_labels(y, classes, multi_label)
    n_classes = len(classes)

    def fit(rows: IntArray | slice, member_seed: int) -> _SingleLabel | _MultiLabel:
        if multi_label:
            return _fit_multi(X[rows], encoded[rows], member_seed)
        return _fit_single(X[rows], encoded[rows], n_classes, member_seed)

    core = fit(slice(None), seed)
    members = []
    if committee_size > 0 and X.shape[0] > 0:
        rng = np.random.default_rng(seed)
        strat = encoded if not multi_label else np.zeros(X.shape[0], dtype=int)
        # In order: each member's bootstrap draws from the one generator.
        members = [
            fit(_bootstrap(X.shape[0], strat, rng), seed + 1 + k) for k in range(committee_size)
        ]
    return TrainedModel(tuple(classes), multi_label, core, tuple(members), int(X.shape[0]))


# ----- evaluation ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Metrics:
    """Cross-validated quality; all None (with `reason`) when there are too few labels."""

    n_labels: int
    folds: int | None = None
    accuracy: float | None = None
    macro_f1: float | None = None
    log_loss: float | None = None
    ece: float | None = None
    reason: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def expected_calibration_error(
    confidence: npt.ArrayLike, correct: npt.ArrayLike, n_bins: int = ECE_BINS
) -> float:
    """ECE = sum over equal-width confidence bins b of (n_b / N) * |accuracy_b - mean conf_b|.

    `confidence` is the probability the model gave to its own prediction, `correct` whether
    that prediction was right. Bins are [0, 0.1), [0.1, 0.2), ..., [0.9, 1.0] for 10 bins.
    """
    conf = np.asarray(confidence, dtype=float)
    hit = np.asarray(correct, dtype=float)
    if conf.size == 0:
        return 0.0
    bins = np.minimum((conf * n_bins).astype(int), n_bins - 1)
    total = 0.0
    for b in range(n_bins):
        in_bin = bins == b
        if in_bin.any():
            gap = abs(hit[in_bin].mean() - conf[in_bin].mean())
            total += in_bin.sum() / conf.size * gap
    return float(total)


def _folds(encoded: IntArray, multi_label: bool, seed: int) -> tuple[Any, int] | str:
    """Choose the splitter; k is the smallest class (or positive) count, capped at 5."""
    if multi_label:
        positives = encoded.sum(axis=0)
        negatives = encoded.shape[0] - positives
        usable = np.minimum(positives, negatives)
        if not np.any(usable >= 2):
            return "need a label that is both applied and not applied at least twice"
        k = int(min(MAX_FOLDS, usable[usable >= 2].min()))
        return KFold(n_splits=k, shuffle=True, random_state=seed), k
    counts = np.bincount(encoded)
    counts = counts[counts > 0]
    if counts.size < 2:
        return "need labels of at least two classes"
    if np.sum(counts >= 2) < 2:
        return "need at least two labels in each of two classes"
    k = int(min(MAX_FOLDS, counts[counts >= 2].min()))
    return StratifiedKFold(n_splits=k, shuffle=True, random_state=seed), k


def evaluate(
    X: Any,
    y: Sequence[Any] | npt.NDArray[Any],
    *,
    multi_label: bool,
    classes: Sequence[Any],
    seed: int,
) -> Metrics:
    """Stratified k-fold cross-validated metrics of `train_model` (see `cross_validate`)."""
    return cross_validate(X, y, multi_label=multi_label, classes=classes, seed=seed)[0]


def cross_validate(
    X: Any,
    y: Sequence[Any] | npt.NDArray[Any],
    *,
    multi_label: bool,
    classes: Sequence[Any],
    seed: int,
) -> tuple[Metrics, FloatArray | None]:
    """Stratified k-fold cross-validated metrics of `train_model` on these labels, and the
    out-of-fold probabilities they were computed from (None when there were too few labels;
    the label-error check reads them).

    Metrics are computed once over the pooled out-of-fold predictions. Single-label:
    accuracy, macro-F1 over the classes present, log loss, ECE on the top-class
    probability. Multi-label: subset (exact-set) accuracy, macro-F1 over labels, mean
    per-label binary log loss, ECE over all (item, label) yes/no decisions.
    """
    encoded = encode_labels(y, classes, multi_label)
    n = int(X.shape[0])
    chosen = _folds(encoded, multi_label, seed)
    if isinstance(chosen, str):
        return Metrics(n_labels=n, reason=chosen), None
    splitter, k = chosen
    n_classes = len(classes)
    oof = np.zeros((n, n_classes))
    strat = encoded if not multi_label else np.zeros(n, dtype=int)
    with warnings.catch_warnings():
        # Classes with a single label cannot appear in every fold; that is expected here.
        warnings.simplefilter("ignore", UserWarning)
        splits = list(splitter.split(np.zeros(n), strat))
    for train_rows, test_rows in splits:
        model = train_model(
            X[train_rows],
            encoded[train_rows],
            multi_label=multi_label,
            classes=list(range(n_classes)) if not multi_label else classes,
            seed=seed,
        )
        oof[test_rows] = model.predict_proba(X[test_rows])

    if multi_label:
        pred = (oof > 0.5).astype(int)
        p = np.clip(oof, _EPS, 1 - _EPS)
        losses = -(encoded * np.log(p) + (1 - encoded) * np.log(1 - p))
        conf = np.maximum(oof, 1 - oof).ravel()
        metrics = Metrics(
            n_labels=n,
            folds=k,
            accuracy=float(np.mean(np.all(pred == encoded, axis=1))),
            macro_f1=float(f1_score(encoded, pred, average="macro", zero_division=0)),
            log_loss=float(losses.mean()),
            ece=expected_calibration_error(conf, (pred == encoded).ravel()),
        )
        return metrics, oof
    pred = oof.argmax(axis=1)
    present = np.unique(encoded)
    proba = np.clip(oof, _EPS, 1.0)
    proba /= proba.sum(axis=1, keepdims=True)
    metrics = Metrics(
        n_labels=n,
        folds=k,
        accuracy=float(accuracy_score(encoded, pred)),
        macro_f1=float(f1_score(encoded, pred, labels=present, average="macro", zero_division=0)),
        log_loss=float(log_loss(encoded, proba, labels=np.arange(n_classes))),
        ece=expected_calibration_error(oof.max(axis=1), pred == encoded),
    )
    return metrics, oof

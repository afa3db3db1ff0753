"""Tests for tasks.learning.train: fitting, cross-validated metrics, calibration, pickling."""

import pickle

import numpy as np
import pytest
from sklearn.datasets import load_digits

from tasks.learning.train import evaluate, expected_calibration_error, train_model


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:600] / 16.0, y[:600]


def test_digits_metrics_are_in_range(digits):
    X, y = digits
    m = evaluate(X, y, multi_label=False, classes=list(range(10)), seed=0)
    assert m.reason is None and m.folds == 5 and m.n_labels == 600
    assert 0.85 < m.accuracy <= 1.0
    assert 0.85 < m.macro_f1 <= 1.0
    assert 0.0 < m.log_loss < 0.6
    assert 0.0 <= m.ece < 0.15
    assert set(m.as_dict()) >= {"accuracy", "macro_f1", "log_loss", "ece", "n_labels"}


def test_model_keeps_project_label_order_and_unused_labels(digits):
    X, y = digits
    names = ["zero", "one", "two", "three", "unused"]
    keep = y < 4
    labels = [names[v] for v in y[keep]]
    model = train_model(X[keep], labels, multi_label=False, classes=names, seed=0)
    proba = model.predict_proba(X[keep][:20])
    assert proba.shape == (20, 5)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert np.all(proba[:, 4] == 0)
    assert np.mean(model.predict(X[keep]) == np.array(labels, dtype=object)) > 0.95
    clone = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(clone.predict_proba(X[:5]), model.predict_proba(X[:5]))
    with pytest.raises(ValueError, match="not one of"):
        train_model(X[:3], ["zero", "ten", "one"], multi_label=False, classes=names, seed=0)


def test_ece_of_a_calibrated_toy_is_near_zero_and_of_an_overconfident_one_is_not():
    rng = np.random.default_rng(0)
    confidence = rng.uniform(0.5, 1.0, 200_000)
    correct = rng.random(confidence.size) < confidence  # right exactly as often as claimed
    assert expected_calibration_error(confidence, correct) < 0.005
    overconfident = np.full(1000, 0.95)
    right_70 = np.arange(1000) < 700
    assert expected_calibration_error(overconfident, right_70) == pytest.approx(0.25)
    assert expected_calibration_error(np.array([1.0, 0.0]), np.array([1, 1])) == pytest.approx(0.5)


def test_too_few_labels_give_none_metrics_with_a_reason():
    X = np.random.default_rng(0).random((6, 3))
    one_class = evaluate(X, [1] * 6, multi_label=False, classes=[0, 1], seed=0)
    assert one_class.accuracy is None and one_class.ece is None
    assert "two classes" in one_class.reason and one_class.n_labels == 6
    singletons = evaluate(X[:3], [0, 1, 2], multi_label=False, classes=[0, 1, 2], seed=0)
    assert singletons.accuracy is None and singletons.reason
    # one class with a single label is fine: k adapts to the smallest usable class.
    ok = evaluate(X, [0, 0, 0, 1, 1, 2], multi_label=False, classes=[0, 1, 2], seed=0)
    assert ok.reason is None and ok.folds == 2 and 0 <= ok.accuracy <= 1


def test_a_single_class_still_trains_a_usable_model():
    X = np.random.default_rng(0).random((4, 3))
    model = train_model(X, ["b"] * 4, multi_label=False, classes=["a", "b"], seed=0)
    proba = model.predict_proba(X)
    assert proba.shape == (4, 2) and np.all(proba[:, 1] == 1.0)
    assert list(model.predict(X)) == ["b"] * 4


def test_multilabel_one_vs_rest_and_metrics():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 3))
    Y = np.column_stack([X[:, 0] > 0, X[:, 1] > 0.5, np.zeros(300)]).astype(int)
    model = train_model(X, Y, multi_label=True, classes=["a", "b", "never"], seed=0)
    proba = model.predict_proba(X)
    assert proba.shape == (300, 3) and np.all(proba[:, 2] < 0.01)
    assert np.mean(model.predict(X) == Y.astype(bool)) > 0.95
    as_lists = [[c for c, v in zip(["a", "b", "never"], row, strict=True) if v] for row in Y]
    same = train_model(X, as_lists, multi_label=True, classes=["a", "b", "never"], seed=0)
    np.testing.assert_allclose(same.predict_proba(X), proba)
    m = evaluate(X, Y, multi_label=True, classes=["a", "b", "never"], seed=0)
    assert m.reason is None and 0.8 < m.accuracy <= 1 and 0 <= m.ece < 0.1
    assert 0 < m.log_loss < 0.3
    none = evaluate(X[:3], Y[:3] * 0, multi_label=True, classes=["a", "b", "never"], seed=0)
    assert none.accuracy is None and none.reason


def test_strategies_and_default_follow_project_strategy():
    """``Project.Strategy`` is the source of the strategies and the default (the one the
    label-efficiency benchmark chose); the numeric code keeps its own copy because it may
    not import Django. This is the one check that the copy is in step."""
    from annotation.models import Project
    from tasks.learning import DEFAULT_STRATEGY, STRATEGIES

    assert tuple(STRATEGIES) == tuple(Project.Strategy.values)
    assert Project._meta.get_field("strategy").default == DEFAULT_STRATEGY

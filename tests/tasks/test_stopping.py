"""Stabilizing predictions on plain arrays (tasks.learning.stopping): Cohen's kappa between
two models' predictions and the stop rule; no Django."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score

from tasks.learning.stopping import prediction_kappa, stop_signal


def test_kappa_matches_scikit_learn_on_random_predictions():
    rng = np.random.default_rng(0)
    for _ in range(20):
        a = rng.integers(0, 4, size=300)
        b = np.where(rng.random(300) < 0.7, a, rng.integers(0, 4, size=300))
        assert prediction_kappa(a, b) == pytest.approx(cohen_kappa_score(a, b))
        names = np.array(["cat", "dog", "owl", "yak"])
        assert prediction_kappa(names[a], names[b]) == pytest.approx(cohen_kappa_score(a, b))


def test_kappa_edge_cases():
    assert prediction_kappa([], []) is None
    assert prediction_kappa(["a"] * 5, ["a"] * 5) == 1.0  # one class everywhere: agree
    assert prediction_kappa([1, 0, 1], [1, 0, 1]) == 1.0
    with pytest.raises(ValueError):
        prediction_kappa([1, 2], [1])


def test_stop_needs_the_whole_window_at_or_above_the_threshold():
    assert not stop_signal([None, 0.995, 0.999]).stop  # two comparisons of three
    assert stop_signal([None, 0.995, 0.999, 1.0]).stop
    assert stop_signal([0.5, 0.99, 0.991, 1.0]).recent == (0.99, 0.991, 1.0)
    assert not stop_signal([0.999, 0.98, 0.999, 1.0]).stop  # one dip in the window
    assert not stop_signal([0.999, 0.999, None]).stop  # the newest could not be compared
    assert stop_signal([0.95, 0.96], threshold=0.95, window=2).stop

"""Confident learning on plain arrays (tasks.learning.label_errors): per-class thresholds,
the candidates they give, and the ranking; no Django."""

from __future__ import annotations

import numpy as np
import pytest

from tasks.learning.label_errors import (
    find_label_errors,
    normalized_margin,
    per_class_thresholds,
)


def test_thresholds_are_each_class_mean_self_confidence():
    proba = np.array(
        [[0.9, 0.1], [0.7, 0.3], [0.5, 0.5], [0.2, 0.8], [0.4, 0.6], [0.1, 0.9]], dtype=float
    )
    given = np.array([0, 0, 0, 1, 1, 1])
    t = per_class_thresholds(proba, given, min_per_class=1)
    assert t == pytest.approx([(0.9 + 0.7 + 0.5) / 3, (0.8 + 0.6 + 0.9) / 3])


def test_a_class_with_too_few_labels_gets_no_threshold_and_is_not_checked():
    proba = np.array([[0.9, 0.1, 0.0]] * 5 + [[0.1, 0.9, 0.0]] * 5 + [[0.95, 0.05, 0.0]])
    given = np.array([0] * 5 + [1] * 5 + [2])  # class 2: one label, probability 0 out of fold
    found = find_label_errors(proba, given, min_per_class=5)
    assert np.isnan(found.thresholds[2])
    assert found.checked == 10
    assert found.rows.size == 0  # the lone class-2 row is not flagged


def test_candidates_follow_per_class_thresholds_not_a_fixed_cut_off():
    # Class 1 is a class the model is unsure of: its own rows have p1 of about 0.4. A class-0
    # row with p1 = 0.45 is above class 1's threshold, so it is flagged, although 0.45 would
    # pass any fixed "p_other > 0.5" rule; a class-0 row at p1 = 0.3 is not.
    rows0 = [[0.9, 0.1]] * 6 + [[0.55, 0.45], [0.7, 0.3]]
    rows1 = [[0.6, 0.4]] * 3 + [[0.62, 0.38]] * 3
    proba = np.array(rows0 + rows1)
    given = np.array([0] * 8 + [1] * 6)
    found = find_label_errors(proba, given)
    t0, t1 = found.thresholds
    assert t1 == pytest.approx(0.39)
    assert t0 == pytest.approx((6 * 0.9 + 0.55 + 0.7) / 8)
    # Row 6 (p1 0.45 >= t1, p0 0.55 < t0) is flagged; its confident label is 1. The class-1
    # rows with p0 0.6 are below t0 (0.83), and at or above their own threshold: not flagged.
    assert found.rows.tolist() == [6]
    assert found.suggested.tolist() == [1]
    assert found.given_proba == pytest.approx([0.55])
    assert found.suggested_proba == pytest.approx([0.45])


def test_the_confident_label_is_the_most_probable_class_above_its_threshold():
    # Three classes; row 9 (given 0) has p1 and p2 both above their thresholds: suggested 2.
    proba = np.array(
        [[0.8, 0.1, 0.1]] * 3 + [[0.1, 0.6, 0.3]] * 3 + [[0.1, 0.3, 0.6]] * 3 + [[0.05, 0.35, 0.6]]
    )
    given = np.array([0] * 3 + [1] * 3 + [2] * 3 + [0])
    found = find_label_errors(proba, given, min_per_class=3)
    assert found.rows.tolist() == [9]
    assert found.suggested.tolist() == [2]


def test_candidates_are_ranked_by_normalized_margin_most_likely_wrong_first():
    proba = np.array([[0.9, 0.1]] * 5 + [[0.3, 0.7]] * 5 + [[0.2, 0.8], [0.05, 0.95], [0.3, 0.7]])
    given = np.array([0] * 5 + [1] * 5 + [0, 0, 0])
    found = find_label_errors(proba, given)
    assert found.rows.tolist() == [11, 10, 12]
    margins = normalized_margin(proba[found.rows], given[found.rows])
    assert margins.tolist() == pytest.approx([-0.9, -0.6, -0.4])
    assert found.score == pytest.approx((1 - margins) / 2)
    assert np.all(np.diff(found.score) <= 0)


def test_clean_labels_with_confident_probabilities_flag_nothing():
    rng = np.random.default_rng(0)
    given = rng.integers(0, 4, size=200)
    proba = np.full((200, 4), 0.02)
    proba[np.arange(200), given] = 0.94
    found = find_label_errors(proba, given)
    assert found.rows.size == 0 and found.checked == 200


def test_planted_flips_are_found_on_noisy_probabilities():
    rng = np.random.default_rng(3)
    n, k = 600, 3
    truth = rng.integers(0, k, size=n)
    logits = rng.normal(0, 1, size=(n, k))
    logits[np.arange(n), truth] += 3.0
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    given = truth.copy()
    flipped = rng.choice(n, size=60, replace=False)
    given[flipped] = (truth[flipped] + 1) % k
    found = find_label_errors(proba, given)
    hits = np.isin(found.rows, flipped)
    assert hits.mean() >= 0.8  # precision
    assert hits.sum() / flipped.size >= 0.8  # recall
    assert hits[:20].all()  # the top of the list is all planted flips


def test_shapes_are_checked():
    with pytest.raises(ValueError, match="rows"):
        find_label_errors(np.zeros((3, 2)), np.zeros(4, dtype=int))

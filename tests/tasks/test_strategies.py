"""Tests for tasks.learning.strategies and score: each strategy picks what it should."""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import make_blobs

from tasks.learning.score import (
    batch_priorities,
    cold_start_priorities,
    exploration_count,
    score_chunk,
)
from tasks.learning.strategies import (
    diverse_seed,
    proba_scores,
    rank_batch,
    uncertainty_scores,
)
from tasks.learning.train import TrainedModel, _SingleLabel, train_model


@pytest.fixture(scope="module")
def separable_model():
    rng = np.random.default_rng(0)
    X = np.vstack([rng.uniform(-3, -1, (20, 2)), rng.uniform(1, 3, (20, 2))])
    y = ["neg"] * 20 + ["pos"] * 20
    return train_model(X, y, multi_label=False, classes=["neg", "pos"], seed=0)


POOL = np.array([[-2.5, -2.5], [2.5, 2.5], [0.05, -0.05], [-1.5, -1.0], [1.2, 1.6]])


@pytest.mark.parametrize("strategy", ["uncertainty", "margin", "entropy"])
def test_uncertainty_strategies_pick_the_boundary_point(separable_model, strategy):
    scores = uncertainty_scores(separable_model, POOL, strategy, seed=0)
    assert scores.shape == (5,)
    assert np.all((scores >= 0) & (scores <= 1))
    assert int(np.argmax(scores)) == 2
    assert scores[2] > 0.5  # near the boundary: p close to 0.5
    assert scores[0] < 0.2 and scores[1] < 0.2


def test_least_confidence_margin_and_entropy_differ_on_three_classes():
    proba = np.array([[0.50, 0.49, 0.01], [0.40, 0.30, 0.30]])
    lc = proba_scores(proba, "uncertainty", multi_label=False)
    margin = proba_scores(proba, "margin", multi_label=False)
    entropy = proba_scores(proba, "entropy", multi_label=False)
    np.testing.assert_allclose(lc, [0.5 / (2 / 3), 0.6 / (2 / 3)])
    np.testing.assert_allclose(margin, [0.99, 0.90])
    assert np.argmax(lc) == 1 and np.argmax(margin) == 0 and np.argmax(entropy) == 1
    flat = proba_scores(np.full((1, 3), 1 / 3), "entropy", multi_label=False)
    np.testing.assert_allclose(flat, 1.0)


def test_multilabel_uncertainty_is_mean_of_per_label_binary_scores():
    p = np.array([[0.5, 0.99], [0.9, 0.9]])  # P(label applies) for 2 labels
    scores = proba_scores(p, "uncertainty", multi_label=True)
    np.testing.assert_allclose(scores, [(1.0 + 0.02) / 2, (0.2 + 0.2) / 2])


class _Fixed:
    def __init__(self, proba):
        self.proba = np.asarray(proba, dtype=float)

    def predict_proba(self, X):
        return self.proba


def _committee_model(member_rows, core_rows):
    members = tuple(_SingleLabel(_Fixed(p), np.arange(2), 2) for p in member_rows)
    core = _SingleLabel(_Fixed(core_rows), np.arange(2), 2)
    return TrainedModel(("a", "b"), False, core, members, 10)


def test_committee_picks_where_members_disagree_not_where_each_is_unsure():
    # row 0: every member unsure but agreeing; row 1: members confident and split 3-2;
    # row 2: confident agreement.
    agree_unsure, split, agree_sure = [0.55, 0.45], None, [0.99, 0.01]
    members = []
    for k in range(5):
        split = [0.99, 0.01] if k < 3 else [0.01, 0.99]
        members.append([agree_unsure, split, agree_sure])
    core = np.mean(members, axis=0)
    model = _committee_model(members, core)
    qbc = uncertainty_scores(model, np.zeros((3, 1)), "committee", seed=0)
    lc = uncertainty_scores(model, np.zeros((3, 1)), "uncertainty", seed=0)
    assert int(np.argmax(qbc)) == 1
    assert qbc[0] < 0.05 and qbc[2] < 0.05
    assert int(np.argmax(lc)) == 0  # plain least confidence would have picked the other


def test_committee_from_bootstrap_members_disagrees_near_the_boundary():
    rng = np.random.default_rng(1)
    X = np.vstack([rng.normal(-1, 0.8, (15, 1)), rng.normal(1, 0.8, (15, 1))])
    y = [0] * 15 + [1] * 15
    model = train_model(X, y, multi_label=False, classes=[0, 1], seed=3, committee_size=5)
    assert len(model.committee) == 5
    pool = np.array([[-4.0], [0.0], [4.0]])
    scores = uncertainty_scores(model, pool, "committee", seed=0)
    assert int(np.argmax(scores)) == 1
    plain = train_model(X, y, multi_label=False, classes=[0, 1], seed=3)
    with pytest.raises(ValueError, match="committee"):
        uncertainty_scores(plain, pool, "committee", seed=0)


def test_random_is_seeded_and_reproducible(separable_model):
    a = uncertainty_scores(separable_model, np.zeros((50, 2)), "random", seed=7)
    b = uncertainty_scores(separable_model, np.zeros((50, 2)), "random", seed=7)
    c = uncertainty_scores(separable_model, np.zeros((50, 2)), "random", seed=8)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    with pytest.raises(ValueError):
        uncertainty_scores(separable_model, POOL, "bogus", seed=0)


@pytest.mark.parametrize("n", [4, 8])
def test_diverse_seed_covers_every_blob(n):
    # unequal blob sizes: a random draw of 4 would often miss the small blob.
    X, blob = make_blobs(
        n_samples=[400, 200, 60, 20],
        centers=[[0, 0], [10, 0], [0, 10], [10, 10]],
        cluster_std=0.5,
        random_state=0,
    )
    picks = diverse_seed(X, n, seed=0)
    assert len(picks) == n == len(set(picks.tolist()))
    assert set(blob[picks].tolist()) == {0, 1, 2, 3}
    sparse_picks = diverse_seed(sp.csr_matrix(np.hstack([X, np.zeros((680, 3))]) + 20), n, 0)
    assert set(blob[sparse_picks].tolist()) == {0, 1, 2, 3}


@pytest.mark.parametrize("method", ["ranked", "density"])
def test_rank_batch_skips_a_near_duplicate_for_a_distinct_candidate(method):
    # candidates 0 and 1 are near-duplicates, most uncertain; 2 is distinct and almost as
    # uncertain; 3-5 are less uncertain. Labeled rows lie elsewhere.
    X_cand = np.array(
        [
            [1.0, 0.0, 0.0],
            [0.999, 0.01, 0.0],
            [0.0, 1.0, 0.1],
            [0.6, 0.6, 0.1],
            [0.5, 0.4, 0.4],
            [0.3, 0.5, 0.6],
        ]
    )
    scores = np.array([0.90, 0.895, 0.885, 0.60, 0.55, 0.5])
    X_lab = np.array([[0.0, 0.0, 1.0], [0.1, 0.0, 1.0]])
    order = rank_batch(scores, X_cand, X_lab, 3, method=method)
    assert len(order) == 3 and len(set(order.tolist())) == 3
    assert not {0, 1} <= set(order[:2].tolist())
    assert 2 in order[:2].tolist()
    # no diversity needed: distinct candidates keep the score order
    spread = np.eye(6)
    assert rank_batch(scores, spread, X_lab[:0] if method == "ranked" else None, 1, method=method)[
        0
    ] in (0, 1, 2)


def test_score_chunk_single_label(separable_model):
    priority, labels, confidence = score_chunk(separable_model, POOL, "margin", seed=0)
    assert priority.shape == (5,) and np.all((priority >= 0) & (priority < 1))
    assert labels[0] == "neg" and labels[1] == "pos"
    assert np.all((confidence >= 0.5) & (confidence <= 1))
    assert int(np.argmin(confidence)) == 2


def test_score_chunk_multi_label_predicts_sets_and_joint_confidence():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 2))
    Y = np.column_stack([X[:, 0] > 0, X[:, 1] > 0]).astype(int)
    model = train_model(X, Y, multi_label=True, classes=["x", "y"], seed=0)
    pool = np.array([[3.0, 3.0], [-3.0, 3.0], [-3.0, -3.0], [0.0, 0.0]])
    priority, labels, confidence = score_chunk(model, pool, "entropy", seed=0)
    assert labels[:3] == [["x", "y"], ["y"], []]
    proba = model.predict_proba(pool)
    np.testing.assert_allclose(confidence, np.prod(np.maximum(proba, 1 - proba), axis=1))
    assert int(np.argmax(priority)) == 3 and int(np.argmin(confidence)) == 3


def test_batch_priorities_serve_the_batch_first_with_exploration():
    rng = np.random.default_rng(0)
    scores = np.linspace(0.9, 0.5, 50)
    X_top, X_rand, X_lab = rng.random((50, 4)), rng.random((5, 4)), rng.random((10, 4))
    plan = batch_priorities(
        scores, X_top, X_lab, batch_size=10, seed=0, X_random=X_rand[: exploration_count(10)]
    )
    served = plan.candidates >= 1
    assert served.sum() == 9 and np.all(plan.random >= 1) and plan.random.shape == (1,)
    assert np.all(plan.candidates[~served] < 1)
    allp = np.concatenate([plan.candidates[served], plan.random])
    assert len(set(allp.tolist())) == 10 and allp.max() <= 2
    plain = batch_priorities(scores, X_top, X_lab, batch_size=10, seed=0, batch_mode=False)
    assert np.array_equal(np.flatnonzero(plain.candidates >= 1), np.arange(10))
    assert np.all(np.diff(plain.candidates[:10]) < 0)


def test_cold_start_priorities_put_the_diverse_seed_first():
    X, blob = make_blobs(n_samples=[300, 30, 30], cluster_std=0.3, random_state=1)
    priority = cold_start_priorities(X, 3, seed=0)
    first = np.argsort(-priority)[:3]
    assert np.all(priority[first] >= 1) and np.sum(priority >= 1) == 3
    assert set(blob[first].tolist()) == {0, 1, 2}


# ----- issue 12: class-aware batches, cold start on embedding directions -------------------------
def test_class_aware_batch_spreads_over_predicted_classes_and_favours_rare_ones():
    # 12 candidates on distinct directions; the 6 most uncertain are all predicted "a",
    # which already has many labels; "b" and "c" have few.
    rng = np.random.default_rng(0)
    X = rng.normal(size=(12, 40))
    scores = np.linspace(0.9, 0.6, 12)
    predicted = np.array(["a"] * 6 + ["b"] * 3 + ["c"] * 3)
    labeled = np.array(["a"] * 20 + ["b"] * 2 + ["c"] * 2)
    plain = rank_batch(scores, X, None, 4, method="density")
    assert set(predicted[plain].tolist()) == {"a"}  # without it: all four from class a
    aware = rank_batch(
        scores, X, None, 4, method="density", predicted=predicted, labeled_classes=labeled
    )
    assert len(set(aware.tolist())) == 4
    assert np.sum(predicted[aware] == "a") <= 2 and "b" in predicted[aware].tolist()
    # with balanced labels and one predicted class the order is the plain one
    same = rank_batch(
        scores, X, None, 4, method="density", predicted=["a"] * 12, labeled_classes=["a", "b"]
    )
    assert same.tolist() == plain.tolist()
    with pytest.raises(ValueError, match="shape"):
        rank_batch(scores, X, None, 4, method="density", predicted=["a"] * 3)


def test_batch_priorities_pass_the_class_information_on():
    X = np.random.default_rng(1).normal(size=(10, 20))
    scores = np.linspace(0.9, 0.5, 10)
    predicted = np.array([0] * 5 + [1] * 5)
    plan = batch_priorities(
        scores,
        X,
        None,
        batch_size=4,
        seed=0,
        predicted=predicted,
        labeled_classes=np.array([0] * 30 + [1]),
    )
    batch = np.flatnonzero(plan.candidates >= 1.0)
    assert len(batch) == 4 and np.sum(predicted[batch] == 1) >= 2


def test_diverse_seed_on_embeddings_follows_directions_not_lengths():
    # three topics 30 degrees apart (directions), rows of lengths 1..30 along each. Clustered
    # as points, the lengths cut the fan into bands and a topic is missed; on the sphere
    # (cosine), every topic gets its pick.
    rng = np.random.default_rng(0)
    topic = np.repeat(np.arange(3), 100)
    angle = np.radians(np.array([0, 30, 60]))[topic] + rng.normal(scale=0.03, size=300)
    length = rng.uniform(1, 30, 300)
    X = rng.normal(scale=0.01, size=(300, 16))
    X[:, 0], X[:, 1] = np.cos(angle) * length, np.sin(angle) * length
    for seed in (0, 1):
        assert set(topic[diverse_seed(X, 3, seed=seed, cosine=True)].tolist()) == {0, 1, 2}
    assert set(topic[diverse_seed(X, 3, seed=0)].tolist()) != {0, 1, 2}
    cold = cold_start_priorities(X, 3, 0, cosine=True)
    assert set(topic[np.argsort(-cold)[:3]].tolist()) == {0, 1, 2}

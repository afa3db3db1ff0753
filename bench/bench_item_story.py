"""An item's story at scale: `GET items/{id}/` (and the story page's prev/next) on PostgreSQL.

    python bench/bench_item_story.py [--items 1000000] [--requests 300] [--keep] [--reuse]

Builds a fresh database (skein_bench_item_story) with one big project filled by SQL: --items
items (text, a team prediction each, model scores), two annotations per item (20 labelers,
with the suggestion shown or hidden), a skip per 50 items, a flag per 50, a comment per 100,
a review per 100, ten model versions with a 1,000-item stop set, a label-error list per
version, and an audit trail (an item event per 10 items among one unrelated event per
item), then ANALYZEs. A second, small project is there so nothing is alone in its table.

Times --requests stories of random items (stop-set items and flagged ones among them)
through Django's full request stack (the test client, a session login: authentication,
middleware, the view, JSON rendering), for a manager and a reviewer taking turns, and
prints p50/p95/max in ms with the query count; then the story page's prev/next
(`annotation.story.item_neighbours`) under `ordering=-priority&state=open`. Target: the
story p95 ≤ 50 ms. bench/README.md has the figures. --keep leaves the database in place;
--reuse measures a database kept before (a build takes a quarter of an hour at 1M items).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import contextlib
import shutil
from collections.abc import Iterator

from scale_common import bench_env, db_create, django_setup, log, machine, migrate, percentile

DB_NAME = "skein_bench_item_story"


@contextlib.contextmanager
def database(*, reuse: bool, keep: bool) -> Iterator[dict[str, str]]:
    """The benchmark's database: fresh and migrated, or the one kept by an earlier run."""
    var_dir = f"/tmp/{DB_NAME}_var"
    env = bench_env(DB_NAME, var_dir)
    if not reuse:
        shutil.rmtree(var_dir, ignore_errors=True)
        db_create(DB_NAME)
        migrate(env)
    try:
        yield env
    finally:
        if not keep:
            from django.db import connections
            from scale_common import db_drop

            connections.close_all()
            db_drop(DB_NAME)
            shutil.rmtree(var_dir, ignore_errors=True)


LABELERS = 20
STOP_SET = 1000
VERSIONS = 10


def fill(project_id: int, labeler_ids: list[int], manager_id: int, n_items: int) -> None:
    """The big project, by set-based SQL (minutes at a million items, not hours)."""
    from django.db import connection

    first_labeler, last_labeler = min(labeler_ids), max(labeler_ids)
    assert last_labeler - first_labeler + 1 == LABELERS
    steps = [
        (
            "items",
            """INSERT INTO annotation_item (project_id, external_id, data, is_gold, state,
                handed_out, annotation_count, lease_count, priority, random_key,
                predicted_labels, confidence, scored_by_version, suggested_by, created_at,
                updated_at)
            SELECT %(p)s, 'it-' || g, jsonb_build_object('text', 'review number ' || g
                    || ' of a film that some liked and some did not', 'source', 'web'),
                false, CASE WHEN g %% 3 = 0 THEN 'open' ELSE 'complete' END, true,
                2, 0, random(), random(), '["pos"]'::jsonb, random(), %(v)s, NULL,
                now() - interval '30 days', now()
            FROM generate_series(1, %(n)s) g""",
        ),
        (
            "annotations",
            """INSERT INTO annotation_annotation (project_id, item_id, labeler_id, labels,
                guideline_version, duration_ms, suggestion, is_gold, is_counted, created_at,
                updated_at)
            SELECT %(p)s, i.id, %(l0)s + ((i.id + k) %% %(nl)s),
                CASE WHEN (i.id + k) %% 4 = 0 THEN '["neg"]'::jsonb ELSE '["pos"]'::jsonb END,
                1 + (i.id %% 3), 1000 + (i.id %% 5000),
                jsonb_build_object('labels', '["pos"]'::jsonb, 'confidence', 0.8,
                    'model_version', 3, 'shown', (i.id + k) %% 2 = 0),
                false, true, now() - interval '20 days', now() - interval '20 days'
            FROM annotation_item i, generate_series(0, 1) k WHERE i.project_id = %(p)s""",
        ),
        (
            "skips",
            """INSERT INTO annotation_assignment (project_id, item_id, labeler_id, state,
                guideline_version, is_gold, skip_reason, created_at, expires_at, closed_at)
            SELECT %(p)s, i.id, %(l0)s + ((i.id + 5) %% %(nl)s), 'skipped', 1, false,
                'not sure', now(), now(), now()
            FROM annotation_item i WHERE i.project_id = %(p)s AND i.id %% 50 = 0""",
        ),
        (
            "team predictions",
            """INSERT INTO annotation_itemprediction (project_id, item_id, source,
                model_version, labels, score, created_at)
            SELECT %(p)s, i.id, 'import', 'team-v1', '["pos"]'::jsonb, 0.7, now()
            FROM annotation_item i WHERE i.project_id = %(p)s""",
        ),
        (
            "flags",
            """INSERT INTO annotation_itemflag (project_id, item_id, user_id, reason, comment,
                guideline_version, created_at)
            SELECT %(p)s, i.id, %(l0)s + (i.id %% %(nl)s), 'unsure', 'is this sarcasm?', 1,
                now()
            FROM annotation_item i WHERE i.project_id = %(p)s AND i.id %% 50 = 1""",
        ),
        (
            "comments",
            """INSERT INTO annotation_itemcomment (project_id, item_id, author_id, body,
                created_at)
            SELECT %(p)s, i.id, %(m)s, 'check the source', now()
            FROM annotation_item i WHERE i.project_id = %(p)s AND i.id %% 100 = 1""",
        ),
        (
            "reviews",
            """INSERT INTO quality_review (project_id, item_id, reviewer_id, labels, note,
                created_at)
            SELECT %(p)s, i.id, %(m)s, '["pos"]'::jsonb, 'decided', now()
            FROM annotation_item i WHERE i.project_id = %(p)s AND i.id %% 100 = 2""",
        ),
        (
            "audit",
            """INSERT INTO annotation_auditevent (actor_id, project_id, project_ref_id,
                project_name, action, target, details, item_id, created_at)
            SELECT %(m)s, %(p)s, %(p)s, 'big', CASE WHEN i.id %% 10 = 0 THEN 'item.gold_set'
                    ELSE 'export.made' END, i.external_id, '{}'::jsonb,
                CASE WHEN i.id %% 10 = 0 THEN i.id END, now()
            FROM annotation_item i WHERE i.project_id = %(p)s""",
        ),
    ]
    params = {
        "p": project_id,
        "n": n_items,
        "v": VERSIONS,
        "l0": first_labeler,
        "nl": LABELERS,
        "m": manager_id,
    }
    with connection.cursor() as cursor:
        for name, sql in steps:
            started = time.perf_counter()
            cursor.execute(sql, params)
            log(f"{name}: {cursor.rowcount} rows in {time.perf_counter() - started:.1f} s")


def models_and_errors(project: object) -> list[int]:
    """Ten model versions, a stop set predicted by each, a label-error list per version."""
    from annotation.models import Item
    from quality.models import LabelError, LabelErrorList
    from tasks.models import ModelVersion, StopSetItem, StopSetPrediction

    stop_ids = list(
        Item.objects.filter(project=project)
        .order_by("random_key")
        .values_list("id", flat=True)[:STOP_SET]
    )
    StopSetItem.objects.bulk_create(StopSetItem(project=project, item_id=i) for i in stop_ids)
    for v in range(1, VERSIONS + 1):
        version = ModelVersion.objects.create(project=project, version=v, state="retired")
        StopSetPrediction.objects.bulk_create(
            StopSetPrediction(version=version, item_id=i, labels=["pos"]) for i in stop_ids
        )
        errors = LabelErrorList.objects.create(project=project, model_version=v, flagged=100)
        LabelError.objects.bulk_create(
            LabelError(
                error_list=errors,
                item_id=item_id,
                rank=rank + 1,
                given="pos",
                suggested="neg",
                score=0.4,
                given_proba=0.2,
                suggested_proba=0.7,
            )
            for rank, item_id in enumerate(stop_ids[:100])
        )
    return stop_ids


def time_baseline(client: object, project_id: int, n: int) -> list[float]:
    """A trivial API request through the same stack (the project's detail: authentication
    and two small queries), to read the story's cost as a ratio on a loaded machine."""
    times = []
    for _ in range(n):
        started = time.perf_counter()
        response = client.get(f"/api/v1/projects/{project_id}/")  # type: ignore[attr-defined]
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200
    return times


def explain(queries: list[dict[str, str]]) -> list[tuple[float, list[str]]]:
    """Each of one story's queries run again under EXPLAIN ANALYZE: (server execution ms,
    the tables its plan reads sequentially)."""
    from django.db import connection

    out = []
    with connection.cursor() as cursor:
        for q in queries:
            cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + q["sql"])
            plan = cursor.fetchone()[0][0]
            scanned = sorted(_seq_scans(plan["Plan"]))
            out.append((float(plan["Execution Time"]), scanned))
    return out


def _seq_scans(node: dict[str, object]) -> set[str]:
    """The tables a plan reads sequentially (tiny ones, as users, are read so on purpose)."""
    found = set()
    if node.get("Node Type") == "Seq Scan":
        found.add(str(node.get("Relation Name")))
    for child in node.get("Plans", []) or []:  # type: ignore[attr-defined]
        found |= _seq_scans(child)
    return found


def time_stories(clients: dict[str, object], ids: list[int]) -> dict[str, list[float]]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    times: dict[str, list[float]] = {role: [] for role in clients}
    queries: dict[str, set[int]] = {role: set() for role in clients}
    for n, item_id in enumerate(ids):
        role = list(clients)[n % len(clients)]
        client = clients[role]
        with CaptureQueriesContext(connection) as ctx:
            started = time.perf_counter()
            response = client.get(f"/api/v1/items/{item_id}/")  # type: ignore[attr-defined]
            elapsed = (time.perf_counter() - started) * 1000
        assert response.status_code == 200, response.content[:200]
        times[role].append(elapsed)
        queries[role].add(len(ctx.captured_queries))
    for role in clients:
        log(f"{role}: queries per story {sorted(queries[role])}")
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--reuse", action="store_true")
    args = parser.parse_args()
    with database(reuse=args.reuse, keep=args.keep or args.reuse) as env:
        django_setup(env)
        from django.contrib.auth import get_user_model
        from django.db import connection
        from django.test import Client

        from annotation.models import Item, Membership, Project
        from annotation.story import item_neighbours
        from tasks.models import StopSetItem

        User = get_user_model()
        if args.reuse:
            manager, reviewer = User.objects.get(username="boss"), User.objects.get(username="rev")
            project = Project.objects.get(name="big")
            stop_ids = list(StopSetItem.objects.values_list("item_id", flat=True))
            args.items = Item.objects.filter(project=project).count()
        else:
            manager = User.objects.create_user("boss", password="x")
            reviewer = User.objects.create_user("rev", password="x")
            labelers = [User.objects.create_user(f"lab{n}", password="x") for n in range(LABELERS)]
            project = Project.objects.create(
                name="big", suggestions="ab", private_fields=["source"]
            )
            Project.objects.create(name="small")
            Membership.objects.create(project=project, user=manager, role="manager")
            Membership.objects.create(project=project, user=reviewer, role="reviewer")
            Membership.objects.bulk_create(
                Membership(project=project, user=u, role="labeler") for u in labelers
            )
            started = time.perf_counter()
            fill(project.pk, [u.pk for u in labelers], manager.pk, args.items)
            stop_ids = models_and_errors(project)
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
            log(f"built in {time.perf_counter() - started:.0f} s")

        rng = random.Random(7)
        lo, hi = (
            Item.objects.filter(project=project).order_by("id").values_list("id", flat=True)[:1][0],
            Item.objects.filter(project=project)
            .order_by("-id")
            .values_list("id", flat=True)[:1][0],
        )
        ids = [rng.randint(lo, hi) for _ in range(args.requests)]
        ids[::5] = rng.sample(stop_ids, len(ids[::5]))  # a fifth with ten versions' predictions
        clients = {}
        for role, user in (("manager", manager), ("reviewer", reviewer)):
            client = Client(HTTP_HOST="127.0.0.1")
            client.force_login(user)
            clients[role] = client
        time_stories(clients, ids[:20])  # warm-up: connections, caches
        baseline: list[float] = []
        times: dict[str, list[float]] = {role: [] for role in clients}
        for chunk in range(0, len(ids), 20):  # alternate story and baseline, 20 at a time
            for role, values in time_stories(clients, ids[chunk : chunk + 20]).items():
                times[role].extend(values)
            baseline.extend(time_baseline(clients["manager"], project.pk, 10))
        print(f"# item story, {args.items:,} items, {2 * args.items:,} annotations; {machine()}")
        base = statistics.median(baseline)
        print(
            f"baseline GET projects/{{id}}/ n={len(baseline)} p50={base:.1f} ms "
            f"p95={percentile(baseline, 95):.1f} ms"
        )
        for role, values in times.items():
            print(
                f"story {role:8s} n={len(values)} p50={statistics.median(values):.1f} ms "
                f"p95={percentile(values, 95):.1f} ms max={max(values):.1f} ms "
                f"(p50 {statistics.median(values) / base:.1f}x the baseline)"
            )
        # The same stories read without the request stack: the selector alone, and its
        # slowest query (what the database costs, apart from Python and the machine's load).
        from django.test.utils import CaptureQueriesContext

        from annotation.selectors import item_for
        from annotation.story import item_story

        direct, slowest = [], []
        per_query: dict[int, tuple[str, list[float]]] = {}
        for item_id in ids:
            with CaptureQueriesContext(connection) as ctx:
                started = time.perf_counter()
                item, role = item_for(user=manager, item_id=item_id, purpose="story")
                item_story(item=item, role=role)
                direct.append((time.perf_counter() - started) * 1000)
            slowest.append(max(float(q["time"]) * 1000 for q in ctx.captured_queries))
            for n, q in enumerate(ctx.captured_queries):
                per_query.setdefault(n, (q["sql"][:90], []))[1].append(float(q["time"]) * 1000)
        print(
            f"story selector (manager) n={len(direct)} p50={statistics.median(direct):.1f} ms "
            f"p95={percentile(direct, 95):.1f} ms; its slowest query p50="
            f"{statistics.median(slowest):.1f} ms p95={percentile(slowest, 95):.1f} ms"
        )
        with CaptureQueriesContext(connection) as ctx:
            item, role = item_for(user=manager, item_id=stop_ids[0], purpose="story")
            item_story(item=item, role=role)
        plans = explain(ctx.captured_queries)
        print(
            f"EXPLAIN ANALYZE of a stop-set item's {len(plans)} queries: server time "
            f"{sum(p[0] for p in plans):.2f} ms in all, slowest {max(p[0] for p in plans):.2f} ms,"
            f" tables read sequentially: {sorted({t for p in plans for t in p[1]}) or 'none'}"
        )
        if os.environ.get("BENCH_PER_QUERY"):
            for n, (sql, values) in sorted(per_query.items()):
                print(f"  query {n}: p50={statistics.median(values):.2f} ms  {sql}")
        neighbour_times = []
        params = {"ordering": "-priority", "state": "open"}
        for item_id in ids[:100]:
            item = Item.objects.select_related("project").get(pk=item_id)
            started = time.perf_counter()
            item_neighbours(
                project=project, item=item, viewer=manager, role="manager", params=params
            )
            neighbour_times.append((time.perf_counter() - started) * 1000)
        print(
            f"prev/next (-priority, state=open) n={len(neighbour_times)} "
            f"p50={statistics.median(neighbour_times):.1f} ms "
            f"p95={percentile(neighbour_times, 95):.1f} ms"
        )


if __name__ == "__main__":
    main()

"""A cached PostgreSQL database with one big project for the workbench benchmarks: by default
1,000,000 items and 2,000,000 annotations, built once and reused (idempotent).

    .venv/bin/python bench/workbench_data.py [--items 1000000] [--db skein_bench_workbench]

Run it again and it only migrates (when the code has new migrations) and checks the project:
the data is rebuilt only when the project is missing or was built with other sizes or
another ``VERSION``. Other benchmarks reuse it with ``workbench_project()``. Rows are
inserted in SQL (``generate_series``) in a few minutes; what they hold:

- items: movie-review sentences as ``text``; ``lang`` (en 60%, fr 20%, de 10%, es 5%, it 5%)
  and ``source`` (20 values) fields; priority and created/updated times spread; 70% have a
  predicted label and confidence; 1,000 gold items; 2% in near-duplicate groups of 4;
  four import batches (audit events with their id ranges, as the import records them);
- annotations: two per item (overlap 2, items complete) by 40 labelers; about 80% agree;
- 50,000 skipped leases with one of four reasons, 10,000 reviews, and every item's
  consensus (``quality.ItemConsensus``, the majority of two votes).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from scale_common import LABELS, bench_env, django_setup, log, migrate, pg_url, review_snippets

VERSION = 1
DB = "skein_bench_workbench"
PROJECT = "Workbench bench"
LABELERS = 40
MANAGER = "bench-manager"
REVIEWER = "bench-reviewer"
SKIP_REASONS = ["unclear", "offensive", "not english", "duplicate"]


def _exists(dbname: str) -> bool:
    import psycopg

    with psycopg.connect(pg_url("postgres"), autocommit=True) as conn:
        return bool(
            conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [dbname]).fetchone()
        )


def _signature(n_items: int) -> str:
    return f"workbench_data v{VERSION} items={n_items} annotations={2 * n_items}"


def workbench_project(*, n_items: int = 1_000_000, dbname: str = DB) -> dict[str, Any]:
    """The cached database's project (built first when missing): its id, a manager's and a
    reviewer's API tokens, and the environment to start Django or gunicorn on it."""
    import psycopg

    if not _exists(dbname):
        with psycopg.connect(pg_url("postgres"), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{dbname}"')
    env = bench_env(dbname, f"/tmp/{dbname}_var")
    migrate(env)
    django_setup(env)
    from annotation.models import Project

    project = Project.objects.filter(name=PROJECT).first()
    if project is None or project.description != _signature(n_items):
        if project is not None:
            log("the cached project has other sizes: rebuilding it")
            _drop(project.pk)
        project = _build(n_items)
    else:
        log(f"reusing {dbname}: {project.description}")
    return {"project_id": project.pk, **_tokens(), "env": env}


def _tokens() -> dict[str, str]:
    from django.contrib.auth import get_user_model

    from annotation.services.tokens import token_create

    users = get_user_model().objects
    return {
        "manager_token": token_create(user=users.get(username=MANAGER))[1],
        "reviewer_token": token_create(user=users.get(username=REVIEWER))[1],
    }


def _drop(project_id: int) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        for table in (
            "quality_itemconsensus",
            "quality_review",
            "annotation_annotation",
            "annotation_assignment",
            "annotation_item",
        ):
            cursor.execute(f"DELETE FROM {table} WHERE project_id = %s", [project_id])
        cursor.execute("DELETE FROM annotation_auditevent WHERE project_id = %s", [project_id])
    from annotation.models import Project

    Project.objects.filter(pk=project_id).delete()  # the small rows, by their cascades


def _build(n_items: int) -> Any:
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction

    from annotation.models import Membership
    from annotation.services.projects import project_create

    start = time.perf_counter()
    users = get_user_model().objects
    manager = users.filter(username=MANAGER).first() or users.create_user(MANAGER, password="x")
    reviewer = users.filter(username=REVIEWER).first() or users.create_user(REVIEWER, password="x")
    labeler_ids = []
    for i in range(LABELERS):
        user = users.filter(username=f"labeler{i:02d}").first()
        if user is None:
            user = users.create(username=f"labeler{i:02d}")
            user.set_unusable_password()
            user.save()
        labeler_ids.append(user.pk)
    texts = review_snippets(5000)
    with transaction.atomic():
        project = project_create(
            creator=manager,
            name=PROJECT,
            overlap=2,
            training_enabled=False,
            labels=[{"name": n} for n in LABELS],
        )
        project.description = "building"
        project.save(update_fields=["description"])
        Membership.objects.create(project=project, user=reviewer, role=Membership.Role.REVIEWER)
        Membership.objects.bulk_create(
            Membership(project=project, user_id=uid, role=Membership.Role.LABELER)
            for uid in labeler_ids
        )
    p = {"p": project.pk, "n": n_items, "labels": LABELS, "ids": labeler_ids}
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMPORARY TABLE bench_text (i integer PRIMARY KEY, t text)")
        cursor.executemany("INSERT INTO bench_text VALUES (%s, %s)", list(enumerate(texts)))
        p["texts"] = len(texts)
        # h: a cheap per-row hash, so every column is spread but the build is repeatable
        cursor.execute(
            "INSERT INTO annotation_item (project_id, external_id, data, gold, is_gold, state, "
            "handed_out, annotation_count, lease_count, priority, random_key, predicted_labels, "
            "confidence, created_at, updated_at) "
            "SELECT %(p)s, 'item-' || lpad(g.i::text, 7, '0'), "
            "jsonb_build_object('text', t.t, 'lang', CASE WHEN h < 60 THEN 'en' "
            "  WHEN h < 80 THEN 'fr' WHEN h < 90 THEN 'de' WHEN h < 95 THEN 'es' ELSE 'it' END, "
            "  'source', 'source-' || (g.i %% 20)), "
            "CASE WHEN g.i %% 1000 = 7 THEN jsonb_build_array((%(labels)s::text[])[1 + g.i %% 4]) "
            "  END, g.i %% 1000 = 7, 'complete', true, 2, 0, "
            "((g.i * 7919) %% 100000) / 100000.0, ((g.i * 104729) %% 1000003) / 1000003.0, "
            "CASE WHEN h2 < 70 THEN jsonb_build_array((%(labels)s::text[])[1 + (g.i / 3) %% 4]) "
            "  END, "
            "CASE WHEN h2 < 70 THEN ((g.i * 31337) %% 1000) / 1000.0 END, "
            "now() - interval '90 days' + g.i * interval '7 seconds', "
            "now() - ((g.i * 4481) %% 7776000) * interval '1 second' "
            "FROM (SELECT i, (i * 2654435761) %% 100 AS h, (i * 40503) %% 100 AS h2 "
            "      FROM generate_series(0::bigint, %(n)s - 1) AS s(i)) g "
            "JOIN bench_text t ON t.i = g.i %% %(texts)s",
            p,
        )
        log(f"items in {time.perf_counter() - start:.0f} s")
        cursor.execute("DROP TABLE bench_text")
        cursor.execute(
            "CREATE TEMPORARY TABLE bench_items AS SELECT id, "
            "row_number() OVER (ORDER BY id) - 1 AS rn FROM annotation_item "
            "WHERE project_id = %(p)s",
            p,
        )
        # near-duplicate groups of 4 for 2% of the items: the group is its first item's id
        cursor.execute(
            "UPDATE annotation_item i SET duplicate_group = f.id FROM bench_items b "
            "JOIN bench_items f ON f.rn = b.rn - b.rn %% 4 "
            "WHERE i.id = b.id AND (b.rn / 4) %% 50 = 3",
            p,
        )
        # two annotations per item, by labelers rn % 40 and (rn + 1 + rn % 7) % 40; the
        # second agrees with the first unless rn % 5 = 0 (about 80% agreement)
        cursor.execute(
            "INSERT INTO annotation_annotation (project_id, item_id, labeler_id, labels, "
            "guideline_version, duration_ms, is_gold, is_counted, created_at, updated_at) "
            "SELECT %(p)s, b.id, (%(ids)s::bigint[])[1 + (b.rn + k * (1 + b.rn %% 7)) %% 40], "
            "jsonb_build_array((%(labels)s::text[])[1 + (b.rn / 5 + "
            "  CASE WHEN k = 1 AND b.rn %% 5 = 0 THEN 1 + b.rn %% 3 ELSE 0 END) %% 4]), "
            "1, 1000 + b.rn %% 9000, false, true, now(), now() "
            "FROM bench_items b CROSS JOIN (VALUES (0), (1)) AS a(k)",
            p,
        )
        log(f"annotations in {time.perf_counter() - start:.0f} s")
        cursor.execute(
            "INSERT INTO quality_itemconsensus (item_id, project_id, labels, share, votes) "
            "SELECT b.id, %(p)s, CASE WHEN b.rn %% 5 = 0 THEN '[]'::jsonb "
            "  ELSE jsonb_build_array((%(labels)s::text[])[1 + (b.rn / 5) %% 4]) END, "
            "  CASE WHEN b.rn %% 5 = 0 THEN 0.5 ELSE 1.0 END, 2 FROM bench_items b",
            p,
        )
        cursor.execute(
            "INSERT INTO annotation_assignment (project_id, item_id, labeler_id, state, "
            "guideline_version, is_gold, skip_reason, created_at, expires_at, closed_at) "
            "SELECT %(p)s, b.id, (%(ids)s::bigint[])[1 + (b.rn + 20) %% 40], 'skipped', 1, "
            "false, (%(reasons)s::text[])[1 + (b.rn / 20) %% 4], now(), now(), now() "
            "FROM bench_items b WHERE b.rn %% 20 = 11",
            {**p, "reasons": SKIP_REASONS},
        )
        cursor.execute(
            "INSERT INTO quality_review (project_id, item_id, reviewer_id, labels, note, "
            "created_at) SELECT %(p)s, b.id, %(r)s, jsonb_build_array(%(label)s::text), '', "
            "now() FROM bench_items b WHERE b.rn %% 100 = 0",
            {**p, "r": reviewer.pk, "label": LABELS[0]},
        )
        # four import batches, recorded as the import records them (annotation.services.imports)
        quarter = n_items // 4
        for batch in range(4):
            cursor.execute(
                "INSERT INTO annotation_auditevent (actor_id, project_id, project_ref_id, "
                "project_name, action, target, details, created_at) "
                "SELECT %(m)s, %(p)s, %(p)s, %(name)s, 'items.imported', %(file)s::text, "
                "jsonb_build_object('file', %(file)s::text, 'batch', jsonb_build_object("
                "  'first_item_id', min(id), 'last_item_id', max(id))), now() "
                "FROM bench_items WHERE rn >= %(lo)s AND rn < %(hi)s",
                {
                    **p,
                    "m": manager.pk,
                    "name": PROJECT,
                    "file": f"batch{batch}.jsonl",
                    "lo": batch * quarter,
                    "hi": n_items if batch == 3 else (batch + 1) * quarter,
                },
            )
        cursor.execute("DROP TABLE bench_items")
        cursor.execute(
            "UPDATE annotation_project SET description = %s WHERE id = %s",
            [_signature(n_items), project.pk],
        )
    log(f"built in {time.perf_counter() - start:.0f} s; VACUUM ANALYZE")
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
        cursor.execute("CHECKPOINT")
    project.refresh_from_db()
    log(f"ready in {time.perf_counter() - start:.0f} s")
    return project


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--db", default=DB)
    args = parser.parse_args()
    found = workbench_project(n_items=args.items, dbname=args.db)
    print(f"project {found['project_id']} in database {args.db}")


if __name__ == "__main__":
    main()

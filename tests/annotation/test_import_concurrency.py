"""Big imports and the queue: labelers keep being served while a large file is imported
(SQLite has one write lock per database), a failed import leaves nothing, and after a big
import the queue's plan on PostgreSQL uses its index at once (fresh planner statistics)."""

from __future__ import annotations

import io
import json
import threading
import time

import pytest
from django.db import connection, connections

from annotation.errors import ImportRejected
from annotation.models import Item
from annotation.services import queue_sql
from annotation.services.imports import items_import
from annotation.services.queue import annotation_submit, assignment_claim_next

pytestmark = pytest.mark.django_db(transaction=True)

BIG = 60_000  # rows: ~6 s to import on SQLite on the 2-core test machine
# Items there before the import: enough that three labelers (~20 answers a second each) do
# not run out while a slow import (a loaded machine) is still running; 200 ran out.
READY = 1500


def _jsonl(n: int, *, prefix: str = "big", bad_last: bool = False) -> bytes:
    lines = [
        json.dumps(
            {"external_id": f"{prefix}{k}", "text": f"imported text number {k}", "source": "bulk"}
        )
        for k in range(n)
    ]
    if bad_last:
        lines[-1] = json.dumps({"external_id": f"{prefix}-bad"})  # no data: a row error
    return ("\n".join(lines) + "\n").encode()


def _import_while_labeling(project, users, content: bytes):
    """Import `content` in a thread of its own while `users` loop next -> submit in theirs;
    returns (import seconds, outcome, claim latencies during the import, problems)."""
    latencies: list[float] = []
    problems: list[str] = []
    outcome: dict[str, object] = {}
    importing = threading.Event()
    done = threading.Event()

    def importer() -> None:
        try:
            importing.set()
            t0 = time.perf_counter()
            try:
                outcome["result"] = items_import(
                    project=project, stream=io.BytesIO(content), fmt="jsonl"
                )
            except ImportRejected as exc:
                outcome["rejected"] = exc.detail
            outcome["seconds"] = time.perf_counter() - t0
        finally:
            done.set()
            connections.close_all()

    def labeler(user) -> None:
        try:
            importing.wait()
            n = 0
            while not done.is_set():
                t0 = time.perf_counter()
                claim = assignment_claim_next(project=project, user=user)
                latencies.append(time.perf_counter() - t0)
                if claim is None:
                    problems.append(f"{user.username}: nothing left")
                    return
                n += 1
                annotation_submit(
                    assignment_id=claim.assignment.pk,
                    user=user,
                    labels=["pos"],
                    client_id=f"{user.pk}-{n}",
                )
                time.sleep(0.05)  # a (very fast) labeler reading the next item
        except Exception as exc:  # e.g. "database is locked": the API's 503
            problems.append(f"{user.username}: {exc!r}")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=importer)]
    threads += [threading.Thread(target=labeler, args=(u,)) for u in users]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    return outcome, latencies, problems


def test_labelers_are_served_while_a_big_import_runs(make_project, member):
    project = make_project(items=READY, overlap=1)
    users = [member(project) for _ in range(3)]
    outcome, latencies, problems = _import_while_labeling(project, users, _jsonl(BIG))
    connections.close_all()
    assert not problems, problems[:5]
    assert outcome["result"].created == BIG, outcome
    seconds = outcome["seconds"]
    print(f"import {seconds:.1f} s; {len(latencies)} claims, slowest {max(latencies):.3f} s")
    # Served all along, not once the import is over: a claim waits at most for one
    # short write (the final insert of the staged rows), never for the whole import.
    assert len(latencies) >= 3 * seconds, (len(latencies), seconds)
    assert max(latencies) < max(2.0, seconds / 2), (max(latencies), seconds)
    assert Item.objects.filter(project=project).count() == READY + BIG


def test_a_failed_big_import_leaves_nothing_and_labelers_go_on(make_project, member):
    project = make_project(items=READY, overlap=1)
    users = [member(project) for _ in range(2)]
    outcome, latencies, problems = _import_while_labeling(
        project, users, _jsonl(BIG // 2, prefix="fail", bad_last=True)
    )
    connections.close_all()
    assert not problems, problems[:5]
    assert outcome["rejected"]["errors"][0]["row"] == BIG // 2, outcome
    assert latencies
    assert not Item.objects.filter(project=project, external_id__startswith="fail").exists()
    # The same connection imports again (its staging table was dropped, not left behind).
    result = items_import(
        project=project, stream=io.BytesIO(_jsonl(10, prefix="again")), fmt="jsonl"
    )
    assert result.created == 10
    assert Item.objects.filter(project=project).count() == READY + 10


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the PostgreSQL planner")
def test_the_queue_plan_uses_its_index_right_after_a_big_import(make_project, member):
    """No ANALYZE by hand, and autovacuum may be off (or a minute away): the import
    refreshes the statistics it invalidated, so the first `next` is already fast."""
    project = make_project(items=20)
    user = member(project)
    items_import(project=project, stream=io.BytesIO(_jsonl(30_000)), fmt="jsonl")
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE relname = %s", [Item._meta.db_table])
        reltuples = cursor.fetchone()[0]
        count = Item.objects.count()
        assert 0.9 * count <= reltuples <= 1.1 * count, (reltuples, count)
        sql, params = queue_sql.fresh_sql(project_id=project.pk)
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    # The index gives the order: no sort of the project's 30,000 open items.
    assert "item_fresh_idx" in plan and "Sort" not in plan, plan
    assert assignment_claim_next(project=project, user=user) is not None

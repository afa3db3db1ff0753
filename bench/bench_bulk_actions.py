"""Bulk actions over many items (issue 13: 100,000 items in at most 30 s on PostgreSQL,
without blocking labelers): each action's time, and `next` latency while it runs vs idle.

    python bench/bench_bulk_actions.py [--items 100000] [--fresh 20000]
        [--actions priority,requeue,gold,erase,delete]

A fresh PostgreSQL database (skein_bench_bulk_actions): a project of overlap 2 with
--items items answered twice each (2 annotations per item, written in bulk SQL) and --fresh
items nobody has had. For each action, in order, on the --items answered items (given as
ids, as a table selection would send them):
- the request (checks the ids, freezes them in a BulkAction row) is timed in this process;
- the job's run (`bulk_action_run`, what a Celery worker does) in a separate Python
  process, timed inside it (Django start-up excluded);
- meanwhile 2 labelers of their own (not the two who answered) loop `next` -> submit in
  this process, and `next` is timed (submit too: a submit of an item in the selection waits
  for the action's commit); then the same loop for as long again with nothing
  else running (idle), alternated, so both see the same load.
Prints, per action: request s, job s, next p50/p95 idle vs during, n, and the load.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import scale_common
from scale_common import ROOT, bench_database, django_setup, log, machine, percentile

scale_common.PYTHON = sys.executable
DB = "skein_bench_bulk_actions"
BODIES = {
    "priority": {"priority": 5.0},
    "requeue": {"overlap": 3},
    "gold": {"gold": "a"},
    "ungold": {},
    "erase": {},
    "delete": {},
}
RUN = """
import json, sys, time
import django
django.setup()
from annotation.services.bulk_actions import bulk_action_run
t0 = time.perf_counter()
bulk = bulk_action_run(bulk_id=int(sys.argv[1]), job_id="bench")
print(json.dumps({"seconds": time.perf_counter() - t0, "state": bulk.state,
                  "affected": bulk.affected, "error": bulk.error}))
"""


def seed(items: int, fresh: int):
    """The project, its 2 answering labelers' annotations on the first `items` items, and
    2 more labelers for the timed `next` loop."""
    from django.contrib.auth import get_user_model
    from django.db import connection

    from annotation.models import Item
    from annotation.services.bulk import ItemCopier
    from annotation.services.projects import member_set, project_create

    User = get_user_model()
    owner = User.objects.create_user("owner", password="bench-pass-1", is_staff=True)
    project = project_create(
        creator=owner,
        name="Bulk actions",
        overlap=2,
        labels=[{"name": "a"}, {"name": "b"}],
        training_enabled=False,
    )
    users = []
    for n in range(4):
        user = User.objects.create_user(f"lab{n}", password="bench-pass-1")
        member_set(project=project, actor=owner, username=user.username, role="labeler")
        users.append(user)
    copier = ItemCopier(project=project)
    with copier.session():
        batch = []
        for k in range(items + fresh):
            batch.append(
                (f"item-{k:07d}", {"text": f"text {k} " * 8}, None, k / (items + fresh), None)
            )
            if len(batch) == 10_000:
                copier.write(batch)
                batch = []
        copier.write(batch)
        copier.finish()
    ids = list(
        Item.objects.filter(project=project).order_by("pk").values_list("pk", flat=True)[:items]
    )
    first, last = ids[0], ids[-1]
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO annotation_assignment (project_id, item_id, labeler_id, state, "
            "suggestion, is_gold, skip_reason, created_at, expires_at, closed_at) "
            "SELECT i.project_id, i.id, u.id, 'submitted', NULL, false, '', now(), now(), now() "
            "FROM annotation_item i CROSS JOIN (VALUES (%s), (%s)) AS u(id) "
            "WHERE i.project_id = %s AND i.id BETWEEN %s AND %s",
            [users[0].pk, users[1].pk, project.pk, first, last],
        )
        cursor.execute(
            "INSERT INTO annotation_annotation (project_id, item_id, assignment_id, labeler_id, "
            "labels, duration_ms, is_gold, is_counted, created_at, updated_at) "
            "SELECT project_id, item_id, id, labeler_id, '[\"a\"]'::jsonb, 1000, false, true, "
            "now(), now() FROM annotation_assignment WHERE project_id = %s",
            [project.pk],
        )
        cursor.execute(
            "UPDATE annotation_item SET annotation_count = 2, handed_out = true, "
            "state = 'complete' WHERE project_id = %s AND id BETWEEN %s AND %s",
            [project.pk, first, last],
        )
        cursor.execute("ANALYZE")
    return project, owner, users[2:], ids


class Labelers:
    """Two labelers looping next -> submit in turn; `next` times in ms."""

    def __init__(self, project, users):
        self.project, self.users, self.n = project, users, 0
        self.errors: list[str] = []
        self.submits: list[float] = []

    def loop(self, stop: threading.Event, times: list[float]) -> None:
        from django.db import connections

        from annotation.services.queue import annotation_submit, assignment_claim_next

        try:
            while not stop.is_set():
                user = self.users[self.n % len(self.users)]
                self.n += 1
                t0 = time.perf_counter()
                claim = assignment_claim_next(project=self.project, user=user)
                times.append((time.perf_counter() - t0) * 1000)
                if claim is None:
                    raise SystemExit("the queue ran dry")
                t1 = time.perf_counter()
                try:
                    annotation_submit(assignment_id=claim.assignment.pk, user=user, labels=["b"])
                except Exception as exc:  # counted and shown: a labeler's error
                    self.errors.append(repr(exc)[:200])
                self.submits.append((time.perf_counter() - t1) * 1000)
                time.sleep(0.01)
        finally:
            connections.close_all()

    def timed(self, seconds: float | None = None, until: subprocess.Popen | None = None):
        stop, times = threading.Event(), []
        thread = threading.Thread(target=self.loop, args=(stop, times))
        thread.start()
        if until is not None:
            out, _ = until.communicate()
        else:
            time.sleep(seconds or 0)
            out = None
        stop.set()
        thread.join()
        return times, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--fresh", type=int, default=20_000)
    parser.add_argument("--actions", default="priority,requeue,gold,erase,delete")
    args = parser.parse_args()
    with bench_database(DB) as env:
        env["SKEIN_BULK_INLINE_MAX"] = "0"  # every action goes the job's way
        django_setup(env)
        from annotation.services.bulk_actions import bulk_action_start

        t0 = time.perf_counter()
        project, owner, labelers, ids = seed(args.items, args.fresh)
        seconds = time.perf_counter() - t0
        log(f"seeded {args.items:,} answered + {args.fresh:,} fresh items in {seconds:.0f} s")
        loop = Labelers(project, labelers)
        loop.timed(seconds=2)  # warm up
        print(f"postgres, {args.items:,} items in each action ({machine()})")
        for action in args.actions.split(","):
            t0 = time.perf_counter()
            outcome = bulk_action_start(
                project=project, actor=owner, body={"action": action, "ids": ids, **BODIES[action]}
            )
            request_s = time.perf_counter() - t0
            assert outcome.job is not None
            job = subprocess.Popen(
                [sys.executable, "-c", RUN, str(outcome.job.pk)],
                cwd=ROOT,
                env=env,
                stdout=subprocess.PIPE,
                text=True,
            )
            loop.submits.clear()
            during, out = loop.timed(until=job)
            submits = list(loop.submits)
            result = json.loads(out.strip().splitlines()[-1])
            idle, _ = loop.timed(seconds=max(2.0, result["seconds"]))
            print(
                f"{action:9s} request {request_s:5.2f} s  job {result['seconds']:6.2f} s "
                f"({result['state']}, {result['affected']:,} affected)  next p50/p95 idle "
                f"{statistics.median(idle):.2f}/{percentile(idle, 95):.2f} ms, during "
                f"{statistics.median(during):.2f}/{percentile(during, 95):.2f} ms, "
                f"max {max(during):.0f} ms (n={len(idle)}/{len(during)}); submit during p50 "
                f"{statistics.median(submits):.1f} ms, max {max(submits):.0f} ms; labeler errors "
                f"{len(loop.errors)} {machine()}",
                flush=True,
            )


if __name__ == "__main__":
    main()

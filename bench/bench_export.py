"""Export benchmark: GET /api/v1/projects/{id}/export/?format=jsonl of N annotations.

    .venv/bin/python bench/bench_export.py [--annotations 1000000]

Creates the database skein_bench_export with a project of N/2 items, each annotated by two
of 32 labelers (rows inserted in SQL), starts gunicorn with production settings and streams
the export to /dev/null, polling the RSS of the gunicorn workers meanwhile. Prints the time
to the first byte and to the last, the bytes, and the workers' peak RSS; then checks the
export's record and annotation counts and drops the database.
"""

from __future__ import annotations

import argparse
import http.client
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from scale_common import (
    LABELS,
    bench_database,
    children,
    django_setup,
    gunicorn,
    log,
    machine,
    rss_mb,
)

DB = "skein_bench_export"
LABELERS = 32


def setup(n_annotations: int) -> tuple[int, str]:
    from bench_labeling_load import fill_items
    from django.contrib.auth import get_user_model
    from django.db import connection

    from annotation.models import Membership
    from annotation.services.projects import project_create
    from annotation.services.tokens import token_create

    User = get_user_model()
    manager = User.objects.create_user("bench-manager", password="bench-pass-1")
    project = project_create(
        creator=manager,
        name="Export bench",
        overlap=2,
        training_enabled=False,
        labels=[{"name": n} for n in LABELS],
    )
    n_items = n_annotations // 2
    start = time.perf_counter()
    fill_items(project.pk, n_items)
    ids = []
    for i in range(LABELERS):
        user = User(username=f"labeler{i:02d}")
        user.set_unusable_password()
        user.save()
        Membership.objects.create(project=project, user=user, role=Membership.Role.LABELER)
        ids.append(user.pk)
    with connection.cursor() as cursor:
        # Item k (in id order) is annotated by labelers k % 32 and (k + 1) % 32.
        cursor.execute(
            "INSERT INTO annotation_annotation (project_id, item_id, labeler_id, labels, "
            "guideline_version, duration_ms, is_gold, is_counted, created_at, updated_at) "
            "SELECT %(p)s, i.id, (%(ids)s::bigint[])[1 + ((i.rn + k) %% 32)], "
            "jsonb_build_array((%(labels)s::text[])[1 + ((i.rn * 7 + k * (i.rn %% 3)) %% 4)]), "
            "1, 1000 + (i.rn %% 5000), false, true, now(), now() "
            "FROM (SELECT id, row_number() OVER (ORDER BY id) AS rn FROM annotation_item "
            "      WHERE project_id = %(p)s) i CROSS JOIN (VALUES (0), (1)) AS a(k)",
            {"p": project.pk, "ids": ids, "labels": LABELS},
        )
        cursor.execute(
            "UPDATE annotation_item SET annotation_count = 2, state = 'complete' "
            "WHERE project_id = %s",
            [project.pk],
        )
        cursor.execute("ANALYZE")
    log(f"{n_items:,} items, {n_annotations:,} annotations in {time.perf_counter() - start:.1f} s")
    return project.pk, token_create(user=manager)[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--annotations", "--items", type=int, default=1_000_000, dest="annotations")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    with bench_database(DB) as env:
        django_setup(env)
        project_id, token = setup(args.annotations)
        from django.db import connection

        connection.close()
        with gunicorn(env, workers=args.workers) as (proc, port):
            workers = children(proc.pid)
            baseline = max(rss_mb(pid) for pid in workers)
            peak = dict.fromkeys(workers, 0.0)
            done = threading.Event()

            def poll() -> None:
                while not done.is_set():
                    for pid in workers:
                        peak[pid] = max(peak[pid], rss_mb(pid))
                    time.sleep(0.1)

            poller = threading.Thread(target=poll)
            poller.start()
            records = annotations = size = 0
            try:
                start = time.perf_counter()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=900)
                conn.request(
                    "GET",
                    f"/api/v1/projects/{project_id}/export/?format=jsonl",
                    headers={"Authorization": f"Token {token}"},
                )
                response = conn.getresponse()
                assert response.status == 200, response.status
                first_byte = None
                marker = b'"annotator": '
                tail = b""
                with open(os.devnull, "wb") as sink:  # like curl -o /dev/null: block reads
                    while block := response.read1(1 << 20):
                        if first_byte is None:
                            first_byte = time.perf_counter() - start
                        sink.write(block)
                        size += len(block)
                        records += block.count(b"\n")
                        annotations += (tail + block).count(marker)
                        tail = block[-(len(marker) - 1) :]
                elapsed = time.perf_counter() - start
                conn.close()
            finally:
                done.set()
                poller.join()
        server_peak = max(peak.values())
        print(
            f"export: {records:,} records, {annotations:,} annotations, "
            f"{size / 1e6:.0f} MB  ({machine()})"
        )
        print(
            f"first byte after {first_byte:.2f} s; all in {elapsed:.1f} s "
            f"({annotations / elapsed:,.0f} annotations/s)  "
            f"target < 30 s: {'OK' if elapsed < 30 else 'MISSED'}"
        )
        print(
            f"gunicorn worker RSS: {baseline:.0f} MB before, peak {server_peak:.0f} MB "
            f"during the stream  target < 300 MB: {'OK' if server_peak < 300 else 'MISSED'}"
        )
        assert records == args.annotations // 2, records
        assert annotations == 2 * (args.annotations // 2), annotations


if __name__ == "__main__":
    main()

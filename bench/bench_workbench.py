"""Item table benchmark: GET /api/v1/projects/{id}/items/ on 1,000,000 items and 2,000,000
annotations (the cached database of bench/workbench_data.py), through gunicorn.

    .venv/bin/python bench/bench_workbench.py [--items 1000000] [--repeat 20] [--deep 1000]

Times the first page (50 rows) of every single filter and every sort, full-text searches,
and page ``--deep`` against page 1 of the same filter (walked there by ``next`` links, then
both timed alternately). Cases are interleaved round by round, so a noisy moment of the
shared machine hits all of them alike. Prints p50 and p95 per case in milliseconds (the
client's wall time of the request: server, database and JSON), the targets, and the
PostgreSQL plans of a few hot queries.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import sys
import time
from typing import Any
from urllib.parse import urlsplit

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from scale_common import LABELS, gunicorn, log, machine
from workbench_data import DB, SKIP_REASONS, workbench_project

FILTERS = [
    "state=complete",
    f"label={LABELS[1]}",
    "annotator=labeler07",
    f"annotator_label={LABELS[2]}",
    "disputed=true",
    "agreement=unanimous",
    "agreement_below=0.6",
    "has_gold=true",
    "has_gold=false",
    "reviewed=true",
    f"predicted={LABELS[0]}",
    "confidence_min=0.9",
    "confidence_max=0.1",
    "skipped=true",
    f"skip_reason={SKIP_REASONS[2].replace(' ', '+')}",
    "has_duplicates=true",
    "field.lang=fr",
    "field.source=source-7",
]
SORTS = [
    f"ordering={sign}{name}"
    for name in (
        "priority",
        "confidence",
        "created_at",
        "updated_at",
        "annotation_count",
        "external_id",
        "id",
    )
    for sign in ("", "-")
]
SEARCHES = [
    "search=movie",
    "search=wonderful",
    "search=masterpiece+acting",
    'search="special+effects"',
    "search=boring+-plot",
]
TARGETS = {"filter": 150.0, "sort": 150.0, "search": 300.0}


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered) + 0.5) - 1))]


class Client:
    def __init__(self, port: int, token: str) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        self.headers = {"Authorization": f"Token {token}", "Host": "localhost"}

    def get(self, path: str) -> tuple[float, dict[str, Any]]:
        start = time.perf_counter()
        self.conn.request("GET", path, headers=self.headers)
        response = self.conn.getresponse()
        body = response.read()
        elapsed = (time.perf_counter() - start) * 1000
        if response.status != 200:
            raise SystemExit(f"{path}: {response.status} {body[:300]!r}")
        return elapsed, json.loads(body)


def _path(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def explain(project_id: int) -> None:
    """The plans of a few hot queries, as the list runs them (first page)."""
    from django.contrib.auth import get_user_model
    from django.db import connection

    from annotation.item_filters import items_matching
    from annotation.models import Project

    project = Project.objects.get(pk=project_id)
    manager = get_user_model().objects.get(username="bench-manager")
    for query in (
        "ordering=-priority",
        "ordering=confidence",
        f"label={LABELS[1]}",
        "search=masterpiece",
        "field.lang=fr",
    ):
        name, _, value = query.partition("=")
        qs = items_matching(project, {name: value.replace("+", " ")}, manager, role="manager")
        sql, params = qs[:51].query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS OFF, TIMING OFF) {sql}", params)
            plan = [row[0] for row in cursor.fetchall()]
        print(f"\nEXPLAIN {query}:")
        print("\n".join(f"  {line}" for line in plan[:14]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--deep", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--db", default=DB)
    args = parser.parse_args()
    found = workbench_project(n_items=args.items, dbname=args.db)
    project_id, env = found["project_id"], found["env"]
    from django.db import connection

    connection.close()
    base = f"/api/v1/projects/{project_id}/items/"
    cases = [("filter", q) for q in FILTERS] + [("sort", q) for q in SORTS]
    cases += [("search", q) for q in SEARCHES]
    times: dict[str, list[float]] = {q: [] for _, q in cases}
    with gunicorn(env, workers=args.workers) as (_, port):
        client = Client(port, found["manager_token"])
        for _, query in cases:  # warm-up: one request each (caches, connections)
            client.get(f"{base}?{query}")
        log(f"timing {len(cases)} cases x {args.repeat}")
        floor: list[float] = []  # a trivial API read: the machine's and server's own cost
        for _ in range(args.repeat):
            floor.append(client.get(f"/api/v1/projects/{project_id}/")[0])
            for _, query in cases:
                times[query].append(client.get(f"{base}?{query}")[0])
        deep_query = "has_gold=false&ordering=-priority"
        log(f"walking to page {args.deep} of {deep_query}")
        first_path = deep_path = f"{base}?{deep_query}"
        walk_start = time.perf_counter()
        for _ in range(args.deep - 1):  # pages 1 .. deep-1; then deep_path links page deep
            deep_path = _path(client.get(deep_path)[1]["next"])
        walk = time.perf_counter() - walk_start
        deep_times: dict[str, list[float]] = {"page 1": [], f"page {args.deep}": []}
        for _ in range(args.repeat):
            deep_times["page 1"].append(client.get(first_path)[0])
            deep_times[f"page {args.deep}"].append(client.get(deep_path)[0])
    print(f"\nmachine: {machine()}; {args.items:,} items, {2 * args.items:,} annotations")
    print(f"{'case':<42} {'p50 ms':>8} {'p95 ms':>8} {'target':>8}")
    print(
        f"{'floor: GET projects/{id}/':<42} {statistics.median(floor):8.1f} "
        f"{percentile(floor, 0.95):8.1f}"
    )
    worst: dict[str, float] = {}
    for kind, query in cases:
        p50, p95 = statistics.median(times[query]), percentile(times[query], 0.95)
        worst[kind] = max(worst.get(kind, 0.0), p95)
        flag = "" if p95 <= TARGETS[kind] else "  MISSED"
        print(f"{kind + ' ' + query:<42} {p50:8.1f} {p95:8.1f} {TARGETS[kind]:8.0f}{flag}")
    print(f"\nwalked {args.deep - 1} next links in {walk:.1f} s")
    for label, values in deep_times.items():
        print(
            f"{deep_query + ' ' + label:<42} {statistics.median(values):8.1f} "
            f"{percentile(values, 0.95):8.1f}"
        )
    ratio = statistics.median(deep_times[f"page {args.deep}"]) / statistics.median(
        deep_times["page 1"]
    )
    print(f"page {args.deep} / page 1 (medians): {ratio:.2f}")
    for kind, value in worst.items():
        print(f"worst p95 of a {kind}: {value:.1f} ms (target {TARGETS[kind]:.0f})")
    in_process(project_id, cases, args.repeat)
    explain(project_id)


def in_process(project_id: int, cases: list[tuple[str, str]], repeat: int) -> None:
    """The same first pages without HTTP: ``items_page`` (its queries and rows) called in
    this process, so the database's share is seen apart from the server's."""
    from urllib.parse import parse_qsl

    from django.contrib.auth import get_user_model

    from annotation.item_table import items_page
    from annotation.models import Project

    project = Project.objects.get(pk=project_id)
    manager = get_user_model().objects.get(username="bench-manager")
    times: dict[str, list[float]] = {q: [] for _, q in cases}
    for _ in range(repeat):
        for _, query in cases:
            params = dict(parse_qsl(query))
            start = time.perf_counter()
            items_page(project=project, params=params, viewer=manager, role="manager")
            times[query].append((time.perf_counter() - start) * 1000)
    print(f"\nin process (items_page, no HTTP): machine {machine()}")
    print(f"{'case':<42} {'p50 ms':>8} {'p95 ms':>8}")
    for kind, query in cases:
        values = times[query]
        print(
            f"{kind + ' ' + query:<42} {statistics.median(values):8.1f} "
            f"{percentile(values, 0.95):8.1f}"
        )


if __name__ == "__main__":
    main()

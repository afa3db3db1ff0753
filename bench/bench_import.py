"""Import benchmark: ``manage.py import_items`` of a JSONL file of N text items on PostgreSQL.

    .venv/bin/python bench/bench_import.py [--items 1000000]

Generates the file (varied movie-review sentences, 0.5 % gold rows), creates the database
skein_bench_import, runs the import as a subprocess and prints its wall time and peak RSS
(from wait4's rusage of that one child), then checks the rows and drops the database.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from scale_common import (
    LABELS,
    PYTHON,
    ROOT,
    bench_database,
    django_setup,
    log,
    machine,
    review_snippets,
)

DB = "skein_bench_import"


def write_jsonl(path: str, n: int, seed: int = 7) -> int:
    rng = random.Random(seed)
    texts = review_snippets()
    with open(path, "w", encoding="utf-8") as f:
        for i in range(n):
            row: dict[str, object] = {"external_id": f"review-{i:08d}", "text": rng.choice(texts)}
            if i % 200 == 0:
                row["gold"] = rng.choice(LABELS)
            if i % 3 == 0:
                row["source"] = rng.choice(("imdb", "rt", "letterboxd"))
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    return os.path.getsize(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--file", default="/tmp/skein_bench_import.jsonl")
    parser.add_argument("--keep-file", action="store_true")
    args = parser.parse_args()
    log(f"writing {args.items:,} items to {args.file}")
    size = write_jsonl(args.file, args.items)
    log(f"file: {size / 1e6:.0f} MB")
    try:
        with bench_database(DB) as env:
            django_setup(env)
            from django.contrib.auth import get_user_model

            from annotation.models import Item
            from annotation.services.projects import project_create

            owner = get_user_model().objects.create_user("bench", password="bench-pass-1")
            project = project_create(
                creator=owner, name="Import bench", labels=[{"name": n} for n in LABELS]
            )
            log("importing")
            start = time.perf_counter()
            proc = subprocess.Popen(
                [PYTHON, "manage.py", "import_items", str(project.pk), args.file, "--no-progress"],
                cwd=ROOT,
                env=env,
                stdout=subprocess.PIPE,
            )
            _, status, usage = os.wait4(proc.pid, 0)
            elapsed = time.perf_counter() - start
            out = proc.stdout.read().decode().strip() if proc.stdout else ""
            proc.returncode = os.waitstatus_to_exitcode(status)
            if proc.returncode:
                raise SystemExit(f"import_items failed ({proc.returncode}): {out}")
            peak_mb = usage.ru_maxrss / 1024
            count = Item.objects.filter(project=project).count()
            gold = Item.objects.filter(project=project, is_gold=True).count()
            assert count == args.items, (count, args.items)
            assert gold == len(range(0, args.items, 200)), gold
            print(f"import_items: {out}")
            print(f"items: {args.items:,}  file: {size / 1e6:.0f} MB  ({machine()})")
            print(
                f"wall time: {elapsed:.1f} s  ({args.items / elapsed:,.0f} items/s)  "
                f"target < 60 s: {'OK' if elapsed < 60 else 'MISSED'}"
            )
            print(
                f"peak RSS of import_items: {peak_mb:.0f} MB  "
                f"target < 500 MB: {'OK' if peak_mb < 500 else 'MISSED'}"
            )
    finally:
        if not args.keep_file and os.path.exists(args.file):
            os.remove(args.file)


if __name__ == "__main__":
    main()

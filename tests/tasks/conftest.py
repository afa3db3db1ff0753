"""A real Celery worker process on the test database and the run's own queue.

`celery_worker`: one worker process, started when a test asks for it and stopped after the
last of a run of tests that use it (so no live worker takes the jobs that other tests send
and drive by hand, e.g. a training run a test requests and trains itself); tests using it
need `transactional_db` so their rows are committed where the worker can see them. A test may
`restart(env=...)` it (e.g. with SKEIN_FAULT_SLEEP to make a job slow), `kill()` it with
SIGKILL, and `start()` a fresh one; a test marked ``worker_env({...})`` gets a worker started
with those variables (kept running for the next test that asks for the same).

The worker runs with SKEIN_EMBEDDER=none unless a test asks for the embedder (``WITH_EMBEDDER``
in its env): every import queues an embedding pass, and a real embedder working through
that backlog slows every other worker test.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

STALE_SECONDS = 3  # the worker's SKEIN_JOB_STALE_SECONDS: a killed job is noticed quickly
# Worker env for the tests that need the real embedder (the default worker has none).
WITH_EMBEDDER = {"SKEIN_EMBEDDER": "all-MiniLM-L6-v2-int8"}
REPO = Path(__file__).resolve().parents[2]


def _database_url() -> str:
    from django.db import connection

    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{Path(db['NAME']).resolve()}"
    auth = db.get("USER") or ""
    if db.get("PASSWORD"):
        auth += f":{db['PASSWORD']}"
    host = f"{auth}@" if auth else ""
    return f"postgres://{host}{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"


class Worker:
    """One `celery -A config worker` subprocess (its own process group, so a kill takes the
    pool's children too)."""

    def __init__(self, database_url: str, log_dir: Path) -> None:
        self.database_url = database_url
        self.log_dir = log_dir
        self.proc: subprocess.Popen[bytes] | None = None
        self.log: Path | None = None
        self.env: dict[str, str] = {}

    def start(self, env: dict[str, str] | None = None, timeout: float = 60) -> None:
        assert self.proc is None, "a worker is already running"
        self.env = dict(env or {})
        name = f"skein-test-{uuid.uuid4().hex[:8]}"
        self.log = self.log_dir / f"{name}.log"
        full_env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
            "DATABASE_URL": self.database_url,
            "SKEIN_JOB_STALE_SECONDS": str(STALE_SECONDS),
            "SKEIN_SCORE_CHUNK": "40",
            "SKEIN_EMBEDDER": "none",  # unless the test asks for it (WITH_EMBEDDER)
            **(env or {}),
        }
        queue = settings.CELERY_TASK_DEFAULT_QUEUE
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "-A",
                    "config",
                    "worker",
                    "-Q",
                    queue,
                    "-n",
                    f"{name}@%h",
                    "--concurrency=2",
                    "--without-gossip",
                    "--without-mingle",
                    "--loglevel=INFO",
                ],
                cwd=REPO,
                env=full_env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the worker exited:\n{self.log.read_text()[-3000:]}")
            if b" ready." in self.log.read_bytes():
                return
            time.sleep(0.2)
        raise RuntimeError(f"the worker did not start:\n{self.log.read_text()[-3000:]}")

    def kill(self) -> None:
        """SIGKILL the worker and its pool processes: no chance to ack or clean up."""
        if self.proc is not None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
            self.proc = None

    def stop(self) -> None:
        if self.proc is None:
            return
        try:  # cold shutdown: running jobs are not acknowledged, so nothing is lost
            os.killpg(self.proc.pid, signal.SIGQUIT)
            self.proc.wait(10)
        except (subprocess.TimeoutExpired, ProcessLookupError):
            self.kill()
        self.proc = None

    def restart(self, env: dict[str, str] | None = None) -> None:
        self.stop()
        self.start(env)

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log else ""


@pytest.fixture(scope="session")
def _worker(
    django_db_setup: Any, django_db_blocker: Any, tmp_path_factory: Any
) -> Iterator[Worker]:
    with django_db_blocker.unblock():
        url = _database_url()
    worker = Worker(url, tmp_path_factory.mktemp("celery"))
    yield worker
    worker.stop()


@pytest.fixture
def celery_worker(
    _worker: Worker, transactional_db: Any, request: pytest.FixtureRequest
) -> Iterator[Worker]:
    """The running worker, plain or with the test's ``worker_env`` marker's variables:
    started if it is not, restarted if an earlier test left it dead or running with other
    settings (``restart(env=...)``, or another ``worker_env``)."""
    marker = request.node.get_closest_marker("worker_env")
    env = dict(marker.args[0]) if marker else {}
    if _worker.proc is not None and _worker.proc.poll() is not None:
        _worker.proc = None  # killed by the test before
    if _worker.proc is not None and _worker.env != env:
        _worker.stop()
    if _worker.proc is None:
        _worker.start(env)
    yield _worker


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    """Stop the worker after the last test of a run that uses it: a test that sends jobs
    and runs them by hand must not race a live worker for them."""
    if "celery_worker" not in getattr(item, "fixturenames", ()):
        return
    if nextitem is not None and "celery_worker" in getattr(nextitem, "fixturenames", ()):
        return
    worker = item.funcargs.get("celery_worker")  # type: ignore[attr-defined]
    if isinstance(worker, Worker):
        worker.stop()


def wait_for(
    predicate: Callable[[], Any],
    *,
    timeout: float = 60,
    worker: Worker | None = None,
    what: str = "condition",
) -> Any:
    """Poll until `predicate()` is truthy; fail with the worker's log tail otherwise."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    tail = worker.output()[-4000:] if worker else ""
    pytest.fail(f"timed out waiting for {what}\n--- worker log ---\n{tail}")

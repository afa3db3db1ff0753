"""The broker down: labeling goes on, /healthz says so, training resumes when it returns.

A private Redis server (its own port) is the broker of a real web server, a real Celery
worker and a real beat process, so the test can stop and restart it without touching the
broker the rest of the suite uses."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tasks.models import ModelVersion
from tests.ops.helpers import METRICS_TOKEN, free_port, http
from tests.tasks.conftest import Worker, _database_url, wait_for
from tests.tasks.helpers import sentiment_items

ROOT = Path(__file__).resolve().parents[2]


class Redis:
    def __init__(self) -> None:
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(10)
            self.proc = None


@pytest.fixture
def redis_server():
    if not shutil.which("redis-server"):
        pytest.fail("redis-server is required for the broker outage test")
    server = Redis()
    server.start()
    yield server
    server.stop()


@pytest.mark.slow
@pytest.mark.worker
def test_labeling_goes_on_and_training_resumes(
    transactional_db, redis_server, make_project, labeler, add_member, tmp_path
):
    from annotation.services.tokens import token_create

    project = make_project(labels=("pos", "neg"), retrain_every=10, overlap=1)
    sentiment_items(project, clear=40, mixed=10)
    add_member(project, labeler)
    _, token = token_create(user=labeler)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": _database_url(),
        "CELERY_BROKER_URL": redis_server.url,
        "SKEIN_LEARNING_TICK_SECONDS": "2",
        "ALLOWED_HOSTS": "127.0.0.1",
        "SKEIN_METRICS_TOKEN": METRICS_TOKEN,
    }
    worker = Worker(_database_url(), tmp_path)
    worker.start(env={"CELERY_BROKER_URL": redis_server.url, "SKEIN_LEARNING_TICK_SECONDS": "2"})
    port = free_port()
    web = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    beat = None
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _reachable(base), timeout=30, what="the web server")
        redis_server.stop()  # the broker goes down while labelers work

        statuses = []
        for _ in range(20):
            status, claim = http(base, "POST", f"/api/v1/projects/{project.pk}/next/", token)
            assert status == 200, claim
            status, _answer = http(
                base,
                "POST",
                f"/api/v1/assignments/{claim['assignment']['id']}/submit/",
                token,
                {"labels": ["pos" if claim["item"]["external_id"].startswith("pos") else "neg"]},
            )
            statuses.append(status)
        assert statuses == [201] * 20
        status, health = http(base, "GET", "/healthz", bearer=METRICS_TOKEN)
        assert status == 200 and health["broker"] != "ok" and health["database"] == "ok"
        assert not ModelVersion.objects.filter(project=project).exists()

        redis_server.start()  # back, empty: the jobs that could not be sent are not there
        beat = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "beat",
                "--loglevel=INFO",
                "-s",
                str(tmp_path / "beat-schedule"),
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        version = wait_for(
            lambda: ModelVersion.objects.filter(project=project, state="active").first(),
            timeout=90,
            worker=worker,
            what="a model trained after the broker came back",
        )
        assert version.n_labels >= 20
        status, health = http(base, "GET", "/healthz", bearer=METRICS_TOKEN)
        assert health["broker"] == "ok"
    finally:
        for proc in (web, beat):
            if proc is not None:
                proc.terminate()
                proc.wait(10)
        worker.stop()


def _reachable(base: str) -> bool:
    try:
        http(base, "GET", "/healthz")
        return True
    except OSError:
        return False


@pytest.mark.slow
def test_a_broker_outage_costs_one_timeout_not_one_per_submit(tmp_path):
    """After one failed publish, best-effort jobs are skipped for a while, so labelers'
    submits do not each wait for the broker's connection timeout. Run in a process whose
    broker is a port where nothing listens."""
    script = (
        "import logging, django\n"
        "django.setup()\n"
        "from tasks import jobs\n"
        "records = []\n"
        "handler = logging.Handler()\n"
        "handler.emit = records.append\n"
        "logging.getLogger('config.jobs').addHandler(handler)\n"
        "for project_id in range(1, 7):\n"
        "    jobs.enqueue_training_check(project_id=project_id)\n"
        "print(sum('could not enqueue' in r.getMessage() for r in records))\n"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "CELERY_BROKER_URL": "redis://127.0.0.1:9/0",
        "SKEIN_VAR_DIR": str(tmp_path),
    }
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    # One real attempt; the five after it are skipped while the broker is known to be down.
    assert result.stdout.strip().splitlines()[-1] == "1", result.stdout + result.stderr

"""PostgreSQL restarted while labelers work: a clear 503 meanwhile, nothing lost or doubled.

The test runs its own PostgreSQL cluster (initdb into a temporary folder, on a free port)
and a real web server process against it, so it can stop and start the database without
touching the one the rest of the suite uses."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from tests.ops.helpers import METRICS_TOKEN, free_port, http

ROOT = Path(__file__).resolve().parents[2]
PG_BIN = sorted(Path("/usr/lib/postgresql").glob("*/bin"))


def _as_postgres(args: list[str]) -> list[str]:
    """Cluster commands refuse to run as root; run them as the postgres user then."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *args]
    return args


class Cluster:
    def __init__(self, base: Path):
        self.bin = PG_BIN[-1]
        self.data = base / "pgdata"
        self.port = free_port()
        self.log = base / "pg.log"

    def init(self) -> None:
        subprocess.run(
            _as_postgres(
                [str(self.bin / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres"]
            ),
            check=True,
            capture_output=True,
        )

    def pg_ctl(self, *args: str) -> None:
        subprocess.run(
            _as_postgres(
                [
                    str(self.bin / "pg_ctl"),
                    "-D",
                    str(self.data),
                    "-l",
                    str(self.log),
                    "-w",
                    "-t",
                    "30",
                    *args,
                ]
            ),
            check=True,
            capture_output=True,
        )

    def start(self) -> None:
        self.pg_ctl("-o", f"-p {self.port} -k {self.data.parent} -h 127.0.0.1", "start")

    def stop(self) -> None:
        self.pg_ctl("-m", "fast", "stop")


@pytest.fixture
def cluster():
    if not PG_BIN or not shutil.which("runuser"):
        pytest.fail("PostgreSQL server binaries (/usr/lib/postgresql/*/bin) are required")
    # Not under pytest's tmp dir: that is private to root, and the server runs as postgres.
    base = Path(tempfile.mkdtemp(prefix="skein-pgrestart-"))
    base.chmod(0o777)
    cluster = Cluster(base)
    cluster.init()
    cluster.start()
    yield cluster
    with contextlib.suppress(subprocess.CalledProcessError):
        cluster.stop()
    shutil.rmtree(base, ignore_errors=True)


def _prepared(cluster: Cluster, tmp_path: Path) -> tuple[dict[str, str], int]:
    """Migrate the cluster's database and make a project with a labeler; (env, project)."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:{cluster.port}/postgres",
        "SKEIN_VAR_DIR": str(tmp_path / "var"),
        "ALLOWED_HOSTS": "127.0.0.1",
        "SKEIN_METRICS_TOKEN": METRICS_TOKEN,
    }
    python = sys.executable
    subprocess.run(
        [python, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True
    )
    setup = (
        "from django.contrib.auth.models import User\n"
        "from annotation.services.projects import project_create, member_set\n"
        "from annotation.services.imports import items_import_records\n"
        "m = User.objects.create_user('boss', password='x-pass-123')\n"
        "User.objects.create_user('lab', password='x-pass-123')\n"
        "p = project_create(creator=m, name='restart', labels=['a', 'b'])\n"
        "member_set(project=p, actor=m, username='lab', role='labeler')\n"
        "items_import_records(project=p, records=[{'external_id': str(i), 'text': 't'}"
        " for i in range(5)])\n"
        "print(p.pk)\n"
    )
    out = subprocess.run(
        [python, "manage.py", "shell", "-c", setup],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return env, int(out.strip().splitlines()[-1])


@contextlib.contextmanager
def _server(command: list[str], env: dict[str, str]):
    """A web server process on a free port; yields its base URL once it answers."""
    port = free_port()
    command = [c.replace("{port}", str(port)) for c in command]
    server = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                http(base, "GET", "/healthz")
                break
            except OSError:
                time.sleep(0.1)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=10)


def _login_and_claim(base: str, project_id: int) -> tuple[str, str]:
    status, body = http(
        base, "POST", "/api/v1/auth/token/", body={"username": "lab", "password": "x-pass-123"}
    )
    assert status == 200, body
    token = body["token"]
    status, claim = http(base, "POST", f"/api/v1/projects/{project_id}/next/", token)
    assert status == 200, claim
    return token, f"/api/v1/assignments/{claim['assignment']['id']}/submit/"


def _answer_then_retry_gives_exactly_one(
    base: str, token: str, submit_path: str, answer: dict, project_id: int
) -> None:
    """The submit is taken (201); the same client_id again returns it (200); one answer."""
    status, first = http(base, "POST", submit_path, token, answer)
    assert status == 201, first
    status, again = http(base, "POST", submit_path, token, answer)
    assert status == 200 and again["id"] == first["id"]
    status, page = http(base, "GET", f"/api/v1/projects/{project_id}/annotations/", token)
    assert page["count"] == 1
    assert page["results"][0]["labels"] == ["a"]


@pytest.mark.slow
def test_restart_gives_503_then_retry_loses_nothing(cluster, tmp_path):
    env, project_id = _prepared(cluster, tmp_path)
    runserver = [sys.executable, "manage.py", "runserver", "--noreload", "127.0.0.1:{port}"]
    with _server(runserver, env) as base:
        token, submit_path = _login_and_claim(base, project_id)
        answer = {"labels": ["a"], "client_id": "restart-1", "duration_ms": 900}

        cluster.stop()
        status, body = http(base, "POST", submit_path, token, answer)
        assert status == 503, body
        assert "database" in body["detail"].lower()
        status, body = http(base, "GET", "/healthz", bearer=METRICS_TOKEN)
        assert status == 503 and body["database"] != "ok"
        assert http(base, "GET", "/healthz") == (503, {"status": "down"})

        cluster.start()
        _answer_then_retry_gives_exactly_one(base, token, submit_path, answer, project_id)


@pytest.mark.slow
def test_restart_between_requests_is_not_seen_by_the_labeler(cluster, tmp_path):
    """One gunicorn worker keeps its database connection between requests (as in
    production). PostgreSQL restarts while nobody is asking: the health check before the
    next request notices the dead connection and opens a new one, so that request is
    served, not answered 503."""
    env, project_id = _prepared(cluster, tmp_path)
    gunicorn = [
        str(Path(sys.executable).parent / "gunicorn"),
        "config.wsgi",
        "-w",
        "1",
        "-b",
        "127.0.0.1:{port}",
        "--log-level",
        "warning",
    ]
    with _server(gunicorn, env) as base:
        token, submit_path = _login_and_claim(base, project_id)
        answer = {"labels": ["a"], "client_id": "restart-2", "duration_ms": 900}
        cluster.stop()
        cluster.start()
        _answer_then_retry_gives_exactly_one(base, token, submit_path, answer, project_id)
